import json

import pytest
from conftest import query_json, run_cli

from searchkit.errors import IndexMissing, QueryError
from searchkit.indexing.build import update_index
from searchkit.search import open_searcher, parse_day


@pytest.fixture
def index(site, tmp_path):
    path = tmp_path / "index"
    update_index(site, path)
    return path


def paths(index, text, **kw):
    with open_searcher(index) as s:
        return [h.path for h in s.search(text, **kw).hits]


def test_title_matches_rank_above_summary_matches(index):
    # "gitops" is in one title and in one other post's summary (and a draft's).
    assert paths(index, "gitops") == ["posts/gitops-intro.md", "posts/prometheus-alerts.md"]


def test_drafts_are_hidden_unless_asked_for(index):
    assert "posts/draft-gitops.md" not in paths(index, "gitops")
    assert "posts/draft-gitops.md" in paths(index, "gitops", drafts=True)


def test_accents_fold_both_ways(index):
    assert paths(index, "cafe") == paths(index, "café") == ["posts/cafe-dashboards.md"]


def test_filters_by_tag_source_kind_and_date(index):
    assert paths(index, "gitops", tags=["kubernetes"]) == ["posts/gitops-intro.md"]
    assert paths(index, "", tags=["GitOps", "flux"]) == ["posts/flux-release.md"]
    assert paths(index, "", source="fixture weekly", limit=None) == [
        "posts/gitops-intro.md",
        "posts/prometheus-alerts.md",
    ]
    assert paths(index, "", kind="release") == ["posts/flux-release.md"]
    assert paths(index, "", since="2025-04", until="2025-05-02") == ["posts/flux-release.md"]
    assert paths(index, "", until="2023") == ["posts/cafe-dashboards.md"]


def test_sort_by_date_newest_first(index):
    with open_searcher(index) as s:
        hits = s.search("", limit=None, sort="date").hits
    dates = [h.date for h in hits if h.date]
    assert dates == sorted(dates, reverse=True)


def test_equal_scores_are_ordered_by_path(site, tmp_path):
    for name in ("b.md", "a.md", "c.md"):
        (site / name).write_text("---\ntitle: Identical twin post\n---\n")
    index = tmp_path / "index"
    update_index(site, index)
    assert paths(index, "identical twin") == ["a.md", "b.md", "c.md"]


def test_ties_cut_by_the_limit_keep_the_first_paths_across_segments(site, tmp_path):
    # The top-N collector reads a path only on entering the top N or tying its
    # lowest score; posts added in three runs sit in three segments.
    index = tmp_path / "index"
    names = ["m", "c", "x", "a", "q", "f", "z", "b", "k"]
    for batch in (names[:3], names[3:6], names[6:]):
        for name in batch:
            (site / f"{name}.md").write_text("---\ntitle: Identical quokka post\n---\n")
        update_index(site, index)
    with open_searcher(index) as s:
        assert len(s._searcher.reader().leaf_readers()) >= 2
    every = sorted(f"{n}.md" for n in names)
    assert paths(index, "quokka", limit=4) == every[:4]
    assert paths(index, "quokka", limit=None) == every
    with open_searcher(index) as s:
        result = s.search("quokka", limit=2)
    assert result.total == len(names)


def test_hits_carry_display_fields_and_highlights(index):
    with open_searcher(index) as s:
        hit = s.search("reconciliation").hits[0]
    assert hit.path == "posts/flux-release.md"
    assert hit.title.startswith("Flux 9.9")
    assert hit.tags == ["flux", "gitops"]
    assert hit.url == "https://example.org/fixtures/flux-9-9"
    assert hit.highlights
    for start, end in hit.highlights:
        assert hit.snippet[start:end].lower().startswith("reconcil")


def test_parse_day_ranges():
    assert parse_day("2025").year == 2025
    assert parse_day("2025-02", end=True).day == 28
    assert parse_day("2024-12", end=True).month == 12
    with pytest.raises(QueryError):
        parse_day("March")


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(IndexMissing, match="searchkit index"):
        open_searcher(tmp_path / "nowhere")


