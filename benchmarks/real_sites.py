"""Benchmark: real Hugo sites as their owners keep them (issue 12).

    python benchmarks/real_sites.py SHARED_CORPORA_DIR [--eval]

For each site folder (``rubenerd-raw``, ``digitalgov-raw``: a ``content/``
folder with the site's own Hugo config beside it) copied to a temporary
folder, runs ``searchkit`` as a person would, from the site folder, and prints:

- post files (counted here: every .md/.markdown/.html file that is not a
  section page) against posts indexed: the share read;
- tag facet counts (``query --facets``) against counts made here from the
  front matter (the taxonomy key named in the site's config, read here with
  PyYAML), non-draft posts only: the number of tags whose counts differ;
- how many posts ``query src`` matches (markup words: HTML attributes);
- titles and snippets of a fixed set of queries (``--json``) that still hold
  markup: ``{{<``, ``{%``, ``](http``, ``<td`` or an HTML entity;
- with ``--eval``, the time ``tags eval --split time`` takes, and its table.

Skips with a message (exit 0) when the corpora folder is absent. The sites'
text stays in the temporary folder.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SITES = ("rubenerd-raw", "digitalgov-raw")
QUERIES = ("src", "img", "government", "data api", "design", "accessibility", "freebsd",
           "coffee", "anime", "html", "table", "link", "congress", "fellows", "editor")  # fmt: skip
MARKUP = re.compile(r"\{\{<|\{%|\]\(http|<td|&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
POST_SUFFIXES = (".md", ".markdown", ".html")


def run(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "searchkit", *args], cwd=cwd, env=env,
        capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    return proc, time.perf_counter() - start


def front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8", errors="replace").lstrip("\ufeff")
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    try:
        data = yaml.safe_load(text[3:end]) if end > 0 else None
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def tag_key(site: Path) -> str:
    """The taxonomy holding tags, read from the site's config file here."""
    for name in ("config.yaml", "config.yml", "config.toml", "hugo.toml", "hugo.yaml"):
        if (site / name).is_file():
            data = (
                yaml.safe_load((site / name).read_text()) if name.endswith(("yaml", "yml")) else {}
            )
            tax = {
                str(k).lower(): str(v).lower() for k, v in (data.get("taxonomies") or {}).items()
            }
            return "tags" if "tags" in tax.values() else tax.get("tag", "tags")
    return "tags"


def expected_tags(site: Path) -> tuple[int, collections.Counter]:
    key = tag_key(site)
    files = [
        p for p in (site / "content").rglob("*")
        if p.suffix.lower() in POST_SUFFIXES and not p.name.startswith("_index.") and p.is_file()
    ]  # fmt: skip
    counts: collections.Counter = collections.Counter()
    for f in files:
        meta = {str(k).lower(): v for k, v in front_matter(f).items()}
        if meta.get("draft") is True:
            continue
        tags = meta.get(key) or []
        tags = [tags] if isinstance(tags, str) else tags
        seen = {" ".join(str(t).split()).lower() for t in tags if isinstance(t, (str, int))}
        counts.update(t for t in seen if t)
    return len(files), counts


def measure(site: Path, do_eval: bool) -> None:
    print(f"== {site.name}")
    files, expected = expected_tags(site)
    proc, secs = run(["index", "--rebuild"], site)
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr
    m = re.search(r"indexed (\d+)", summary)
    indexed = int(m.group(1)) if m else 0
    note = [line for line in proc.stderr.splitlines() if line.startswith("searchkit: reading")]
    print(f"   {note[0] if note else '(no configuration line)'}")
    print(f"   index: {summary} ({secs:.1f} s)")
    print(f"   post files {files:,}, indexed {indexed:,}: {indexed / max(files, 1):.2%} read")

    proc, _ = run(["query", "--facets", "--json", "--drafts", "-n", "1"], site)
    proc_nd, _ = run(["query", "--facets", "--json", "-n", "1"], site)
    got = json.loads(proc_nd.stdout)["facets"]["tags"]
    diff = {t for t in set(got) | set(expected) if got.get(t, 0) != expected.get(t, 0)}
    total_all = json.loads(proc.stdout)["total"]
    print(
        f"   tags: {len(got):,} in the facets, {len(expected):,} counted from front matter; "
        f"{len(diff)} differ; {sum(got.values()):,} tag uses; {total_all:,} posts with drafts"
    )
    for t in sorted(diff)[:5]:
        print(f"     {t!r}: facet {got.get(t, 0)}, front matter {expected.get(t, 0)}")

    proc, _ = run(["query", "src", "--json", "--drafts"], site)
    src = json.loads(proc.stdout)["total"] if proc.stdout.strip() else 0
    print(f"   query src: {src} posts ({src / max(indexed, 1):.2%})")

    bad = []
    for q in QUERIES:
        proc, _ = run(["query", *q.split(), "--json", "-n", "20"], site)
        if not proc.stdout.strip():
            continue
        for hit in json.loads(proc.stdout)["hits"]:
            for name in ("title", "snippet"):
                found = MARKUP.search(hit[name] or "")
                if found:
                    bad.append((q, hit["path"], name, found.group()))
    print(f"   markup in titles/snippets of {len(QUERIES)} queries (top 20): {len(bad)}")
    for q, path, name, what in bad[:8]:
        print(f"     {q!r} {path} {name}: {what!r}")

    if do_eval:
        proc, secs = run(["tags", "eval", "--split", "time"], site)
        print(f"   tags eval --split time: exit {proc.returncode}, {secs:.0f} s")
        print("     " + "\n     ".join(proc.stdout.strip().splitlines()[:12]))
        if proc.returncode:
            print("     " + proc.stderr.strip()[-500:])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpora", type=Path, help="the shared corpora folder")
    ap.add_argument("--eval", action="store_true", help="also run 'tags eval --split time'")
    ap.add_argument("--site", action="append", help="only this site folder (repeatable)")
    args = ap.parse_args()
    sites = [args.corpora / s for s in (args.site or SITES)]
    missing = [s for s in sites if not (s / "content").is_dir()]
    if missing:
        print(f"skipped: no site folder at {', '.join(map(str, missing))}")
        return 0
    with tempfile.TemporaryDirectory(prefix="searchkit-real-sites-") as tmp:
        for src in sites:
            dest = Path(tmp) / src.name
            shutil.copytree(src, dest)
            measure(dest, args.eval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
