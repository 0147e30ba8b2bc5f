"""BM25F with searchkit's field weights, and quantised so every client ranks alike."""

from __future__ import annotations

import math

from whoosh import scoring

from searchkit.schema import BM25_B, BM25_K1, FIELD_WEIGHTS, SCORE_SCALE
from searchkit.whoosh_internals import field_length_bytes, field_length_reader, length_table


def quantize(score: float) -> float:
    """Round a score to a multiple of 1/SCORE_SCALE (half up)."""
    return math.floor(score * SCORE_SCALE + 0.5) / SCORE_SCALE


class _LiveStats:
    """Collection statistics as a rebuild of the index would have them.

    An incremental update deletes a changed post and adds it again; Whoosh
    keeps the deleted copy in its segment's statistics (post count, field
    lengths, document frequencies) until the segment is merged, so scores
    drifted from a rebuild's (``security``: 28.7676 against 28.8945, two
    posts swapped), and merging a segment costs about as much as indexing
    it (12 s for 1,638 posts). So the statistics leave deleted posts out:
    the post count is Whoosh's live count; a term's frequency counts its
    live postings in segments with deletions (others give Whoosh's count);
    and the average field length is taken over the live posts' lengths as
    the index stores them per post (one byte, Whoosh's own quantisation,
    the same lengths BM25 scores with): Whoosh's exact totals still hold
    the deleted posts, whose exact lengths are not kept anywhere.
    """

    def __init__(self, reader):
        self.reader = reader
        self.doc_count = reader.doc_count()
        self.leaves = []  # (leaf reader, its deleted docnums)
        for leaf, _ in reader.leaf_readers():
            gone = []
            if leaf.has_deletions():
                gone = [d for d in range(leaf.doc_count_all()) if leaf.is_deleted(d)]
            self.leaves.append((leaf, gone))
        self._avg: dict[str, float] = {}

    def avg_field_length(self, fieldname: str) -> float:
        if fieldname not in self._avg:
            total = 0
            for leaf, gone in self.leaves:
                total += _stored_length_total(leaf, fieldname, gone)
            self._avg[fieldname] = total / (self.doc_count or 1)
        return self._avg[fieldname]

    def doc_frequency(self, fieldname: str, text) -> int:
        n = self.reader.doc_frequency(fieldname, text)
        for leaf, gone in self.leaves:
            if gone and (fieldname, text) in leaf:
                n -= leaf.doc_frequency(fieldname, text)
                n += sum(1 for _ in leaf.postings(fieldname, text).all_ids())
        return n


def _stored_length_total(leaf, fieldname: str, gone: list[int]) -> int:
    """The sum of ``fieldname``'s per-post lengths in ``leaf``, deleted posts left out."""
    return _stored_lengths(leaf, fieldname, gone)[1]


def _stored_lengths(leaf, fieldname: str, gone: list[int]) -> tuple[int, int]:
    """(live posts with text in ``fieldname``, the sum of their lengths) in ``leaf``."""
    from collections import Counter

    raw = field_length_bytes(leaf, fieldname)
    if raw is None:  # not the codec we know: one call a post
        live = (d for d in range(leaf.doc_count_all()) if not leaf.is_deleted(d))
        lengths = [leaf.doc_field_length(d, fieldname, 0) or 0 for d in live]
        return sum(1 for n in lengths if n), sum(lengths)
    counts = Counter(raw)  # C speed: 10,000 posts in ~0.2 ms
    for d in gone:
        if d < len(raw):
            counts[raw[d]] -= 1
    table = length_table()
    with_field = sum(n for b, n in counts.items() if b)
    return with_field, sum(table[b] * n for b, n in counts.items())


def live_stats(searcher) -> _LiveStats:
    """`_LiveStats` of ``searcher``'s top-level reader (made once per reader)."""
    reader = searcher.get_parent().reader()
    cache = reader.__dict__
    if "_searchkit_live" not in cache:
        cache["_searchkit_live"] = _LiveStats(reader)
    return cache["_searchkit_live"]


class _WeightedScorer(scoring.BM25FScorer):
    def __init__(self, searcher, fieldname, text, B, K1, weight, qf=1):
        self.field_weight = weight
        super().__init__(searcher, fieldname, text, B, K1, qf=qf)
        self.avgfl = live_stats(searcher).avg_field_length(fieldname) or 1
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

    def idf(self, searcher, fieldname, text):
        live = live_stats(searcher)
        n = live.doc_frequency(fieldname, text)
        return math.log(live.doc_count / (n + 1)) + 1

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
    avgdl; schema.BM25F_AVG_OVER_FIELD), else over all posts (Whoosh's).

    From the per-post lengths the index stores, live posts only, so an index
    updated in place averages exactly as a rebuild does (Whoosh's exact
    totals still count deleted posts, whose exact lengths are kept nowhere).
    """
    from searchkit.schema import BM25F_AVG_OVER_FIELD

    live = live_stats(top)
    posts = total = 0
    for leaf, gone in live.leaves:
        n, t = _stored_lengths(leaf, fieldname, gone)
        posts, total = posts + n, total + t
    if not BM25F_AVG_OVER_FIELD:
        posts = live.doc_count
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
        from searchkit.schema import BM25F_B, BM25F_K1

        super().__init__(
            B=BM25F_B if B is None else B,
            K1=BM25F_K1 if K1 is None else K1,
            weights=FIELD_WEIGHTS if weights is None else weights,
        )
        self.fields = tuple(f for f in self.weights if f in _text_fields())


def _text_fields():
    from searchkit.schema import TEXT_FIELD_NAMES

    return TEXT_FIELD_NAMES


def default_weighting():
    """The weighting `searchkit query` and the exporter use (schema.SCORER)."""
    from searchkit.schema import SCORER

    return TrueBM25F() if SCORER == "bm25f" else WeightedBM25F()
