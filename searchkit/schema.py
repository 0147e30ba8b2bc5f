"""The one place that defines searchkit's fields, their analysis and their weights.

The indexer, the searcher, the tagger's text and the exporter (and through
the export, the JavaScript client) all read the definitions here; none of
them repeats a field name list or a weight.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from whoosh import fields, formats
from whoosh.analysis import Filter, RegexTokenizer
from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.analysis.filters import STOP_WORDS
from whoosh.lang.porter import stem
from whoosh.support.charset import accent_map

# Bump when a field, an analyser or a weight changes: an index built with
# another version is rebuilt automatically (with a one-line notice).
SCHEMA_VERSION = 1

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


# Ranking weights (BM25F per-field boosts). Title counts most, the body least:
# on link posts the body is boilerplate, on articles it is long and diffuse.
TEXT_FIELDS: tuple[TextField, ...] = (
    TextField("title", 4.0),
    TextField("tldr", 2.0),
    TextField("summary", 1.5),
    TextField("body", 0.5),
)
FIELD_WEIGHTS: dict[str, float] = {f.name: f.weight for f in TEXT_FIELDS}
TEXT_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in TEXT_FIELDS)

# BM25F parameters (Whoosh defaults until tuned on a test collection).
BM25_B = 0.75
BM25_K1 = 1.2

# Every field's score contribution is rounded to a multiple of 1/SCORE_SCALE.
# Sums of such numbers are exact in binary floating point in any order, so
# the JavaScript client, which adds the same exported integers, ranks exactly
# like `searchkit query`, ties included (ties are broken by path).
SCORE_SCALE = 1024

# Short names people type in queries, mapped to index fields.
FIELD_ALIASES: dict[str, str] = {"tag": "tags", "kind": "post_kind"}


class FoldStopStemFilter(Filter):
    """Whoosh's ``LowercaseFilter | CharsetFilter(accent_map) | StopFilter |
    StemFilter`` as one step, with every word's result cached.

    Same output token for token (positions renumbered over stop words, as
    StopFilter does), but each distinct word is folded and stemmed once: on
    the linkblog corpus this made a full index build about N % faster.
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
        for term, poses in flt.positions(_WORDS.findall(value)).items():
            yield term.encode("utf-8"), len(poses), len(poses) * 1.0 * boost, encode(poses)


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
        fingerprint=fields.STORED(),
        **text_fields,
    )
