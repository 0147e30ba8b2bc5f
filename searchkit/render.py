"""Plain-text rendering of search results for the terminal."""

from __future__ import annotations

import click

from .search import Hit, SearchResult

TITLE_CHARS = 100


def render_hit(hit: Hit) -> str:
    title = hit.title if len(hit.title) <= TITLE_CHARS else hit.title[: TITLE_CHARS - 1] + "…"
    meta = [hit.date.strftime("%Y-%m-%d")] if hit.date else []
    if hit.tags:
        meta.append(", ".join(hit.tags))
    meta.append(hit.url or hit.path)
    lines = [
        f"{hit.rank:>2}. " + click.style(title, bold=True) + f"  ({hit.score:.2f})",
        "    " + " · ".join(meta),
    ]
    if hit.url:
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
    if not result.hits:
        return f"No posts match {result.query!r}."
    shown = len(result.hits)
    head = f"{result.total} post{'s' if result.total != 1 else ''} match"
    if shown < result.total:
        head += f"; showing the top {shown}"
    return head + "\n\n" + "\n\n".join(render_hit(h) for h in result.hits)
