"""The query language: words, phrases, boolean operators, field scopes, dates.

Parsing is lenient, as people expect from a search box: an unbalanced quote
or parenthesis is closed for them, an unknown field is searched as text.
What a query cannot mean raises `QueryError` with a one-line reason.

Ranking contract (the JavaScript client mirrors it):

* A word's score in a post is its *impact*: the sum over the text fields of
  the quantised, weighted BM25 field score (`scoring.WeightedBM25F`).
* The words typed next to each other form one *coordinated group* of ``n``
  clauses (distinct analysed words, stop words dropped). A post matching
  ``m`` of them scores ``quantize(S * (1 + COORD * m / n))`` where ``S`` is
  the sum of the matching clauses' scores, evaluated in exactly that order
  in IEEE double arithmetic, ``quantize(x) = floor(x * SCORE_SCALE + 0.5) /
  SCORE_SCALE``. So every score stays a multiple of 1/SCORE_SCALE.
* Explicit ``AND``/``OR`` groups score the plain sum of their parts; ``NOT``
  parts and field filters (tag:, kind:, source:, date:) score nothing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from whoosh import qparser
from whoosh import query as Q
from whoosh.matching import Matcher, NullMatcher
from whoosh.qparser import syntax

from .errors import QueryError
from .schema import COORD, FIELD_ALIASES, SCORE_SCALE, TEXT_FIELD_NAMES, TOKEN_PATTERN

# Longer input is cut here, not rejected: a pasted paragraph still searches.
# Whoosh's parser is linear, so the cap bounds time (about 20 ms at the cap).
MAX_QUERY_CHARS = 1000
# `word~9` is read as `word~2`: more edits match unrelated words, slowly.
MAX_FUZZY = 2
# Filter fields: they restrict the posts, they do not rank them.
FILTER_FIELDS = frozenset({"tags", "source", "post_kind", "date"})

_DATE = re.compile(r"(?<![^\s(])(-?)date:(\S*)", re.IGNORECASE)
_HYPHEN = re.compile(r"(?<=\w)-(?=\w)")
_EMPTY_FIELD = re.compile(r"(?<![^\s(])\w+:(?=[\s)]|$)")
_TOKEN = re.compile(TOKEN_PATTERN)


def quantize(score: float) -> float:
    return math.floor(score * SCORE_SCALE + 0.5) / SCORE_SCALE


class CoordMatcher(Matcher):
    """Union of clause matchers; scores ``quantize(S * (1 + coord * m / n))``.

    ``m`` counts the clauses matching the current post, ``n`` all clauses.
    Unlike Whoosh's ``CoordMatcher`` (which counts field-level term matchers,
    so ``n`` depends on which fields happen to hold a word) it counts query
    words, which a client that only has per-word impacts can reproduce.

    Ranking sorts on the score, so every matching post is scored anyway: the
    children's postings are read once, up front, into arrays (on Cranfield
    this was 5x faster than stepping a union of matchers post by post).
    """

    def __init__(self, children: list[tuple[int, Matcher]], n: int, coord: float):
        acc: dict[int, list] = {}
        for i, m in children:
            bit = 1 << i
            leaf_term = m.term() if m.is_leaf() else None
            while m.is_active():
                d = m.id()
                terms = [leaf_term] if leaf_term else list(m.matching_terms(d))
                e = acc.get(d)
                if e is None:
                    acc[d] = [m.score(), bit, terms]
                else:
                    e[0] += m.score()  # exact: field scores are multiples of 1/SCORE_SCALE
                    e[1] |= bit
                    e[2] += terms
                m.next()
        self._ids = sorted(acc)
        self._data = [acc[d] for d in self._ids]
        self._n = n
        self._coord = coord
        self._pos = 0

    def is_active(self) -> bool:
        return self._pos < len(self._ids)

    def id(self) -> int:
        return self._ids[self._pos]

    def next(self) -> None:
        self._pos += 1

    def skip_to(self, id: int) -> None:
        import bisect

        self._pos = max(self._pos, bisect.bisect_left(self._ids, id))

    def reset(self) -> None:
        self._pos = 0

    def all_ids(self):
        return iter(self._ids[self._pos :])

    def copy(self) -> CoordMatcher:
        other = object.__new__(CoordMatcher)
        other.__dict__.update(self.__dict__)
        return other

    def replace(self, minquality=0) -> Matcher:
        return self if self.is_active() else NullMatcher()

    def supports(self, astype) -> bool:
        return False

    def supports_block_quality(self) -> bool:
        return False

    def term_matchers(self):
        return iter(())

    def matching_terms(self, id=None):
        if id is None or id == self.id():
            return iter(self._data[self._pos][2])
        return iter(())

    def weight(self) -> float:
        return self.score()

    def score(self) -> float:
        total, mask, _ = self._data[self._pos]
        return quantize(total * (1 + self._coord * mask.bit_count() / self._n))


class WordsOr(Q.Or):
    """The implicit group of words typed side by side (coordinated OR)."""

    JOINT = " ~OR "

    def __init__(self, subqueries, boost=1.0, minmatch=0, scale=None, coord=COORD):
        super().__init__(subqueries, boost=boost)
        self.coord = coord

    def normalize(self):
        subs = []
        for s in self.subqueries:
            s = s.normalize()
            if s is Q.NullQuery or s in subs:
                continue
            subs.extend(s.subqueries if type(s) is WordsOr else [s])
        if not subs:
            return Q.NullQuery
        if len(subs) == 1:
            return subs[0]
        return WordsOr(subs, boost=self.boost, coord=self.coord)

    def _matcher(self, subs, searcher, context):
        kids = []
        for i, q in enumerate(subs):
            # A plain OR inside a clause (a word over the text fields) is
            # flattened into the clause's children; its boost must be 1.
            parts = q.subqueries if type(q) is Q.Or and q.boost == 1.0 else [q]
            kids += [(i, p.matcher(searcher, context)) for p in parts]
        return CoordMatcher(kids, len(subs), self.coord)


def _words_group(coord: float):
    class WordsGroup(syntax.OrGroup):
        qclass = WordsOr

        def query(self, parser):
            q = super().query(parser)
            if isinstance(q, WordsOr):
                q.coord = coord
            return q

    return WordsGroup


class _PlusMinus(qparser.PlusMinusPlugin):
    """``+word`` / ``-word``, but only at a word's start (``state-of-the-art``
    is one word, not ``state`` minus ``of``), keeping the words' group."""

    def __init__(self):
        super().__init__(plusexpr=r"(?<![^\s(])\+", minusexpr=r"(?<![^\s(])-")

    def do_plusminus(self, parser, group):
        required, optional, banned = syntax.AndGroup(), parser.group(), syntax.OrGroup()
        if isinstance(group, syntax.AndGroup):
            optional = syntax.AndGroup()
        nxt = optional
        for node in group:
            if isinstance(node, self.Plus):
                nxt = required
            elif isinstance(node, self.Minus):
                nxt = banned
            else:
                nxt.append(node)
                nxt = optional
        group = optional
        if required:
            group = syntax.AndMaybeGroup([required, group]) if optional else required
        if banned:
            group = syntax.AndNotGroup([group, banned])
        return group


