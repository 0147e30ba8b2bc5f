"""Rendering of search results: plain text for the terminal, and formats for scripts."""

from __future__ import annotations

import csv
import io
import json
import shlex
from pathlib import Path

import click

from searchkit.search.searcher import Hit, SearchResult
from searchkit.site.urls import is_safe_url

TITLE_CHARS = 100


def render_hit(hit: Hit) -> str:
    title = hit.title if len(hit.title) <= TITLE_CHARS else hit.title[: TITLE_CHARS - 1] + "…"
    meta = [hit.date.strftime("%Y-%m-%d")] if hit.date else []
    if hit.tags:
        meta.append(", ".join(hit.tags))
    url = hit.url if hit.url and is_safe_url(hit.url) else ""
    meta.append(url or hit.path)
    lines = [
        f"{hit.rank:>2}. " + click.style(title, bold=True) + f"  ({hit.score:.2f})",
        "    " + " · ".join(meta),
    ]
    if url:
        lines.append(f"    {hit.path}")
    if hit.snippet:
        lines.append("    " + highlight(hit.snippet, hit.highlights))
    return "\n".join(lines)


def highlight(text: str, spans: list[tuple[int, int]]) -> str:
    """Bold the matched words (click strips the styling when not on a TTY)."""
    out, pos = [], 0
    for start, end in spans:
        out.append(text[pos:start])
        out.append(click.style(text[start:end], bold=True))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _filter_fixes(result: SearchResult) -> str:
    """``--tag kubernets`` -> ``--tag kubernetes``, for each corrected filter value."""
    fixes = result.filter_suggestions or {}
    return ", ".join(
        f"--{option} {fixed}" for option, values in fixes.items() for fixed in values.values()
    )


def _no_posts(result: SearchResult) -> str:
    """Which part left no posts: the words, or a filter (named as typed)."""
    what = f"No posts match {result.query!r}" if result.query.strip() else "No posts match"
    if not result.emptied_by:
        return what + "."
    option, _, value = result.emptied_by.partition(" ")
    name = option.removeprefix("--")
    typos = (result.filter_suggestions or {}).get(name, {})
    if any(shlex.quote(t) == value for t in typos):
        return f"{what} with {result.emptied_by}: no post has that {name}."
    return f"{what} with {result.emptied_by} (without it, posts match)."


def render_result(result: SearchResult) -> str:
    notes = []
    if result.corrected_filters:
        notes.append(f"{_no_posts(result)} Showing results for {_filter_fixes(result)} instead.")
    elif result.filter_suggestions and not result.hits:
        notes.append(f"Did you mean: {_filter_fixes(result)}")
    if result.corrected:
        notes.append(
            f"No posts match {result.query!r}; showing results for {result.corrected!r} instead."
        )
    elif result.suggestion:
        notes.append(f"Did you mean: {result.suggestion}")
    shown = len(result.hits)
    head = f"{result.total} post{'s match' if result.total != 1 else ' matches'}"
    if not result.hits:
        if result.total:  # paged past the end
            return "\n".join([*notes, f"{head}; none after the first {result.total}."])
        return "\n".join([_no_posts(result), *notes])
    if result.offset:
        head += f"; showing {result.offset + 1}-{result.offset + shown}"
    elif shown < result.total:
        head += f"; showing the top {shown}"
    parts = ["\n".join([*notes, head]), *(render_hit(h) for h in result.hits)]
    if result.facets:
        parts.append(render_facets(result.facets))
    return "\n\n".join(parts)


def render_facets(facets: dict[str, dict[str, int]]) -> str:
    """``tags: kubernetes (12), gitops (7)`` and the same for sources."""
    lines = []
    for name, counts in facets.items():
        shown = ", ".join(f"{value} ({n})" for value, n in counts.items()) or "none"
        lines.append(f"{name}: {shown}")
    return "\n".join(lines)


# Columns of --csv and --tsv, in order.
COLUMNS = ("rank", "score", "path", "url", "title", "date", "tags", "source", "kind", "snippet")


def _row(hit: Hit) -> dict:
    """A hit as the JSON format has it, with its rank first."""
    return {"rank": hit.rank, **hit.to_json()}


def render_jsonl(result: SearchResult) -> str:
    """One JSON object a hit, a line each (``total`` and notes are not repeated)."""
    return "".join(json.dumps(_row(h), ensure_ascii=False) + "\n" for h in result.hits)


def render_table(result: SearchResult, delimiter: str = ",") -> str:
    """CSV (or TSV with ``delimiter="\\t"``): a header row, then a row a hit.

    Quoted as Python's csv module (and spreadsheets) read it back: a field
    holding the delimiter, a quote or a line break is quoted, quotes doubled.
    Tags are joined with commas (a tag never holds one); missing values are empty.
    """
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(COLUMNS)
    for hit in result.hits:
        row = _row(hit)
        row["tags"] = ",".join(hit.tags)
        writer.writerow(["" if row[c] is None else row[c] for c in COLUMNS])
    return out.getvalue()


def render_paths(result: SearchResult, content: Path) -> str:
    """Each hit's file (``content`` joined with its path), one a line."""
    return "".join(f"{content / h.path}\n" for h in result.hits)


def render_for_scripts(result: SearchResult, output: str, content: Path) -> str:
    """``result`` in one of the formats of `options.output_options` (not "text")."""
    if output == "json":
        return json.dumps(result.to_json(), ensure_ascii=False, indent=2) + "\n"
    if output == "jsonl":
        return render_jsonl(result)
    if output in ("csv", "tsv"):
        return render_table(result, "," if output == "csv" else "\t")
    if output == "paths":
        return render_paths(result, content)
    raise ValueError(f"unknown output format {output!r}")
