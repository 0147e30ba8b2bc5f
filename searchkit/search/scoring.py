"""BM25F with searchkit's field weights, and quantised so every client ranks alike."""

from __future__ import annotations

import math

from whoosh import scoring

from searchkit.schema import BM25_B, BM25_K1, FIELD_WEIGHTS, SCORE_SCALE
from searchkit.whoosh_internals import field_length_reader


def quantize(score: float) -> float:
    """Round a score to a multiple of 1/SCORE_SCALE (half up)."""
    return math.floor(score * SCORE_SCALE + 0.5) / SCORE_SCALE


class _WeightedScorer(scoring.BM25FScorer):
    def __init__(self, searcher, fieldname, text, B, K1, weight, qf=1):
        self.field_weight = weight
        super().__init__(searcher, fieldname, text, B, K1, qf=qf)
        self._length = field_length_reader(searcher, fieldname) or self.dfl

    def score(self, matcher):
        return self._score(matcher.weight(), self._length(matcher.id()))

    def _score(self, weight, length):
        return quantize(self.field_weight * super()._score(weight, length))


class WeightedBM25F(scoring.BM25F):
    """BM25F where each full-text field's score is scaled by its schema weight.

    The weight is applied inside the scorer (not as a query boost) so that a
    term's score in a post is one number per field that the exporter can
    precompute with this same class.
    """

    def __init__(self, B: float = BM25_B, K1: float = BM25_K1, weights=None):
        super().__init__(B=B, K1=K1)
        self.weights = dict(FIELD_WEIGHTS if weights is None else weights)

    def scorer(self, searcher, fieldname, text, qf=1):
        if fieldname not in self.weights or not searcher.schema[fieldname].scorable:
            return super().scorer(searcher, fieldname, text, qf=qf)
        B = self._field_B.get(fieldname, self.B)
        return _WeightedScorer(
            searcher, fieldname, text, B, self.K1, self.weights[fieldname], qf=qf
        )


# ---------------------------------------------------------------- true BM25F
#
# Robertson & Zaragoza's BM25F (Lucene's CombinedFieldQuery): a word's
# frequencies in the text fields are each normalised by their field's length,
# weighted and summed into one pseudo-frequency, which is saturated ONCE:
#
#     tf~    = sum_f  w_f * tf_f / (1 - B + B * len_f / avglen_f)
#     impact = quantize(idf * tf~ * (K1 + 1) / (K1 + tf~))
#     idf    = log(1 + (N - df + 0.5) / (df + 0.5))
#
# with df the number of live posts holding the word in ANY text field, N the
# number of live posts. `WeightedBM25F` above instead saturates each field on
# its own (with that field's own df) and sums the field scores: a word in the
# title and the summary then scores nearly twice a word in one of them, and
# a word repeated in a long summary keeps gaining. Measured on the four test
# collections (benchmarks/ir_grid.py, ir_eval.py), one saturation won on the
# mean by about +0.03 nDCG@10 at the best settings of each.
#
# Every term of the formula depends on (word, post) only, so the exporter
# still writes one precomputed integer per (word, post) and the JavaScript
# client, which only sums impacts, needs no change for it.


def bm25f_impact(idf: float, parts, K1: float) -> float:
    """One word's impact in one post, quantised once.

    ``parts``: (weight, B, tf, length, avglen) for each text field holding
    the word. The sum runs in the order given (the schema's field order), so
    the exporter and the searcher add the same floats in the same order.
    """
    pseudo = 0.0
    for weight, b, tf, length, avglen in parts:
        pseudo += weight * tf / (1.0 - b + b * length / avglen)
    return quantize(idf * pseudo * (K1 + 1.0) / (K1 + pseudo))


def robertson_idf(df: int, n: int) -> float:
    """BM25's idf as Lucene computes it (never negative)."""
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


