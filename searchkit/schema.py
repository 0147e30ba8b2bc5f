"""The one place that defines searchkit's fields, their analysis and their weights.

The indexer, the searcher, the tagger's text and the exporter (and through
the export, the JavaScript client) all read the definitions here; none of
them repeats a field name list or a weight.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from whoosh import fields, formats
from whoosh.analysis import Filter, RegexTokenizer, Token
from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.analysis.filters import STOP_WORDS
from whoosh.lang.porter import stem
from whoosh.support.charset import accent_map

# Bump when a field, an analyser or a weight changes: an index built with
# another version is rebuilt automatically (with a one-line notice).
# 5: true BM25F, constants chosen on four collections (impacts change);
# 4: slug and local date stored (URLs at query time); 3: text, not markup
# (shortcodes, Liquid, Markdown, HTML); 2: tuned weights
SCHEMA_VERSION = 5

# Whoosh's default token pattern: words, with inner dots kept (v1.33, k8s.io).
TOKEN_PATTERN = r"\w+(\.?\w+)*"
# The same matches without the capturing group, so `findall` returns whole words.
_WORDS = re.compile(r"\w+(?:\.?\w+)*")
STOP_MINSIZE = 2
STOPWORDS: frozenset[str] = frozenset(STOP_WORDS)


@dataclass(frozen=True)
class TextField:
    """A full-text field: its name in the index and its weight in ranking."""

    name: str
    weight: float
    stored: bool = True


# The full-text fields, in the order every scorer adds them, and their
# weights: the one set every part reads (ranking, phrases, related posts, the
# export, the tag model's field list). True BM25F multiplies each field's
# length-normalised frequency by its weight before the one saturation
# (BM25F_B, BM25F_K1 below); chosen on the MEAN nDCG@10 over CACM, CISI,
# Cranfield and MEDLINE (title -> title, text -> summary): see BM25F_B.
# tldr and body keep their places around the summary (no test collection
# has them): tldr between summary and title, body at a third of summary.
# Until 2026-12-01 a second set (2 / 1.75 / 1.5 / 0.5, the per-field
# scorer's, tuned on Cranfield alone) still chose related posts' key words:
# with either set, 0.762 / 0.761 of the top 5 related posts shared a tag
# with the post over four tag corpora (benchmarks/eval_related.py).
TEXT_FIELDS: tuple[TextField, ...] = (
    TextField("title", 3.0),
    TextField("tldr", 2.0),
    TextField("summary", 1.0),
    TextField("body", 0.33),
)
FIELD_WEIGHTS: dict[str, float] = {f.name: f.weight for f in TEXT_FIELDS}
TEXT_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in TEXT_FIELDS)

# The front-matter keys each field is read from (lower case; the first key with
# a value wins). A site's configuration changes `tags` (its taxonomy) and
# searchkit.toml's [fields] any of them. `description` is Hugo's usual summary.
FRONT_MATTER_KEYS: dict[str, tuple[str, ...]] = {
    "title": ("title",),
    "tldr": ("tldr",),
    "summary": ("summary", "description"),
    "tags": ("tags",),
    "source": ("source",),
    "post_kind": ("post_kind",),
    "url": ("url",),
    "external_url": ("external_url",),
    "date": ("date",),
    "draft": ("draft",),
}

# Where a plain excerpt of a post comes from: the first of these that is not empty.
EXCERPT_FIELDS: tuple[str, ...] = ("tldr", "summary", "body")
# Where a highlighted snippet comes from: the first of these holding a query word
# (the summary first: it is the longest text written to be read out of context).
SNIPPET_FIELDS: tuple[str, ...] = ("summary", "tldr", "body", "title")


def indexed_texts(texts: dict[str, str]) -> dict[str, str]:
    """Each full-text field's text as the index analyses it.

    The tldr is usually the first sentences of the summary, so the summary is
    indexed without that prefix: the text is analysed once, in its stronger
    field (its stored value, shown in snippets, stays whole).
    """
    out = dict(texts)
    tldr, summary = out.get("tldr") or "", out.get("summary") or ""
    if tldr and summary.startswith(tldr):
        out["summary"] = summary[len(tldr) :]
    return out


# The per-field scorer's constants (SCORER "perfield", Whoosh's BM25F with
# TEXT_FIELDS' weights; B and K1 tuned on Cranfield alone); not the shipped
# scorer, kept to compare against (benchmarks/ir_grid.py).
BM25_B = 0.9
BM25_K1 = 1.6

# How a word's fields make its score: "bm25f" (true BM25F, one saturation
# per word over all fields: scoring.TrueBM25F, wordterm.WordTerm) or
# "perfield" (Whoosh's BM25F: each field saturated on its own, weighted by
# TEXT_FIELDS and summed: scoring.WeightedBM25F, with BM25_B and BM25_K1).
# Chosen on the mean nDCG@10 of four collections (Cranfield, CISI, CACM,
# MEDLINE; benchmarks/ir_eval.py and ir_grid.py): see BM25F_* below.
SCORER = "bm25f"
# True BM25F constants (with TEXT_FIELDS' weights). Field weights multiply
# the length-normalised frequencies before the one saturation, so only
# their ratios and their scale against K1 matter. Chosen on the MEAN nDCG@10
# over CACM, CISI, Cranfield and MEDLINE, 2026-12-01, benchmarks/ir_grid.py
# (an exact emulation, checked against the real path) then
# benchmarks/ir_eval.py: the grid title 1/1.5/2/3/4 x B 0.5/0.6/0.75/0.9/1.0
# x K1 0.9..3.0 x COORD 0/0.25/0.5 x QUERY_TF x tier, Robertson vs Whoosh
# idf, per-field vs true BM25F. The top is flat (mean 0.4955-0.4967 for
# title 3-4, B 0.75-0.9, K1 2-3, COORD 0-0.5, QUERY_TF on); per-field Whoosh
# BM25F peaked at 0.487, Whoosh's idf cost ~0.01, QUERY_TF off ~0.02.
# Means (ir_eval.py, docs/ranking.md): before (per-field, title 2 / summary
# 1.5, B 0.9, K1 1.6, COORD 0.5, no QUERY_TF) 0.4489; this 0.4976, with
# LONG_QUERY_IDF 0.5010, and BM25F_AVG_OVER_FIELD 0.5046; reference 0.4908.
BM25F_B = 0.75
BM25F_K1 = 3.0
# A field's mean length (avglen_f) over the posts that HAVE the field, as
# Lucene computes avgdl, not over all posts (Whoosh's): half of CACM's posts
# are a title only, and counting them as empty summaries made every real
# summary look long. Mean nDCG@10 (ir_grid.py --part title, then ir_eval.py)
# 0.5010 -> 0.5046, CACM 0.4879 -> 0.5019 (above the reference's 0.4995);
# the other collections, where nearly every post has both fields, unchanged.
# Tried and not adopted: the title's own B (0-1.0: -0.007..+0.001), one
# length for the weighted fields together (-0.007..-0.013).
BM25F_AVG_OVER_FIELD = True

# Every field's score contribution is rounded to a multiple of 1/SCORE_SCALE.
# Sums of such numbers are exact in binary floating point in any order, so
# the JavaScript client, which adds the same exported integers, ranks exactly
# like `searchkit query`, ties included (ties are broken by path).
SCORE_SCALE = 1024

# Coordination: words typed side by side are OR-ed, and a post matching m
# of the n words scores S * (1 + COORD * m / n) (rule in search/coord.py).
# Mean nDCG@10 of four collections (docs/ranking.md), true BM25F at title 3,
# B 0.75, K1 3: COORD 0 0.4955, 0.25 0.4967, 0.5 0.4960.
COORD = 0.25
# A word typed twice counting twice (as Lucene does). On Cranfield alone, at
# the per-field scorer, it cost nDCG@10 (0.384 -> 0.379); on the mean of four
# collections with true BM25F it is worth ~+0.02 (CISI 0.30 -> 0.42 with the
# rest: CISI queries are paragraphs that repeat their subject): on.
QUERY_TF = True
# Long queries (LONG_QUERY_WORDS clauses or more, e.g. a pasted paragraph):
# each plain word's clause score is multiplied by sqrt(idf / mean idf of the
# query's words a published post holds), idf quantised like an impact, each
# product quantised (coord.WordsOr). Rare words then count more than common
# ones a second time, as in a weighted query. Mean nDCG@10 of four
# collections +0.003 (CACM +0.003, CISI +0.005, Cranfield +0.001, MEDLINE
# +0.004); exponent 1.0 lost 0.005; minimum-should-match 20 % of the words
# lost 0.04, dropping words in more than 20 % of posts lost 0.007; RM3 (10
# posts, 20 words, 0.7 original) won 0.005 on the mean but lost 0.008 on CACM
# and took 3-5x the query time. The JavaScript client mirrors it exactly
# (each term's quantised idf is exported: docs/export-format.md), so on.
LONG_QUERY_WORDS = 10
LONG_QUERY_IDF = True
# Posts matching every word typed rank above all others (then by score), so
# "most of the words" never outranks "all of them". Cranfield (3-28 words a
# query, rarely all matched): nDCG@10 0.3841 -> 0.3840, R@100 unchanged; kept
# in the four-collection grid (docs/ranking.md).
# The tier is added to the sort score as 2**20 (exact: scores stay dyadic
# and far below it) and taken off again for display.
ALL_WORDS_FIRST = True
ALL_WORDS_TIER = float(2**20)

# Short names people type in queries, mapped to index fields.
FIELD_ALIASES: dict[str, str] = {"tag": "tags", "kind": "post_kind"}
# Fields that restrict the posts without ranking them, and those counted by --facets.
FILTER_FIELDS: tuple[str, ...] = ("tags", "source", "post_kind", "date")
FACET_FIELDS: tuple[str, ...] = ("tags", "source")
# Characters of a snippet or excerpt, in the CLI and the browser alike.
SNIPPET_CHARS = 160


class FoldStopStemFilter(Filter):
    """Whoosh's ``LowercaseFilter | CharsetFilter(accent_map) | StopFilter |
    StemFilter`` as one step, with every word's result cached.

    Same output token for token (positions renumbered over stop words, as
    StopFilter does), but each distinct word is folded and stemmed once: on
    the linkblog corpus this took a full index build from 12.2 s to 10.5 s.
    """

    def __init__(self, stoplist=STOPWORDS, minsize: int = STOP_MINSIZE):
        self.stops = frozenset(stoplist)
        self.min = minsize
        self._cache: dict[str, str | None] = {}

    def __getstate__(self):
        return {"stops": self.stops, "min": self.min}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._cache = {}

    def __eq__(self, other):
        return type(other) is type(self) and self.__getstate__() == other.__getstate__()

    def fold(self, word: str) -> str:
        return word.lower().translate(accent_map)

    def term(self, word: str) -> str | None:
        """The indexed term for one token, or None for a stop word."""
        folded = self.fold(word)
        if len(folded) < self.min or folded in self.stops:
            return None
        return stem(folded)

    def __call__(self, tokens):
        cache = self._cache
        if len(cache) > 1_000_000:
            cache.clear()
        pos = None
        for t in tokens:
            word = t.text
            try:
                term = cache[word]
            except KeyError:
                term = cache[word] = self.term(word)
            if term is None:
                if not t.removestops:
                    t.text = self.fold(word)
                    t.stopped = True
                    yield t
                continue
            if t.positions:
                if pos is None:
                    pos = t.pos
                else:
                    pos += 1
                    t.pos = pos
            t.text = term
            t.stopped = False
            yield t

    def positions(self, words: list[str]) -> dict[str, list[int]]:
        """Each term of the tokens ``words`` with its positions, as ``__call__``
        numbers them in index mode (stop words removed, positions renumbered).

        The indexer's fast path: no Token object per word.
        """
        cache = self._cache
        if len(cache) > 1_000_000:
            cache.clear()
        out: dict[str, list[int]] = {}
        pos = -1
        for i, word in enumerate(words):
            try:
                term = cache[word]
            except KeyError:
                term = cache[word] = self.term(word)
            if term is None:
                continue
            # The first kept token keeps its position, the next ones follow it.
            pos = i if pos < 0 else pos + 1
            try:
                out[term].append(pos)
            except KeyError:
                out[term] = [pos]
        return out


def analyzer():
    """The analysis chain every full-text field uses.

    Tokenise, lower-case, fold accents (so ``cafe`` finds ``café``), drop
    English stop words, Porter-stem. The JavaScript client mirrors this chain.
    """
    return RegexTokenizer(TOKEN_PATTERN) | FoldStopStemFilter()


def reference_analyzer():
    """The same chain from Whoosh's stock filters (tests compare the two)."""
    from whoosh.analysis import CharsetFilter, LowercaseFilter, StemFilter, StopFilter

    return (
        RegexTokenizer(TOKEN_PATTERN)
        | LowercaseFilter()
        | CharsetFilter(accent_map)
        | StopFilter(stoplist=STOPWORDS, minsize=STOP_MINSIZE)
        | StemFilter(cachesize=-1)
    )