class _StarOnly(qparser.WildcardPlugin):
    """Wildcards with ``*`` only: a trailing ``?`` is punctuation in a question."""

    expr = r"(?P<text>[*])"


def osa_distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) from a to b."""
    prev2, prev = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


class _Fuzzy(Q.FuzzyTerm):
    """A fuzzy word where swapping two letters is one edit (``gitpos~``
    finds ``gitops``); Whoosh's automaton counts it as two."""

    def _btexts(self, ixreader):
        maxdist = min(self.maxdist, MAX_FUZZY)
        for t in ixreader.terms_within(self.fieldname, self.text, maxdist + 1, self.prefixlength):
            word = t.decode("utf-8") if isinstance(t, bytes) else t
            if osa_distance(self.text, word) <= maxdist:
                yield t


class _FuzzyPlugin(qparser.FuzzyTermPlugin):
    class FuzzyTermNode(qparser.FuzzyTermPlugin.FuzzyTermNode):
        qclass = _Fuzzy


class _Parser(qparser.QueryParser):
    def multitoken_query(self, spec, texts, fieldname, termclass, boost):
        # One typed word that analyses into several terms (k8s/helm) is one
        # clause scoring the sum of its terms, like separate words would.
        terms = list(dict.fromkeys(texts))
        return Q.Or([termclass(fieldname, t, boost=boost) for t in terms])


