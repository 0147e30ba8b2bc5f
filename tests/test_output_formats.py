"""Output for scripts on `query` and `related`: --jsonl, --csv, --tsv, --paths, --offset."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest
from conftest import run_cli

from searchkit.search import open_searcher

COLUMNS = ["rank", "score", "path", "url", "title", "date", "tags", "source", "kind", "snippet"]

# Posts whose fields hold what CSV and TSV must quote: commas, quotes, line
# breaks, tabs. Every post mentions "lantern" so one query lists them all.
POSTS = {
    "a-commas.md": (
        "title: 'Lanterns, wicks, and oil'\ndate: 2024-01-03\ntags: [lamps, diy]\n"
        "source: 'Smith, Jones & Co'\n",
        "A lantern needs oil. The lantern glass, cleaned weekly, lasts.",
    ),
    "b-quotes.md": (
        "title: 'The \"perfect\" lantern'\ndate: 2024-02-01\ntags: [lamps]\n",
        'Lantern reviews say "bright" a lot.',
    ),
    "c-newline.md": (
        'title: "Two lines\\nof lantern title"\ndate: 2023-05-05\ntags: [history]\n',
        "An old lantern, and another lantern, and a third lantern story.",
    ),
    "d-tab.md": (
        'title: "Tab\\tseparated lantern"\ndate: 2022-07-07\n',
        "Lantern.",
    ),
    "dir with space/e-space.md": (
        "title: Lantern in a folder with spaces\ndate: 2021-01-01\n",
        "A lantern, a lantern.",
    ),
}


@pytest.fixture(scope="module")
def lantern(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("formats")
    content = root / "content"
    for name, (front, body) in POSTS.items():
        path = content / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\n{front}---\n{body}\n", encoding="utf-8")
    index = root / "index"
    assert run_cli("index", "--content", str(content), "--index", str(index)).exit_code == 0
    return content, index


def query(site, *args):
    content, index = site
    return run_cli("query", "--content", str(content), "--index", str(index), *args)


def related(site, *args):
    content, index = site
    return run_cli("related", "--content", str(content), "--index", str(index), *args)


def reference(site, **kw) -> list[dict]:
    """The hits of `lantern` from the library, as JSON rows with their rank."""
    with open_searcher(site[1]) as s:
        result = s.search("lantern", **kw)
    return [{"rank": h.rank, **h.to_json()} for h in result.hits]


def test_jsonl_prints_one_hit_a_line(lantern):
    result = query(lantern, "lantern", "--jsonl")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    rows = [json.loads(line) for line in lines]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    want = json.loads(query(lantern, "lantern", "--json").stdout)["hits"]
    assert [{k: v for k, v in r.items() if k != "rank"} for r in rows] == want
    assert any('"perfect"' in r["title"] for r in rows)  # quotes stay inside their line


def parse(text: str, delimiter: str) -> list[dict]:
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    assert rows[0] == COLUMNS
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]]


@pytest.mark.parametrize("flag, delimiter", [("--csv", ","), ("--tsv", "\t")])
def test_csv_and_tsv_read_back_with_the_csv_module(lantern, flag, delimiter):
    result = query(lantern, "lantern", flag)
    assert result.exit_code == 0
    rows = parse(result.stdout, delimiter)
    want = json.loads(query(lantern, "lantern", "--json").stdout)["hits"]  # URLs set as printed
    want = [{"rank": i, **h} for i, h in enumerate(want, 1)]
    assert len(rows) == len(want) == 5
    for row, hit in zip(rows, want, strict=True):
        assert row["rank"] == str(hit["rank"]) and float(row["score"]) == hit["score"]
        assert row["path"] == hit["path"] and row["url"] == hit["url"]
        assert row["title"] == hit["title"]  # commas, quotes, line breaks, tabs intact
        assert row["date"] == hit["date"] and row["snippet"] == hit["snippet"]
        assert row["tags"] == ",".join(hit["tags"])
        assert row["source"] == (hit["source"] or "") and row["kind"] == (hit["kind"] or "")
    titles = {r["title"] for r in rows}
    assert {"Lanterns, wicks, and oil", 'The "perfect" lantern'} <= titles
    # Titles are text: a line break or tab in the front matter is a space.
    assert {"Two lines of lantern title", "Tab separated lantern"} <= titles
    assert "Smith, Jones & Co" in {r["source"] for r in rows}


def test_csv_quotes_as_spreadsheets_expect(lantern):
    out = query(lantern, "lantern", "--csv").stdout
    assert '"Lanterns, wicks, and oil"' in out
    assert '"The ""perfect"" lantern"' in out
    assert '"The ""perfect"" lantern"' in out
    assert out.startswith(",".join(COLUMNS) + "\n")


def test_csv_without_hits_is_the_header_and_exit_code_1(lantern):
    result = query(lantern, "zeppelin", "--csv", "--no-fuzzy-fallback")
    assert result.exit_code == 1
    assert result.stdout == ",".join(COLUMNS) + "\n"
    assert query(lantern, "zeppelin", "--jsonl", "--no-fuzzy-fallback").stdout == ""


def test_paths_feed_xargs(lantern):
    content, _ = lantern
    result = query(lantern, "lantern", "--paths")
    assert result.exit_code == 0
    paths = result.stdout.splitlines()
    assert paths == [str(content / h["path"]) for h in reference(lantern)]
    assert str(content / "dir with space" / "e-space.md") in paths
    # Each line names the post's file: xargs can hand them to another tool.
    proc = subprocess.run(
        ["xargs", "-d", "\n", "grep", "-l", "-i", "lantern"],
        input=result.stdout,
        capture_output=True,
        text=True,
        check=True,
    )
    assert sorted(proc.stdout.splitlines()) == sorted(paths)


def test_offset_pages_through_the_hits_and_total_stays_the_total(lantern):
    everything = reference(lantern)
    page2 = json.loads(query(lantern, "lantern", "--json", "-n", "2", "--offset", "2").stdout)
    assert page2["total"] == 5 and page2["offset"] == 2
    assert [h["path"] for h in page2["hits"]] == [h["path"] for h in everything[2:4]]
    rows = parse(query(lantern, "lantern", "--csv", "-n", "2", "--offset", "4").stdout, ",")
    assert [r["rank"] for r in rows] == ["5"] and rows[0]["path"] == everything[4]["path"]
    text = query(lantern, "lantern", "-n", "2", "--offset", "2")
    assert text.exit_code == 0 and "5 posts match; showing 3-4" in text.stdout
    past = query(lantern, "lantern", "--offset", "5")
    assert past.exit_code == 1 and "5 posts match; none after the first 5." in past.stdout
    assert query(lantern, "lantern", "--offset", "-1").exit_code == 2


def test_offset_is_in_the_library(lantern):
    with open_searcher(lantern[1]) as s:
        full = s.search("lantern", limit=None)
        page = s.search("lantern", limit=2, offset=1)
        by_date = s.search("", limit=2, offset=3)  # no words: newest first
        related = s.related("a-commas.md", limit=1, offset=1)
        related_all = s.related("a-commas.md", limit=None)
    assert page.total == full.total == 5 and page.offset == 1
    assert [(h.rank, h.path) for h in page.hits] == [(h.rank, h.path) for h in full.hits[1:3]]
    assert [h.date.year for h in by_date.hits] == [2022, 2021]
    assert [h.path for h in related.hits] == [h.path for h in related_all.hits[1:2]]


def test_related_has_the_same_formats(lantern):
    full = json.loads(related(lantern, "a-commas.md", "--json", "-n", "10").stdout)
    assert full["hits"]
    rows = parse(related(lantern, "a-commas.md", "--tsv", "-n", "10").stdout, "\t")
    assert [r["path"] for r in rows] == [h["path"] for h in full["hits"]]
    lines = related(lantern, "a-commas.md", "--jsonl", "--offset", "1").stdout.splitlines()
    assert [json.loads(line)["path"] for line in lines] == [h["path"] for h in full["hits"][1:6]]
    paths = related(lantern, "a-commas.md", "--paths", "-n", "1").stdout.splitlines()
    assert paths == [str(lantern[0] / full["hits"][0]["path"])]


@pytest.mark.parametrize("command", ["query", "related"])
def test_two_output_formats_are_a_usage_error(lantern, command):
    target = "lantern" if command == "query" else "a-commas.md"
    run = query if command == "query" else related
    result = run(lantern, target, "--csv", "--paths")
    assert result.exit_code == 2
    assert "--csv and --paths cannot be combined: choose one output format" in result.stderr
    assert result.stdout == ""