def analyze(text: str) -> list[str]:
    """The terms ``text`` is indexed under (for tests, tagging and export)."""
    return [t.text for t in _ANALYZER(text)]


_ANALYZER = analyzer()


def _fast_filter(ana) -> FoldStopStemFilter | None:
    """The filter of ``ana`` if ``ana`` is exactly `analyzer()`'s chain, else None."""
    items = getattr(ana, "items", None)
    if (
        type(ana) is CompositeAnalyzer
        and len(items) == 2
        and type(items[0]) is RegexTokenizer
        and items[0].expression.pattern == TOKEN_PATTERN
        and not items[0].gaps
        and type(items[1]) is FoldStopStemFilter
    ):
        return items[1]
    return None


def marked_tokens(ana, text: str, words: frozenset[str]) -> Iterator[Token]:
    """The tokens of ``text`` (chars set, stop words kept) marked ``matched``
    where their term is in ``words``: what Whoosh's highlighter reads.

    For `analyzer()`'s chain, the same marks without running the chain: one
    Token object, reused (as Whoosh's tokenizers do), and a word is stemmed
    only if its first letter starts some term in ``words`` (Porter stemming
    never changes the first letter; checked on 37,821 words of three corpora).
    The tokens of a cold query's 10 snippets took ~9 ms instead of ~14 (and
    the chain's ~25 under a profiler). Unmatched tokens' text is not their
    term then: the highlighter only reads their offsets.
    """
    flt = _fast_filter(ana)
    if flt is None:
        for t in ana(text, positions=True, chars=True, mode="index", removestops=False):
            t.matched = t.text in words
            yield t
        return
    firsts = {w[:1] for w in words}
    cache, fold = flt._cache, flt.fold
    t = Token(positions=True, chars=True, removestops=False, mode="index")
    for pos, m in enumerate(_WORDS.finditer(text)):
        word = m.group()
        t.pos = pos
        t.startchar, t.endchar = m.span()
        c = word[0]
        if (c.lower() if c < "\x80" else fold(word)[:1]) not in firsts:
            t.text = word
            t.matched = False
        else:
            try:
                term = cache[word]
            except KeyError:
                term = cache[word] = flt.term(word)
            t.text = fold(word) if term is None else term  # a stop word: folded
            t.matched = t.text in words
        yield t


