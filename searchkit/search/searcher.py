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
import functools
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import collectors, sorting
from whoosh import query as Q

from searchkit.errors import IndexMissing, QueryError, SearchkitError
from searchkit.indexing import store
from searchkit.indexing.safe_pickle import open_index
from searchkit.schema import (
    ALL_WORDS_TIER,
    COORD,
    FACET_FIELDS,
    TEXT_FIELD_NAMES,
)
from searchkit.site.urls import is_safe_url
from searchkit.whoosh_internals import TopCollector

from .dates import parse_day
from .query import ParsedQuery, cap_expansions
from .scoring import default_weighting
from .snippets import snippet_of


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
    # The stored fields a post's URL is made from (`searchkit.site.urls.hit_url`).
    link: dict[str, str] = field(default_factory=dict, repr=False)

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "url": _safe_url(self.url) or None,
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
    # {"tags": {tag: count}, "source": {source: count}} over all matches (--facets)
    facets: dict[str, dict[str, int]] | None = None
    suggestion: str | None = None  # "did you mean" (a spelling-corrected query)
    corrected: str | None = None  # set when the hits are those of `suggestion`
    # Filter values no post has, with the closest existing ones:
    # {"tag": {"kubernets": "kubernetes"}}; with `corrected_filters` set, the
    # hits are those of the corrected filters.
    filter_suggestions: dict[str, dict[str, str]] | None = None
    corrected_filters: bool = False
    # When the words match posts but the filters leave none: the first filter
    # that emptied the result, as typed ("--tag kubernets", "--since 2030").
    emptied_by: str | None = None
    offset: int = 0  # hits ranked before the first one shown (paging)

    def to_json(self) -> dict:
        out = {
            "query": self.query,
            "total": self.total,
            "hits": [h.to_json() for h in self.hits],
        }
        if self.offset:
            out["offset"] = self.offset
        if self.facets is not None:
            out["facets"] = self.facets
        if self.suggestion:
            out["suggestion"] = self.suggestion
        if self.corrected:
            out["corrected"] = self.corrected
        if self.filter_suggestions:
            out["filter_suggestions"] = self.filter_suggestions
            out["corrected_filters"] = self.corrected_filters
        if self.emptied_by:
            out["emptied_by"] = self.emptied_by
        return out


