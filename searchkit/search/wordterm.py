"""One word over several text fields, scored as ONE number per (word, post).

`WordTerm` replaces the parser's ``Or([Term(f, word) for f in fields])``
(`use_word_terms`) so that true BM25F (`scoring.TrueBM25F`) saturates a
word once over its fields; its score in a post is exactly the impact the
exporter writes for (word, post).
"""

from __future__ import annotations

import bisect

from whoosh import query as Q
from whoosh.matching import Matcher, NullMatcher

from searchkit.schema import TEXT_FIELD_NAMES


class SortedIdsMatcher(Matcher):
    """A matcher over sorted docnums in ``self._ids`` (a cursor ``self._pos``).

    The subclasses hold their scores beside the ids, computed up front.
    """

    _ids: list[int]
    _pos: int

    def is_active(self) -> bool:
        return self._pos < len(self._ids)

    def id(self) -> int:
        return self._ids[self._pos]

    def next(self) -> None:
        self._pos += 1

    def skip_to(self, id: int) -> None:
        self._pos = max(self._pos, bisect.bisect_left(self._ids, id))

    def reset(self) -> None:
        self._pos = 0

    def all_ids(self):
        return iter(self._ids[self._pos :])

    def copy(self):
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        return other

    def replace(self, minquality=0) -> Matcher:
        return self if self.is_active() else NullMatcher()

    def supports(self, astype) -> bool:
        return False

    def supports_block_quality(self) -> bool:
        return False


class _ArrayMatcher(SortedIdsMatcher):
    """Postings given as sorted docnums and their scores (one word's impacts)."""

    def __init__(self, ids: list[int], scores: list[float]):
        self._ids, self._scores, self._pos = ids, scores, 0

    def weight(self) -> float:
        return self._scores[self._pos]

    def score(self) -> float:
        return self._scores[self._pos]


class WordTerm(Q.Query):
    """One indexed word over several text fields, scored by true BM25F.

    Replaces the parser's ``Or([Term(f, word) for f in fields])`` (see
    `query.use_word_terms`) when the searcher's weighting is
    `scoring.TrueBM25F`: its score in a post is ONE saturated number for
    the word, `scoring.WordStats.impacts`, which is exactly the impact the
    exporter writes for (word, post). Under any other weighting it behaves
    as the Or of field terms it replaced.
    """

    def __init__(self, text: str, fields: tuple[str, ...], boost: float = 1.0):
        self.text = text
        self.fields = tuple(fields)
        self.boost = boost

    def __eq__(self, other):
        return (
            type(other) is type(self)
            and self.text == other.text
            and self.fields == other.fields
            and self.boost == other.boost
        )

    def __hash__(self):
        return hash((type(self).__name__, self.text, self.fields, self.boost))

    def __repr__(self):
        return f"WordTerm({self.text!r}, {self.fields!r})"

    def __str__(self):
        return "(" + " OR ".join(f"{f}:{self.text}" for f in self.fields) + ")"

    def as_or(self) -> Q.Query:
        return Q.Or([Q.Term(f, self.text, boost=self.boost) for f in self.fields])

    def is_leaf(self) -> bool:
        return False

    def children(self):
        return iter(self.as_or().subqueries)

    def leaves(self):
        return iter(self.as_or().subqueries)

    def iter_all_terms(self, phrases=True):
        for f in self.fields:
            yield f, self.text

    def expanded_terms(self, ixreader, phrases=True):
        return self.iter_all_terms()

    def existing_terms(self, ixreader, phrases=True, expand=False):
        return {(f, self.text) for f in self.fields if (f, self.text) in ixreader}

    def normalize(self):
        return self

    def estimate_size(self, ixreader):
        return sum(ixreader.doc_frequency(f, self.text) for f in self.fields)

    def matcher(self, searcher, context=None):
        weighting = searcher.weighting
        if not getattr(weighting, "true_bm25f", False):
            return self.as_or().matcher(searcher, context)
        from .scoring import WordStats

        stats = WordStats.of(searcher, weighting)
        impacts = stats.impacts(searcher, self.text, self.fields)
        reader = searcher.reader()
        ids = sorted(d for d in impacts if not reader.is_deleted(d))
        if not ids:
            return NullMatcher()
        scores = [impacts[d] * self.boost for d in ids]
        return _ArrayMatcher(ids, scores)


def use_word_terms(q: Q.Query) -> Q.Query:
    """``q`` with every plain word (the parser's Or of one term over text
    fields, or ``title:word``) made a `coord.WordTerm`, which true BM25F
    scores as one number per (word, post). Changes the tree in place."""
    word = _word_term(q)
    if word is not None:
        return word
    if isinstance(q, (Q.BinaryQuery,)):
        q.a, q.b = use_word_terms(q.a), use_word_terms(q.b)
        q.subqueries = (q.a, q.b)
    elif isinstance(q, Q.CompoundQuery):
        q.subqueries = [use_word_terms(s) for s in q.subqueries]
    elif isinstance(q, Q.WrappingQuery):
        q.child = use_word_terms(q.child)
    return q


def _word_term(q: Q.Query) -> WordTerm | None:
    if type(q) is Q.Term and q.fieldname in TEXT_FIELD_NAMES:
        return WordTerm(q.text, (q.fieldname,), boost=q.boost)
    if type(q) is Q.Or and q.subqueries:
        subs = q.subqueries
        text = getattr(subs[0], "text", None)
        if all(
            type(t) is Q.Term
            and t.text == text
            and t.fieldname in TEXT_FIELD_NAMES
            and t.boost == 1.0
            for t in subs
        ):
            return WordTerm(text, tuple(t.fieldname for t in subs), boost=q.boost)
    return None
