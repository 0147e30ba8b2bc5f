"""BM25F with searchkit's field weights, and quantised so every client ranks alike."""

from __future__ import annotations

import math

from whoosh import scoring

from searchkit.schema import BM25_B, BM25_K1, FIELD_WEIGHTS, SCORE_SCALE


def quantize(score: float) -> float:
    """Round a score to a multiple of 1/SCORE_SCALE (half up)."""
    return math.floor(score * SCORE_SCALE + 0.5) / SCORE_SCALE


class _WeightedScorer(scoring.BM25FScorer):
    def __init__(self, searcher, fieldname, text, B, K1, weight, qf=1):
        self.field_weight = weight
        super().__init__(searcher, fieldname, text, B, K1, qf=qf)
        self._length = _length_reader(searcher, fieldname) or self.dfl

    def score(self, matcher):
        return self._score(matcher.weight(), self._length(matcher.id()))

    def _score(self, weight, length):
        return quantize(self.field_weight * super()._score(weight, length))


def _length_reader(searcher, fieldname: str):
    """docnum -> length of ``fieldname`` in the searcher's segment, from one read.

    Whoosh reads each scored posting's length byte through five calls and a
    file seek; a one-word query matching half of 10,000 posts spent 40 % of
    its time there. This reads the segment's length column once (one byte a
    post, Whoosh's codec since 2.x) and decodes with Whoosh's own table. It
    reaches into the codec's reader, so on any surprise it returns None and
    the scorer keeps Whoosh's way.
    """
    try:
        reader = searcher.reader()
        cache = reader.__dict__.setdefault("_searchkit_lengths", {})
        if fieldname not in cache:
            from whoosh.codec.whoosh3 import LENGTHS_COLUMN
            from whoosh.util.numeric import byte_to_length

            col = reader._perdoc._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
            if col is None or col._fixedlen != 1:
                cache[fieldname] = None
            else:
                raw = col._dbfile.get(col._basepos, col._count)
                table = [byte_to_length(b) for b in range(256)]
                count = len(raw)
                # A post past the column's end (or with byte 0) has no text in
                # the field, so it has no posting there to score.
                cache[fieldname] = lambda docnum: table[raw[docnum]] if docnum < count else None
        return cache[fieldname]
    except Exception:
        return None


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
