"""Plain-text rendering of search results for the terminal."""

from __future__ import annotations

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


def render_result(result: SearchResult) -> str:
    notes = []
    if result.corrected:
        notes.append(
            f"No posts match {result.query!r}; showing results for {result.corrected!r} instead."
        )
    elif result.suggestion:
        notes.append(f"Did you mean: {result.suggestion}")
    if not result.hits:
        return "\n".join([f"No posts match {result.query!r}.", *notes])
    shown = len(result.hits)
    head = f"{result.total} post{'s' if result.total != 1 else ''} match"
    if shown < result.total:
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
