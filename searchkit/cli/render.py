"""Plain-text rendering of search results for the terminal."""

from __future__ import annotations

import shlex

import click

from searchkit.search.searcher import Hit, SearchResult

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
    if not result.hits:
        return "\n".join([_no_posts(result), *notes])
    shown = len(result.hits)
    head = f"{result.total} post{'s match' if result.total != 1 else ' matches'}"
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