def make_parser(schema, coord: float = COORD, group=None) -> qparser.QueryParser:
    """The configured Whoosh parser (``group`` overrides the words' grouping)."""
    parser = _Parser(None, schema, group=group or _words_group(coord))
    parser.add_plugin(qparser.MultifieldPlugin(list(TEXT_FIELD_NAMES)))
    aliases: dict[str, list[str]] = {}
    for alias, name in FIELD_ALIASES.items():
        aliases.setdefault(name, []).append(alias)
    parser.remove_plugin_class(qparser.WildcardPlugin)
    parser.add_plugin(_StarOnly())
    parser.add_plugin(qparser.FieldAliasPlugin(aliases))
    parser.add_plugin(_PlusMinus())
    parser.add_plugin(_FuzzyPlugin())
    parser.add_plugin(_PrefixStemPlugin())
    return parser


@dataclass
class ParsedQuery:
    """A query split into what ranks posts and what only selects them."""

    text: str
    scoring: Q.Query | None = None  # None: no words, only filters
    filters: list[Q.Query] = field(default_factory=list)  # each required
    exclude: list[Q.Query] = field(default_factory=list)  # each excluded
    words: list[str] = field(default_factory=list)  # plain words typed, for suggestions

    @property
    def filter(self) -> Q.Query | None:
        return Q.And(self.filters) if self.filters else None

    def __str__(self) -> str:
        parts = [str(self.scoring) if self.scoring else "<all posts>"]
        parts += [f"FILTER {f}" for f in self.filters]
        parts += [f"NOT {x}" for x in self.exclude]
        return " ".join(parts)


def plain_words(text: str) -> str:
    """``text`` as lower-case words with no query syntax left in it."""
    return " ".join(m.group(0).lower() for m in _TOKEN.finditer(text))


