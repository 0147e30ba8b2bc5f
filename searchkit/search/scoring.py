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
    from collections import Counter

    raw = field_length_bytes(leaf, fieldname)
    if raw is None:  # not the codec we know: one call a post
        live = (d for d in range(leaf.doc_count_all()) if not leaf.is_deleted(d))
        return sum(leaf.doc_field_length(d, fieldname, 0) or 0 for d in live)
    counts = Counter(raw)  # C speed: 10,000 posts in ~0.2 ms
    for d in gone:
        if d < len(raw):
            counts[raw[d]] -= 1
    table = length_table()
    return sum(table[b] * n for b, n in counts.items())


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