class SearchText(fields.TEXT):
    """Whoosh's TEXT field, with a faster way to index a string through `analyzer()`.

    ``index`` yields exactly the postings TEXT yields (terms, frequencies,
    weights, encoded positions) but skips the Token object Whoosh moves
    through the chain for every word: a full build of the linkblog corpus
    (1,638 posts) went from 11.9 to 9.5 s CPU. Any other analyser or value
    takes TEXT's path.
    """

    def index(self, value, **kwargs):
        fmt = self.format
        flt = _fast_filter(self.analyzer)
        if (
            flt is None
            or not isinstance(value, str)
            or kwargs.get("mode", "index") != "index"
            or type(fmt) is not formats.Positions
            or set(kwargs) - {"mode"}
        ):
            yield from super().index(value, **kwargs)
            return
        boost = fmt.field_boost
        encode = fmt.encode
        # Most terms occur once in a field: their encoded positions (Whoosh's
        # pickle of the deltas, the same bytes every time) are cached by position.
        one = _ONE_POSITION
        for term, poses in flt.positions(_WORDS.findall(value)).items():
            if len(poses) == 1 and poses[0] < 4096:  # bounded: a huge post adds no more
                try:
                    value = one[poses[0]]
                except KeyError:
                    value = one[poses[0]] = encode(poses)
                yield term.encode("utf-8"), 1, boost * 1.0, value
            else:
                yield term.encode("utf-8"), len(poses), len(poses) * 1.0 * boost, encode(poses)


# Encoded positions of a term found once, by position (`SearchText.index`).
_ONE_POSITION: dict[int, bytes] = {}


def build_schema() -> fields.Schema:
    """The Whoosh schema for a searchkit index."""
    ana = analyzer()
    text_fields = {
        f.name: SearchText(analyzer=ana, stored=f.stored, phrase=True) for f in TEXT_FIELDS
    }
    return fields.Schema(
        path=fields.ID(stored=True, unique=True, sortable=True),
        tags=fields.KEYWORD(stored=True, commas=True, lowercase=True, scorable=False),
        source=fields.KEYWORD(stored=True, commas=True, lowercase=True),
        post_kind=fields.KEYWORD(stored=True, commas=True, lowercase=True),
        date=fields.DATETIME(stored=True, sortable=True),
        draft=fields.BOOLEAN(stored=True),
        url=fields.STORED(),
        external_url=fields.STORED(),
        # What a permalink is made of beyond the fields above (site/urls.py),
        # so a query gives the export's URL without reading the posts again.
        slug=fields.STORED(),
        local_date=fields.STORED(),
        fingerprint=fields.STORED(),
        **text_fields,
    )