class Searcher:
    """An open index generation; use as a context manager.

    It holds a lease on its generation (`store.ReaderLease`) until closed,
    so `searchkit index` runs meanwhile leave that generation in place and
    this searcher keeps answering from it.
    """

    def __init__(self, index_dir: Path | str, *, weighting=None, coord: float = COORD):
        self._lease = store.ReaderLease(index_dir)
        gen = self._lease.generation
        try:
            store.check_sizes(gen)
            self._ix = open_index(gen)
        except SearchkitError:
            self._lease.release()
            raise
        except Exception as exc:  # a damaged or foreign index
            self._lease.release()
            raise IndexMissing(
                f"cannot open the index in {gen}: {exc}; run 'searchkit index --rebuild'"
            ) from None
        self.generation = gen  # the index generation directory being searched
        self._searcher = self._ix.searcher(weighting=weighting or default_weighting())
        self.schema = self._ix.schema
        self.coord = coord

    def __enter__(self) -> Searcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._searcher.close()
            self._ix.close()
        finally:
            self._lease.release()

    def _read_error(self, exc: Exception, text: str) -> SearchkitError:
        """The one-line error for ``exc`` raised while reading the index for ``text``."""
        manifest = store.read_manifest(self.generation)
        reason = store.damage(self.generation, manifest.files, checksums=True) if manifest else ""
        if reason or isinstance(exc, OSError):
            return store.damaged(self.generation, reason or f"cannot read it: {exc}")
        return QueryError(f"cannot run query {text[:80]!r}: {type(exc).__name__}: {exc}")

    @property
    def doc_count(self) -> int:
        return self._searcher.doc_count()

    def parse(self, text: str, *, syntax: bool = True) -> ParsedQuery:
        """Parse a query string into ranking query, filters and exclusions."""
        from .query import parse_query

        return parse_query(text, self.schema, syntax=syntax, coord=self.coord)

    def search(
        self,
        text: str = "",
        *,
        limit: int | None = 10,
        offset: int = 0,
        tags: Sequence[str] = (),
        source: str | None = None,
        kind: str | None = None,
        since: str | dt.datetime | None = None,
        until: str | dt.datetime | None = None,
        sort: str = "relevance",
        drafts: bool = False,
        syntax: bool = True,
        facets: bool = False,
        fuzzy_fallback: bool = False,
        snippets: bool = True,
    ) -> SearchResult:
        """Rank the posts matching ``text`` and the filters.

        Equal scores are ordered by path, so results are the same on every
        run and in every client. A query with no words (empty, or filters
        only) matches every post and sorts by date. ``offset`` skips that many
        hits, for paging: the hits are those ranked offset+1 .. offset+limit
        (their ``rank`` counts from the first) and ``total`` still counts every
        match. ``syntax=False`` reads
        every character as plain words. ``facets`` counts tags and sources
        over all matches. When a word is not in the index, ``result.suggestion``
        holds the query with the closest indexed words ("did you mean"); when
        nothing matched and ``fuzzy_fallback`` is set, the suggestion's hits
        are returned instead, with ``result.corrected`` set.
        """
        if sort not in ("relevance", "date"):
            raise QueryError(f"unknown sort {sort!r}; use relevance or date")
        if offset < 0:
            raise QueryError(f"offset must be 0 or more, not {offset}")
        parsed = self.parse(text, syntax=syntax)
        opts = dict(tags=tags, source=source, kind=kind, since=since, until=until)
        try:
            return self._search(text, parsed, opts, limit, offset, sort, drafts, facets,
                                snippets, syntax, fuzzy_fallback)  # fmt: skip
        except SearchkitError:
            raise
        except Exception as exc:  # a read error: a damaged index, or a bug worth one line
            raise self._read_error(exc, parsed.text) from None

    def _search(
        self, text, parsed, opts, limit, offset, sort, drafts, facets, snippets, syntax,
        fuzzy_fallback,
    ) -> SearchResult:  # fmt: skip
        run = functools.partial(self._run, offset=offset)
        result = run(parsed, opts, limit, sort, drafts, facets, snippets)
        tags, source, kind = opts["tags"], opts["source"], opts["kind"]
        since, until = opts["since"], opts["until"]
        if parsed.words or ":" in parsed.text:  # one lookup a word; more for unknown ones
            from .spelling import suggest_query

            fixed = suggest_query(self._searcher, parsed.text, parsed.words)
            if fixed and fixed != parsed.text:
                result.suggestion = fixed
                if fuzzy_fallback and result.total == 0:
                    again = run(
                        self.parse(fixed, syntax=syntax), opts, limit, sort, drafts, facets,
                        snippets,
                    )  # fmt: skip
                    if again.total:
                        again.query, again.corrected, again.suggestion = text, fixed, fixed
                        return again
        if result.total == 0 and (tags or source or kind or since or until):
            result = self._explain_empty(result, parsed, opts, limit, sort, drafts, facets,
                                         snippets, fuzzy_fallback, offset)  # fmt: skip
        result.query = text
        return result

    def _explain_empty(self, result, parsed, opts, limit, sort, drafts, facets, snippets,
                       fuzzy_fallback, offset) -> SearchResult:  # fmt: skip
        """Name the filter that left no posts, and correct misspelled filter values."""
        from .spelling import correct_options

        typed = {"tag": list(opts["tags"]), "source": [opts["source"]] if opts["source"] else [],
                 "kind": [opts["kind"]] if opts["kind"] else []}  # fmt: skip
        fixes = correct_options(self._searcher, typed)
        result.filter_suggestions = fixes or None
        result.emptied_by = self._emptied_by(parsed, opts, drafts)
        if fixes and fuzzy_fallback:
            fixed = dict(opts)
            fixed["tags"] = [fixes.get("tag", {}).get(t, t) for t in opts["tags"]]
            for option in ("source", "kind"):
                if opts[option]:
                    fixed[option] = fixes.get(option, {}).get(opts[option], opts[option])
            again = self._run(parsed, fixed, limit, sort, drafts, facets, snippets, offset=offset)
            if again.total:
                again.suggestion, again.corrected = result.suggestion, result.corrected
                again.filter_suggestions, again.corrected_filters = fixes, True
                again.emptied_by = result.emptied_by
                return again
        return result

    def _emptied_by(self, parsed, opts, drafts) -> str | None:
        """The first command-line filter that takes the matches to none (None: the words do)."""
        steps = [(f"--tag {shlex.quote(t)}", "tags", t) for t in opts["tags"]]
        steps += [(f"--{name} {shlex.quote(str(opts[key]))}", key, opts[key])
                  for name, key in (("source", "source"), ("kind", "kind"), ("since", "since"),
                                    ("until", "until")) if opts[key]]  # fmt: skip
        current = dict(tags=[], source=None, kind=None, since=None, until=None)
        if not self._any(parsed, current, drafts):
            return None
        for label, key, value in steps:
            current[key] = [*current[key], value] if key == "tags" else value
            if not self._any(parsed, current, drafts):
                return label
        return None

    def _any(self, parsed, opts, drafts) -> bool:
        return self._run(parsed, opts, 1, "relevance", drafts, False, False).total > 0

    def related(
        self, post_id: str, *, limit: int = 5, offset: int = 0, drafts: bool = False
    ) -> SearchResult:
        """The posts most like ``post_id`` (`searchkit.search.related`); ``offset`` as in search."""
        try:
            return self._related(post_id, limit, offset, drafts)
        except SearchkitError:
            raise
        except Exception as exc:
            raise self._read_error(exc, post_id) from None

    def _related(self, post_id: str, limit: int, offset: int, drafts: bool) -> SearchResult:
        from .related import related_query

        parsed = related_query(self._searcher, post_id)
        if parsed.scoring is Q.NullQuery:
            return SearchResult(query=post_id, total=0, hits=[])
        opts = dict(tags=(), source=None, kind=None, since=None, until=None)
        if offset < 0:
            raise QueryError(f"offset must be 0 or more, not {offset}")
        result = self._run(parsed, opts, limit, "relevance", drafts, False, True, offset=offset)
        result.query = post_id
        return result

    def _run(
        self, parsed, opts, limit, sort, drafts, facets, snippets, offset: int = 0
    ) -> SearchResult:
        q = parsed.scoring if parsed.scoring is not None else Q.Every()
        filt = _filters(**opts, extra=parsed.filters)
        hidden = list(parsed.exclude) + ([] if drafts else [Q.Term("draft", True)])
        mask = Q.Or(hidden) if len(hidden) > 1 else (hidden[0] if hidden else None)
        cap_expansions([q, filt, mask], self._searcher.reader())  # bounded cost
        by_date = sort == "date" or isinstance(q, Q.Every)
        if limit is not None:
            limit += offset  # collect the pages before too, then drop them
        if by_date:  # the score is a sort key too: that is how it reaches the hits
            order = [sorting.FieldFacet("date", reverse=True), sorting.ScoreFacet()]
            c = collectors.SortingCollector(order + [sorting.FieldFacet("path")], limit=limit)
        else:
            c = TopCollector(limit or self._searcher.doc_count() or 1)
        if facets:
            c = collectors.FacetCollector(
                c,
                {  # a post has several tags, one source
                    name: sorting.FieldFacet(name, allow_overlap=name == "tags")
                    for name in FACET_FIELDS
                },
                maptype=sorting.Count,
            )
        if filt is not None or mask is not None:  # outermost, as Whoosh's own search() does
            c = collectors.FilterCollector(c, filt, mask)
        self._searcher.search_with_collector(q, c)
        results = c.results()
        words = self._snippet_words(q) if snippets else None
        hits = [self._hit(i + 1, r, by_date, words) for i, r in enumerate(results) if i >= offset]
        result = SearchResult(query=parsed.text, total=len(results), hits=hits, offset=offset)
        if facets:
            result.facets = {name: _counts(results.groups(name)) for name in FACET_FIELDS}
        return result

    def _snippet_words(self, q: Q.Query) -> dict[str, frozenset[str]]:
        """The indexed words of ``q`` in each text field (prefixes and fuzzy words expanded)."""
        # Not Query.existing_terms: it drops every field but the first (its
        # loop variable shadows its `fieldname` argument).
        reader = self._searcher.reader()
        words: dict[str, set[str]] = {}
        for leaf in q.leaves():
            for name, text in leaf.expanded_terms(reader, phrases=True):
                if name in TEXT_FIELD_NAMES:
                    field = self.schema[name]
                    words.setdefault(name, set()).add(field.from_bytes(field.to_bytes(text)))
        return {name: frozenset(w) for name, w in words.items()}

    def _hit(self, rank: int, result, by_date: bool, words: dict | None) -> Hit:
        stored = result.fields()
        date = stored.get("date")
        snippet, spans = snippet_of(stored, words, self.schema) if words is not None else ("", [])
        return Hit(
            rank=rank,
            path=stored["path"],
            title=stored.get("title", ""),
            # sorted by date, the score is the second sort key (-score for ScoreFacet)
            score=_display_score(-float(result.score[1]) if by_date else result.score),
            date=date.replace(tzinfo=dt.UTC) if date else None,
            tags=[t for t in stored.get("tags", "").split(",") if t],
            source=stored.get("source", ""),
            post_kind=stored.get("post_kind", ""),
            url=_safe_url(stored.get("url") or stored.get("external_url") or ""),
            draft=bool(stored.get("draft")),
            snippet=snippet,
            highlights=spans,
            link={k: stored.get(k) or "" for k in ("url", "external_url", "slug", "local_date")},
        )


