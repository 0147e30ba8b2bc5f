"""Searching the index: parse a query, rank posts, make highlighted snippets.

Python API::

    from searchkit.search import open_searcher

    with open_searcher("index") as s:
        result = s.search("gitops", limit=5, tags=["kubernetes"])
        for hit in result.hits:
            print(hit.score, hit.path, hit.title)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh import sorting
from whoosh.highlight import ContextFragmenter, Formatter, Highlighter

from . import store
from .errors import IndexMissing, QueryError
from .schema import FIELD_ALIASES, TEXT_FIELD_NAMES
from .scoring import WeightedBM25F

SNIPPET_FIELDS = ("summary", "tldr", "body", "title")
SNIPPET_CHARS = 220
_OPEN, _CLOSE = "\x02", "\x03"


@dataclass
class Hit:
    """One ranked post."""

    rank: int
    path: str
    title: str
    score: float
    date: dt.datetime | None = None
    tags: list[str] = field(default_factory=list)
    source: str = ""
    post_kind: str = ""
    url: str = ""
    draft: bool = False
    snippet: str = ""
    # (start, end) character offsets of the matched words inside `snippet`
    highlights: list[tuple[int, int]] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "url": self.url or None,
            "title": self.title,
            "date": self.date.isoformat() if self.date else None,
            "tags": self.tags,
            "source": self.source or None,
            "kind": self.post_kind or None,
            "score": self.score,
            "snippet": self.snippet,
            "highlights": [list(span) for span in self.highlights],
        }


@dataclass
class SearchResult:
    """The hits for one query and the number of posts that matched in all."""

    query: str
    total: int
    hits: list[Hit]

    def to_json(self) -> dict:
        return {
            "query": self.query,
            "total": self.total,
            "hits": [h.to_json() for h in self.hits],
        }


def parse_day(text: str, *, end: bool = False) -> dt.datetime:
    """Parse YYYY, YYYY-MM, YYYY-MM-DD or an ISO datetime, as naive UTC.

    With ``end=True`` a partial date means the end of that year/month/day,
    so ``--until 2025-03`` includes all of March.
    """
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}", text):
            start = dt.datetime(int(text), 1, 1)
            nxt = dt.datetime(int(text) + 1, 1, 1)
        elif re.fullmatch(r"\d{4}-\d{2}", text):
            y, m = map(int, text.split("-"))
            start = dt.datetime(y, m, 1)
            nxt = dt.datetime(y + m // 12, m % 12 + 1, 1)
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            start = dt.datetime.fromisoformat(text)
            nxt = start + dt.timedelta(days=1)
        else:
            when = dt.datetime.fromisoformat(text)
            if when.tzinfo:
                when = when.astimezone(dt.UTC).replace(tzinfo=None)
            return when
    except ValueError:
        raise QueryError(f"not a date: {text!r} (use YYYY, YYYY-MM or YYYY-MM-DD)") from None
    return nxt - dt.timedelta(microseconds=1) if end else start


class Searcher:
    """An open index generation; use as a context manager."""

    def __init__(self, index_dir: Path | str):
        gen = store.current_generation(Path(index_dir))
        if gen is None:
            raise IndexMissing(f"no index in {index_dir}; run 'searchkit index' first")
        try:
            self._ix = whoosh_index.open_dir(str(gen))
        except Exception as exc:  # a damaged or foreign index
            raise IndexMissing(
                f"cannot open the index in {gen}: {exc}; run 'searchkit index --rebuild'"
            ) from None
        self._searcher = self._ix.searcher(weighting=WeightedBM25F())
        self.schema = self._ix.schema

    def __enter__(self) -> Searcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._searcher.close()
        self._ix.close()

    @property
    def doc_count(self) -> int:
        return self._searcher.doc_count()

    def parse(self, text: str) -> Q.Query:
        """Parse a query string into a Whoosh query over the weighted fields."""
        from .query import parse_query

        return parse_query(text, self.schema)

    def search(
        self,
        text: str = "",
        *,
        limit: int | None = 10,
        tags: Sequence[str] = (),
        source: str | None = None,
        kind: str | None = None,
        since: str | dt.datetime | None = None,
        until: str | dt.datetime | None = None,
        sort: str = "relevance",
        drafts: bool = False,
    ) -> SearchResult:
        """Rank the posts matching ``text`` and the filters.

        Equal scores are ordered by path, so results are the same on every
        run and in every client. An empty ``text`` matches every post (useful
        with filters) and sorts by date.
        """
        q = self.parse(text) if text.strip() else Q.Every()
        filt = _filters(tags, source, kind, since, until)
        mask = None if drafts else Q.Term("draft", True)
        if sort not in ("relevance", "date"):
            raise QueryError(f"unknown sort {sort!r}; use relevance or date")
        # The score is always one of the sort keys: that is how it reaches us.
        order = [sorting.ScoreFacet(), sorting.FieldFacet("path")]
        by_date = sort == "date" or isinstance(q, Q.Every)
        if by_date:
            order.insert(0, sorting.FieldFacet("date", reverse=True))
        try:
            results = self._searcher.search(
                q, limit=limit, filter=filt, mask=mask, sortedby=order, terms=True
            )
        except QueryError:
            raise
        except Exception as exc:
            raise QueryError(f"cannot run query {text!r}: {exc}") from None
        score_key = 1 if by_date else 0
        hits = [self._hit(i + 1, r, score_key) for i, r in enumerate(results)]
        return SearchResult(query=text, total=len(results), hits=hits)

    def _hit(self, rank: int, result, score_key: int) -> Hit:
        stored = result.fields()
        date = stored.get("date")
        snippet, spans = _snippet(result, stored)
        return Hit(
            rank=rank,
            path=stored["path"],
            title=stored.get("title", ""),
            score=-float(result.score[score_key]),  # ScoreFacet sorts on -score
            date=date.replace(tzinfo=dt.UTC) if date else None,
            tags=[t for t in stored.get("tags", "").split(",") if t],
            source=stored.get("source", ""),
            post_kind=stored.get("post_kind", ""),
            url=stored.get("url") or stored.get("external_url") or "",
            draft=bool(stored.get("draft")),
            snippet=snippet,
            highlights=spans,
        )


def _filters(tags, source, kind, since, until) -> Q.Query | None:
    parts: list[Q.Query] = [Q.Term("tags", t.strip().lower()) for t in tags if t.strip()]
    if source:
        parts.append(Q.Term("source", source.strip().lower()))
    if kind:
        parts.append(Q.Term("post_kind", kind.strip().lower()))
    if since or until:
        start = parse_day(since) if isinstance(since, str) else since
        end = parse_day(until, end=True) if isinstance(until, str) else until
        parts.append(Q.DateRange("date", start, end))
    return Q.And(parts) if parts else None


class _SpanFormatter(Formatter):
    """Marks matched words with control characters, turned into offsets later."""

    between = " … "

    def format_token(self, text, token, replace=False):
        return _OPEN + self._text(text[token.startchar : token.endchar]) + _CLOSE


_HIGHLIGHTER = Highlighter(
    fragmenter=ContextFragmenter(maxchars=SNIPPET_CHARS, surround=60),
    formatter=_SpanFormatter(),
)
_MARKERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _snippet(result, stored: dict) -> tuple[str, list[tuple[int, int]]]:
    for name in SNIPPET_FIELDS:
        text = _MARKERS.sub(" ", stored.get(name) or "")
        if not text or not result.results.has_matched_terms():
            continue
        if not any(f == name or f in TEXT_FIELD_NAMES for f, _ in result.matched_terms()):
            continue
        marked = _HIGHLIGHTER.highlight_hit(result, name, text=text, top=2)
        if marked:
            return _spans(marked)
    for name in ("tldr", "summary", "body"):
        text = " ".join((stored.get(name) or "").split())
        if text:
            return (text[:SNIPPET_CHARS] + ("…" if len(text) > SNIPPET_CHARS else "")), []
    return "", []


def _spans(marked: str) -> tuple[str, list[tuple[int, int]]]:
    marked = " ".join(marked.split())
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for part in re.split(f"({_OPEN}[^{_CLOSE}]*{_CLOSE})", marked):
        if part.startswith(_OPEN):
            word = part[1:-1]
            spans.append((pos, pos + len(word)))
            out.append(word)
            pos += len(word)
        else:
            out.append(part)
            pos += len(part)
    return "".join(out), spans


def open_searcher(index_dir: Path | str) -> Searcher:
    """Open the live generation of the index in ``index_dir`` for searching."""
    return Searcher(index_dir)


__all__ = ["Hit", "SearchResult", "Searcher", "open_searcher", "parse_day", "FIELD_ALIASES"]
