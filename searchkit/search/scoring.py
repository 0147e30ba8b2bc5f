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