class WordStats:
    """Collection statistics of the true-BM25F scorer, from one searcher.

    Computed on the top-level searcher (all segments) and cached there, so
    every segment's matcher and the exporter see the same N, avglen and df.
    Deleted posts (an index updated in place keeps them until a merge) are
    left out of all three; Whoosh's own statistics count them.
    """

    def __init__(self, searcher, fields, weights, B, K1):
        top = searcher.get_parent()
        reader = top.reader()
        self.fields = tuple(fields)
        self.weights = weights
        self.B, self.K1 = B, K1
        self.n = top.doc_count() or 1
        self.avglen = {f: _avglen(top, f) for f in self.fields}
        self._reader, self._top = reader, top
        self._df: dict[str, tuple[int, bool]] = {}
        self._drafts: set[int] | None = None

    @classmethod
    def of(cls, searcher, weighting) -> WordStats:
        top = searcher.get_parent()
        key = ("_searchkit_wordstats", id(weighting))
        stats = top.__dict__.get(key)
        if stats is None:
            stats = top.__dict__[key] = cls(
                top, weighting.fields, weighting.weights, weighting.B, weighting.K1
            )
        return stats

    def df(self, text: str) -> int:
        """Live posts holding ``text`` in any text field."""
        return self._count(text)[0]

    def published(self, text: str) -> bool:
        """Whether a live post that is not a draft holds ``text`` (the words
        the export writes, so the rules a client mirrors can test this)."""
        return self._count(text)[1]

    def _count(self, text: str) -> tuple[int, bool]:
        found = self._df.get(text)
        if found is None:
            reader, docs = self._reader, set()
            for f in self.fields:
                if (f, text) in reader:
                    docs.update(reader.postings(f, text).all_ids())
            if reader.has_deletions():
                docs = {d for d in docs if not reader.is_deleted(d)}
            if self._drafts is None:
                self._drafts = _drafts(self._top)
            found = self._df[text] = (len(docs), bool(docs - self._drafts))
        return found

    def idf(self, text: str) -> float:
        return robertson_idf(self.df(text), self.n)

    def impacts(self, searcher, text: str, fields=None) -> dict[int, float]:
        """docnum (in ``searcher``'s segment) -> impact of ``text``, over
        ``fields`` (default: all text fields)."""
        fields = self.fields if fields is None else tuple(f for f in self.fields if f in fields)
        reader = searcher.reader()
        parts: dict[int, list] = {}
        for f in fields:
            if (f, text) not in reader:
                continue
            length = field_length_reader(searcher, f) or (
                lambda d, f=f: searcher.doc_field_length(d, f, 1)
            )
            m = reader.postings(f, text)
            w, b, avg = self.weights[f], self.B, self.avglen[f]
            while m.is_active():
                d = m.id()
                parts.setdefault(d, []).append((w, b, m.weight(), length(d), avg))
                m.next()
        idf = self.idf(text)
        return {d: bm25f_impact(idf, p, self.K1) for d, p in parts.items()}


def _avglen(top, fieldname: str) -> float:
    """Mean length of ``fieldname``: over the posts that have it (Lucene's
    avgdl; schema.BM25F_AVG_OVER_FIELD), else over all posts (Whoosh's)."""
    from searchkit.schema import BM25F_AVG_OVER_FIELD
    from searchkit.whoosh_internals import posts_with_field

    total = top.field_length(fieldname)
    posts = posts_with_field(top, fieldname) if BM25F_AVG_OVER_FIELD else top.doc_count_all()
    return total / posts if total and posts else 1.0


def _drafts(searcher) -> set[int]:
    """Docnums of the draft posts (the `draft` field, schema.py)."""
    if "draft" not in searcher.schema:
        return set()
    from whoosh import query as Q

    return set(searcher.docs_for_query(Q.Term("draft", True)))


class TrueBM25F(WeightedBM25F):
    """The weighting that selects true BM25F for plain words (`coord.WordTerm`).

    Whoosh still calls `scorer` for anything that is not a plain word (a
    phrase, a filter); those keep `WeightedBM25F`'s per-field scores.
    """

    true_bm25f = True

    def __init__(self, B: float | None = None, K1: float | None = None, weights=None):
        from searchkit.schema import BM25F_B, BM25F_K1, BM25F_WEIGHTS

        super().__init__(
            B=BM25F_B if B is None else B,
            K1=BM25F_K1 if K1 is None else K1,
            weights=BM25F_WEIGHTS if weights is None else weights,
        )
        self.fields = tuple(f for f in self.weights if f in _text_fields())


def _text_fields():
    from searchkit.schema import TEXT_FIELD_NAMES

    return TEXT_FIELD_NAMES


def default_weighting():
    """The weighting `searchkit query` and the exporter use (schema.SCORER)."""
    from searchkit.schema import SCORER

    return TrueBM25F() if SCORER == "bm25f" else WeightedBM25F()
