"""Coordinated OR: how the words typed side by side are scored together.

Ranking contract (the JavaScript client mirrors it; all arithmetic is IEEE
double, in exactly the order written, ``quantize(x) = floor(x * SCORE_SCALE
+ 0.5) / SCORE_SCALE``, so every score is a multiple of 1/SCORE_SCALE and a
client doing the same operations gets the same bits):

1. A term's *impact* in a post is the sum over the text fields of the
   quantised, weighted BM25 field score (`scoring.WeightedBM25F`).
2. A *clause* is one typed word (or ``title:word``, a prefix, a fuzzy word, a
   phrase, a parenthesised group). Its score is the sum of the impacts of
   its terms in the post (a prefix or fuzzy word: every index term it
   expands to; ``k8s/helm``: both terms). It *matches* a post when any of its
   terms has a posting there (even one whose impact rounds to 0).
3. Clauses side by side form one group of ``n`` clauses: stop words dropped,
   duplicates merged (``QUERY_TF`` off), filters (tag:, kind:, source:,
   date:) and exclusions (-word, NOT) taken out; parentheses around plain
   words do not make a group of their own: ``(a b) c`` is ``a b c``.
4. ``n == 1``: the score is the clause score. ``n >= 2``: a post matching
   ``m`` clauses with clause scores summing to ``S`` scores
   ``quantize(S * (1 + COORD * m / n))``; for the top-level group, posts
   with ``m == n`` sort above all others (ALL_WORDS_TIER; the score shown
   does not include it).
5. Explicit ``AND`` sums its parts; explicit ``OR`` sums the parts that
   match, with no coordination (a group inside an explicit OR is flattened
   into it); ``+word`` adds the required and the optional parts; ``NOT``
   parts and filters add nothing. A filter inside an explicit OR
   (``tag:x OR flux``) is a term worth 1.0 where it matches.
6. Equal scores are ordered by path.

Not reproducible from per-term impacts: phrases (``"service mesh"`` needs
positions; its score is Whoosh's phrase score in each field).
"""

from __future__ import annotations

import math

from whoosh import query as Q
from whoosh.matching import Matcher, NullMatcher

from searchkit.schema import ALL_WORDS_TIER, COORD, QUERY_TF

from .scoring import quantize
from .wordterm import SortedIdsMatcher, WordTerm


class CoordMatcher(SortedIdsMatcher):
    """Union of clause matchers; scores ``quantize(S * (1 + coord * m / n))``.

    ``m`` counts the clauses matching the current post, ``n`` all clauses.
    Unlike Whoosh's ``CoordMatcher`` (which counts field-level term matchers,
    so ``n`` depends on which fields happen to hold a word) it counts query
    words, which a client that only has per-word impacts can reproduce.

    Ranking sorts on the score, so every matching post is scored anyway: the
    children's postings are read once, up front, into arrays (on Cranfield
    this was 5x faster than stepping a union of matchers post by post).
    """

    def __init__(
        self, children: list[tuple[int, int, Matcher]], n: int, coord: float, tier: bool = False
    ):
        """``children``: (clause number, times typed, matcher). With ``tier``,
        posts matching all ``n`` clauses get ALL_WORDS_TIER added, so they
        sort above every other post (`search` takes it off for display)."""
        self.tier = tier
        acc: dict[int, list] = {}
        for i, times, m in children:
            bit = 1 << i
            while m.is_active():
                d = m.id()
                e = acc.get(d)
                # `times` is an integer (qtf) or, in a long query, a float
                # weight: quantised, so sums stay exact in any order.
                score = m.score() * times
                if type(times) is float:
                    score = quantize(score)
                if e is None:
                    acc[d] = [score, bit]
                else:
                    e[0] += score  # exact: field scores are multiples of 1/SCORE_SCALE
                    e[1] |= bit
                m.next()
        self._ids = sorted(acc)
        self._data = [acc[d] for d in self._ids]
        self._n = n
        self._coord = coord
        self._pos = 0

    def term_matchers(self):
        return iter(())

    def matching_terms(self, id=None):
        # Not recorded per post: snippets take their words from the query
        # (`search.Searcher._snippet_words`), so nothing here asks for them.
        return iter(())

    def weight(self) -> float:
        return self.score()

    def score(self) -> float:
        total, mask = self._data[self._pos]
        matched = mask.bit_count()
        score = quantize(total * (1 + self._coord * matched / self._n))
        if self.tier and matched == self._n:
            score += ALL_WORDS_TIER
        return score