def parse_query(
    text: str, schema, *, syntax: bool = True, coord: float = COORD, group=None
) -> ParsedQuery:
    """Parse ``text``. With ``syntax=False`` every character is a plain word
    (no operators, fields or wildcards), for text pasted from elsewhere."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)[:MAX_QUERY_CHARS]
    filters: list[Q.Query] = []
    exclude: list[Q.Query] = []
    if syntax:
        text, filters, exclude = _extract_dates(text)
        text = _EMPTY_FIELD.sub(" ", _HYPHEN.sub(" ", text))
        if text.count('"') % 2:  # an unbalanced quote is closed at the end
            text += '"'

    else:
        text = plain_words(text)
    parsed = ParsedQuery(text=text, filters=filters, exclude=exclude)
    parsed.words = _plain_words_typed(text) if syntax else list(dict.fromkeys(text.split()))
    if not text.strip():
        return parsed
    try:
        q = make_parser(schema, coord, group).parse(text).normalize()
    except Exception as exc:  # Whoosh raises many types on odd input
        raise QueryError(f"cannot parse query {text[:80]!r}: {exc}") from None
    _split(q, parsed)
    return parsed


_SPELLABLE = re.compile(r"[^\W\d_]{3,}")


def _plain_words_typed(text: str) -> list[str]:
    """The words of a query that spelling correction may look at: plain
    words or text-field words of 3+ letters (not operators, filters,
    wildcards or fuzzy words)."""
    words = []
    for token in text.split():
        if token in ("AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"):
            continue
        token = token.lstrip("+-(\"'").rstrip("\"')?!,;.")
        field, _, word = token.rpartition(":")
        if field and field.lower() not in TEXT_FIELD_NAMES:
            continue
        if _SPELLABLE.fullmatch(word):
            words.append(word.lower())
    return list(dict.fromkeys(words))


def _split(q: Q.Query, parsed: ParsedQuery) -> None:
    """Move top-level filters and exclusions out of the ranking query."""
    if q is Q.NullQuery:
        return
    if isinstance(q, Q.AndNot):
        parsed.exclude.append(q.b)
        _split(q.a, parsed)
        return
    if _is_filter(q):
        parsed.filters.append(q)
        return
    if isinstance(q, (WordsOr, Q.And)) and not isinstance(q, Q.AndMaybe):
        keep = []
        for sub in q.subqueries:
            if _is_filter(sub):
                parsed.filters.append(sub)
            elif isinstance(sub, Q.Not):
                parsed.exclude.append(sub.query)
            else:
                keep.append(sub)
        if len(keep) != 1:
            coord = {"coord": q.coord} if isinstance(q, WordsOr) else {}
            q = type(q)(keep, boost=q.boost, **coord) if keep else None
        else:
            q = keep[0]
    if isinstance(q, Q.Not):
        parsed.exclude.append(q.query)
        q = None
    if isinstance(q, Q.Every):
        q = None
    parsed.scoring = q


def _is_filter(q: Q.Query) -> bool:
    """True when every leaf of ``q`` is on a filter field (tags, kind, ...)."""
    leaves = list(q.leaves()) if q.children() else [q]
    if not leaves:
        return False
    return all(getattr(leaf, "fieldname", None) in FILTER_FIELDS for leaf in leaves)


def _extract_dates(text: str) -> tuple[str, list[Q.Query], list[Q.Query]]:
    from .search import parse_day

    filters: list[Q.Query] = []
    exclude: list[Q.Query] = []

    def repl(m: re.Match) -> str:
        neg, value = m.group(1), m.group(2).strip("()")
        (exclude if neg else filters).append(date_range(value, parse_day))
        return " "

    return _DATE.sub(repl, text), filters, exclude


def date_range(value: str, parse_day) -> Q.Query:
    """``date:`` values: ``2025``, ``2025-01..2025-06``, ``2025-03..``,
    ``..2025-06``, ``>2025-03-01``, ``>=``, ``<``, ``<=``."""
    start = end = None
    if ".." in value:
        a, b = value.split("..", 1)
        start = parse_day(a) if a else None
        end = parse_day(b, end=True) if b else None
    elif value[:2] in (">=", "<="):
        day = value[2:]
        start, end = (parse_day(day), None) if value[0] == ">" else (None, parse_day(day, end=True))
    elif value[:1] in (">", "<"):
        day = value[1:]
        if value[0] == ">":
            start = parse_day(day, end=True) + _MICROSECOND
        else:
            end = parse_day(day) - _MICROSECOND
    elif value:
        start, end = parse_day(value), parse_day(value, end=True)
    if start is None and end is None:
        raise QueryError(f"date: needs a date or a range, e.g. date:2025-01..2025-06 (got {value!r})")
    return Q.DateRange("date", start, end)


class _PrefixStemPlugin(qparser.Plugin):
    """``deploy*`` also matches the stem of ``deploy`` (``deploi``): the index
    holds stems, and a word's stem is not always a prefix of its other forms."""

    def filters(self, parser):
        return [(self._do, 200)]

    def _do(self, parser, group):
        for i, node in enumerate(group):
            if isinstance(node, syntax.GroupNode):
                self._do(parser, node)
            elif isinstance(node, qparser.WildcardPlugin.WildcardNode):
                group[i] = _StemmedPrefixNode(node, node.text)
            elif isinstance(node, qparser.PrefixPlugin.PrefixNode):
                group[i] = _StemmedPrefixNode(node, node.text + "*")
        return group


class _StemmedPrefixNode(syntax.SyntaxNode):
    has_fieldname = True
    has_text = True

    def __init__(self, node, text: str):
        self.text = text
        self.fieldname = node.fieldname
        self.boost = node.boost
        self.startchar, self.endchar = node.startchar, node.endchar

    def r(self):
        return f"prefix {self.text!r}"

    def query(self, parser):
        from .schema import FoldStopStemFilter

        fold = FoldStopStemFilter()
        text = fold.fold(self.text)
        if text.strip("*") == "":
            return Q.Every()
        fieldname = self.fieldname or parser.fieldname
        if not text.endswith("*") or "*" in text[:-1]:
            return Q.Wildcard(fieldname, text, boost=self.boost)
        stem_ = fold.term(text[:-1]) or text[:-1]
        prefixes = dict.fromkeys([text[:-1], stem_])
        return Q.Or([Q.Prefix(fieldname, p, boost=self.boost) for p in prefixes])


_MICROSECOND = __import__("datetime").timedelta(microseconds=1)
