"""The one place that defines searchkit's fields, their analysis and their weights.

The indexer, the searcher, the tagger's text and the exporter (and through
the export, the JavaScript client) all read the definitions here; none of
them repeats a field name list or a weight.
"""

from __future__ import annotations

from dataclasses import dataclass

from whoosh import fields
from whoosh.analysis import Filter, RegexTokenizer
from whoosh.analysis.filters import STOP_WORDS
from whoosh.lang.porter import stem
from whoosh.support.charset import accent_map

# Bump when a field, an analyser or a weight changes: an index built with
# another version is rebuilt automatically (with a one-line notice).
SCHEMA_VERSION = 1

# Whoosh's default token pattern: words, with inner dots kept (v1.33, k8s.io).
TOKEN_PATTERN = r"\w+(\.?\w+)*"
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

# Coordination: words typed side by side are OR-ed, and a post matching m
# of the n words scores S * (1 + COORD * m / n) (rule in query.py).
COORD = 0.5
# A word typed twice counts twice in S (its clause score times 2), as in Lucene.
QUERY_TF = False

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


def build_schema() -> fields.Schema:
    """The Whoosh schema for a searchkit index."""
    ana = analyzer()
    text_fields = {
        f.name: fields.TEXT(analyzer=ana, stored=f.stored, phrase=True) for f in TEXT_FIELDS
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