class WordsOr(Q.Or):
    """The implicit group of words typed side by side (coordinated OR)."""

    JOINT = " ~OR "
    QTF = QUERY_TF

    def __init__(
        self, subqueries, boost=1.0, minmatch=0, scale=None, coord=COORD, counts=None, qtf=None
    ):
        super().__init__(subqueries, boost=boost)
        self.coord = coord
        self.qtf = self.QTF if qtf is None else qtf
        self.tier = False  # set on the top-level group only (`query._split`)
        # How often each clause was typed; with `qtf` a word typed twice counts twice.
        self.counts = list(counts) if counts else [1] * len(self.subqueries)

    def normalize(self):
        subs: list[Q.Query] = []
        counts: list[int] = []

        def add(q, count):
            if q in subs:
                counts[subs.index(q)] += count
            else:
                subs.append(q)
                counts.append(count)

        for s, count in zip(self.subqueries, self.counts, strict=True):
            s = s.normalize()
            if s is Q.NullQuery:
                continue
            if type(s) is WordsOr:
                for ss, c in zip(s.subqueries, s.counts, strict=True):
                    add(ss, c * count)
            else:
                add(s, count)
        if not subs:
            return Q.NullQuery
        if len(subs) == 1 and (counts[0] == 1 or not self.qtf):
            return subs[0]
        return self.with_clauses(subs, counts)

    def with_clauses(self, subs, counts) -> WordsOr:
        return WordsOr(subs, self.boost, coord=self.coord, counts=counts, qtf=self.qtf)

    def _matcher(self, subs, searcher, context):
        kids = []
        weights = self._long_query_weights(subs, searcher)
        for i, (q, count) in enumerate(zip(subs, self.counts, strict=True)):
            # A plain OR inside a clause (a word over the text fields) is
            # flattened into the clause's children; its boost must be 1.
            parts = q.subqueries if type(q) is Q.Or and q.boost == 1.0 else [q]
            times = count if self.qtf else 1
            if weights.get(i) is not None:
                times = times * weights[i]  # a float: CoordMatcher quantises
            kids += [(i, times, p.matcher(searcher, context)) for p in parts]
        return CoordMatcher(kids, len(subs), self.coord, self.tier)

    def _long_query_weights(self, subs, searcher) -> dict[int, float]:
        """Clause number -> sqrt(idf / mean idf) for the plain words of a long
        query (schema.LONG_QUERY_IDF), else {}. Only `WordTerm` clauses over
        every text field that a published post holds take part: one matcher
        each, so the weight multiplies exactly one number per post, and the
        words the export holds, so the JavaScript client finds the same ones
        (`Index._score` in searchkit.js)."""
        from searchkit import schema

        if not schema.LONG_QUERY_IDF or len(subs) < schema.LONG_QUERY_WORDS:
            return {}
        weighting = searcher.weighting
        if not getattr(weighting, "true_bm25f", False):
            return {}
        from .scoring import WordStats

        stats = WordStats.of(searcher, weighting)
        idfs = {}
        for i, q in enumerate(subs):
            if (
                type(q) is WordTerm
                and q.boost == 1.0
                and set(q.fields) == set(stats.fields)
                and stats.published(q.text)
            ):
                idfs[i] = quantize(stats.idf(q.text))
        mean = sum(idfs.values()) / len(idfs) if idfs else 0.0  # in clause order
        if mean == 0.0:  # no such word, or only words in every post
            return {}
        return {i: math.sqrt(idf / mean) for i, idf in idfs.items()}

    def matcher(self, searcher, context=None):
        if not self.subqueries:
            return NullMatcher()
        return self._matcher(self.subqueries, searcher, context)