def test_query_json_schema(site, tmp_path):
    data = query_json(site, tmp_path / "index", "prometheus")
    assert data["query"] == "prometheus" and data["total"] == 1
    hit = data["hits"][0]
    assert set(hit) >= {"path", "url", "title", "date", "tags", "score", "snippet"}
    assert hit["path"] == "posts/prometheus-alerts.md"
    assert hit["date"].startswith("2024-11-20T08:30:00")
    assert isinstance(hit["score"], float)


def test_query_builds_and_refreshes_the_index_itself(site, tmp_path):
    index = tmp_path / "index"
    first = run_cli("query", "gitops", "--content", str(site), "--index", str(index))
    assert first.exit_code == 0
    assert "updating the index (no index yet)" in first.stderr
    (site / "posts/new.md").write_text("---\ntitle: Quokka sightings\n---\n")
    second = run_cli("query", "quokka", "--content", str(site), "--index", str(index))
    assert "updating the index" in second.stderr
    assert "Quokka sightings" in second.stdout
    third = run_cli("query", "quokka", "--content", str(site), "--index", str(index))
    assert third.stderr == ""


def test_exit_codes(site, tmp_path):
    args = ("--content", str(site), "--index", str(tmp_path / "index"))
    assert run_cli("query", "gitops", *args).exit_code == 0
    none = run_cli("query", "xylophone", *args)
    assert none.exit_code == 1 and "No posts match" in none.stdout
    bad = run_cli("query", "gitops", "--since", "someday", *args)
    assert bad.exit_code == 2
    assert bad.stderr.startswith("searchkit: error: not a date")
    assert run_cli("query", "gitops", "--content", str(tmp_path / "none")).exit_code == 2


def test_plain_output_has_no_escape_codes(site, tmp_path):
    out = run_cli("query", "gitops", "--content", str(site), "--index", str(tmp_path / "i")).stdout
    assert "\x1b[" not in out
    assert "1. GitOps in practice" in out
    assert "posts/gitops-intro.md" in out


def test_json_output_is_valid_for_html_in_fields(site, tmp_path):
    # Markup written as entities is decoded into the text: it must stay valid JSON.
    (site / "x.md").write_text('---\ntitle: "&lt;script&gt;alert(1)&lt;/script&gt; xss"\n---\n')
    data = query_json(site, tmp_path / "index", "xss")
    assert data["hits"][0]["title"] == "<script>alert(1)</script> xss"
    json.dumps(data)


def test_search_site_searches_at_once_and_refreshes_only_when_stale(site, tmp_path):
    from searchkit.search import search_site

    index = tmp_path / "index"
    said = []

    def search(text, **options):
        return search_site(site, index, text, log=said.append, **options)

    assert search("prometheus").total == 1 and said == ["updating the index (no index yet)"]
    assert search("prometheus").total == 1 and len(said) == 1  # fresh: no update
    (site / "posts/new.md").write_text("---\ntitle: Prometheus quokka\n---\n")
    assert search("prometheus").total == 2
    assert said[-1] == "updating the index (posts were added or removed)"
    with pytest.raises(QueryError):  # raised once the index is known to be current
        search("x", since="someday")


def test_unsafe_links_never_reach_query_output(tmp_path):
    """The export's URL rule (http(s) or relative only) holds for --json and text too."""
    from conftest import FIXTURES, run_cli

    index = tmp_path / "index"
    data = query_json(FIXTURES / "xss", index, "xss")
    urls = {h["path"]: h["url"] for h in data["hits"]}
    assert set(urls) == {"xss-data-url.md", "xss-fields.md", "xss-variants.md"}
    # An unsafe `url` is dropped; what is left is the export's link: a permalink, or none.
    assert all(u is None or u.startswith(("/", "https://", "http://")) for u in urls.values())
    text = run_cli("query", "xss", "--content", str(FIXTURES / "xss"), "--index", str(index))
    for link in ("javascript:alert(1)", 'JaVaScRiPt:alert("url")', "data:text/html"):
        assert link not in text.stdout  # (the summary's text may mention them)