def _safe_url(url: str) -> str:
    """``url`` if following it is safe (`is_safe_url`, the export's rule), else ''."""
    return url if url and is_safe_url(url) else ""


def _display_score(score: float) -> float:
    """The score without the all-words tier (which only orders the hits)."""
    return score - ALL_WORDS_TIER if score >= ALL_WORDS_TIER else score


def _counts(groups: dict) -> dict[str, int]:
    """Facet counts, largest first, then by name; empty values dropped."""
    items = [(k, v) for k, v in groups.items() if k]
    return dict(sorted(items, key=lambda kv: (-kv[1], kv[0])))


def _filters(tags, source, kind, since, until, extra=()) -> Q.Query | None:
    parts: list[Q.Query] = list(extra) + [
        Q.Term("tags", t.strip().lower()) for t in tags if t.strip()
    ]
    if source:
        parts.append(Q.Term("source", source.strip().lower()))
    if kind:
        parts.append(Q.Term("post_kind", kind.strip().lower()))
    if since or until:
        start = parse_day(since) if isinstance(since, str) else since
        end = parse_day(until, end=True) if isinstance(until, str) else until
        parts.append(Q.DateRange("date", start, end))
    return Q.And(parts) if parts else None


def open_searcher(index_dir: Path | str, **kwargs) -> Searcher:
    """Open the live generation of the index in ``index_dir`` for searching."""
    return Searcher(index_dir, **kwargs)


__all__ = [
    "Hit",
    "SearchResult",
    "Searcher",
    "open_searcher",
    "parse_day",
]
