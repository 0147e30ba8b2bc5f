"""The query language: words, phrases, boolean operators, field scopes, dates.

Parsing is lenient, as people expect from a search box: an unbalanced quote
or parenthesis is closed for them, an unknown field is searched as text.
What a query cannot mean raises `QueryError` with a one-line reason.

Scoring of the words typed side by side is in `searchkit.search.coord` (the
ranking contract the JavaScript client mirrors).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from whoosh import qparser
from whoosh import query as Q
from whoosh.qparser import syntax

from searchkit.errors import QueryError
from searchkit.schema import (
    ALL_WORDS_FIRST,
    COORD,
    FIELD_ALIASES,
    TEXT_FIELD_NAMES,
    TOKEN_PATTERN,
)
from searchkit.schema import FILTER_FIELDS as S_FILTER_FIELDS

from .coord import WordsOr
from .wordterm import use_word_terms

# Longer input is cut here, not rejected: a pasted paragraph still searches.
# Whoosh's parser is linear, so the cap bounds time (about 20 ms at the cap).
MAX_QUERY_CHARS = 1000
# `word~9` is read as `word~2`: more edits match unrelated words, slowly.
MAX_FUZZY = 2
# Longer words are matched exactly, even with `~` and by "did you mean": the
# edit automaton grows with the word (a 1000-letter word took 64 s).
MAX_FUZZY_WORD = 24
# Fuzzy words and corrections keep the first letter: typos rarely hit it, and
# it made the term scan 5-15x faster (e.g. 207 -> 15 ms for gitpo~2, one field).
FUZZY_PREFIX = 1
# A word with `*` or `~` matches at most this many index terms per field, the
# most frequent ones, and a whole query at most MAX_QUERY_TERMS (shared evenly
# by its expanding words, each keeping at least one while the budget lasts).
# Uncapped, `a* b* c* d* e* f* g* h* i* k*` took 4.3 s on 1,638 posts, each
# word expanding to hundreds of terms; see docs/robustness.md for the figures.
MAX_EXPANSIONS = 16
MAX_QUERY_TERMS = 64
FILTER_FIELDS = frozenset(S_FILTER_FIELDS)

_DATE = re.compile(r"(?<![^\s(])(-?)date:(\S*)", re.IGNORECASE)
_HYPHEN = re.compile(r"(?<=\w)-(?=\w)")
_EMPTY_FIELD = re.compile(r"(?<![^\s(])\w+:(?=[\s)]|$)")
_TOKEN = re.compile(TOKEN_PATTERN)


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
        super().__init__(plusexpr=r"(?<![^\s(])\+(?=\S)", minusexpr=r"(?<![^\s(])-(?=\S)")

    def do_plusminus(self, parser, group):
        for i, node in enumerate(group):  # inside parentheses too: (helm -draft)
            if isinstance(node, syntax.GroupNode) and node.has_boost:
                group[i] = self.do_plusminus(parser, node)
        if not any(isinstance(n, (self.Plus, self.Minus)) for n in group):
            return group
        kind = type(group) if isinstance(group, (syntax.AndGroup, syntax.OrGroup)) else None
        required, banned = syntax.AndGroup(), syntax.OrGroup()
        optional = kind() if kind else parser.group()
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


class _Capped:
    """A query word that expands to index terms, at most `MAX_EXPANSIONS` of them.

    `cap_expansions` picks the terms once, on the whole index (the most
    frequent; ties by term), so every segment expands the word alike and a
    rebuilt index ranks like an updated one. Unpicked (a query run outside a
    `Searcher`), the word expands the same way on the reader it is given.
    Subclasses say which term prefixes to scan and which terms match.
    """

    terms: list | None = None

    def _btexts(self, ixreader):
        if self.terms is None:
            yield from _most_frequent(self, ixreader, MAX_EXPANSIONS)
            return
        for t in self.terms:
            if (self.fieldname, t) in ixreader:
                yield t

    def _prefixes(self) -> list[str]:
        raise NotImplementedError

    def _accepts(self, word: str) -> bool:
        raise NotImplementedError

    # True when `_accepts` rejects most terms under the prefix (fuzzy words):
    # those scan term keys only and look up the frequencies of the terms they
    # accept, and only when there are more than the cap (`kubernetes~2 ...
    # operator~2` on 1,638 posts: 0.295 -> 0.264 s).
    selective = False

    def frequencies(self, ixreader, limit: int | None = None, scans: dict | None = None) -> dict:
        """{term: posts holding it} for every index term the word matches.

        One pass over each segment's terms under the word's prefixes (no
        merging of the segments' term lists). Prefix words read the counts
        the term index holds beside each term as they go (`a*`: 3x faster
        than looking each up again). With at most ``limit`` matches the
        counts are not needed and are left 0. ``scans`` keeps the scans of
        one query for its other words: `*e* *a* *o*` scans every term of a
        field once, not three times.
        """
        scans = {} if scans is None else scans
        freq: dict = {}
        verdict: dict = {}
        found: list[tuple] = []  # (segment, its matching terms) for `selective` words
        for leaf, _ in ixreader.leaf_readers():
            seen = set()
            mine = []
            for prefix in self._prefixes():
                if self.selective:
                    items = ((t, None) for t in leaf.expand_prefix(self.fieldname, prefix))
                else:
                    key = (id(leaf), self.fieldname, prefix)
                    if key not in scans:
                        scans[key] = [
                            (t, info.doc_frequency())
                            for t, info in leaf.iter_prefix(self.fieldname, prefix)
                        ]
                    items = scans[key]
                for t, info in items:
                    if t in seen:
                        continue
                    seen.add(t)
                    ok = verdict.get(t)
                    if ok is None:
                        word = t.decode("utf-8") if isinstance(t, bytes) else t
                        ok = verdict[t] = self._accepts(word)
                    if not ok:
                        continue
                    if info is None:
                        mine.append(t)
                        freq.setdefault(t, 0)
                    else:
                        freq[t] = freq.get(t, 0) + info
            found.append((leaf, mine))
        if self.selective and (limit is None or len(freq) > limit):
            for leaf, mine in found:
                for t in mine:
                    freq[t] += leaf.doc_frequency(self.fieldname, t)
        return freq


def _most_frequent(leaf: _Capped, reader, limit: int, scans: dict | None = None) -> list:
    freq = leaf.frequencies(reader, limit, scans)
    if len(freq) > limit:
        freq = dict(sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))[:limit])
    return sorted(freq)


def expanding_leaves(queries) -> list[_Capped]:
    """The words with ``*`` or ``~`` in ``queries`` (None entries skipped)."""
    out = []
    for q in queries:
        if q is None:
            continue
        for leaf in q.leaves() if q.children() else [q]:
            if isinstance(leaf, _Capped):
                out.append(leaf)
    return out


def cap_expansions(queries, reader) -> int:
    """Fix the terms each ``*``/``~`` word of ``queries`` expands to; returns their number."""
    leaves = expanding_leaves(queries)
    if not leaves:
        return 0
    share = min(MAX_EXPANSIONS, MAX_QUERY_TERMS // len(leaves))
    budget = MAX_QUERY_TERMS
    scans: dict = {}
    for leaf in leaves:
        limit = min(max(share, 1), budget)
        leaf.terms = _most_frequent(leaf, reader, limit, scans) if limit else []
        budget -= len(leaf.terms)
    return MAX_QUERY_TERMS - budget


class _Fuzzy(_Capped, Q.FuzzyTerm):
    """A fuzzy word where swapping two letters is one edit (``gitpos~``
    finds ``gitops``); Whoosh's automaton counts it as two. Scored as the sum
    of the impacts of the words it matches (never as a constant)."""

    def __init__(self, fieldname, text, boost=1.0, maxdist=1, prefixlength=1, constantscore=False):
        super().__init__(fieldname, text, boost, maxdist, prefixlength, constantscore=False)

    selective = True

    def _prefixes(self) -> list[str]:
        return [self.text[: max(self.prefixlength, FUZZY_PREFIX)]]

    def _accepts(self, word: str) -> bool:
        # Whoosh's terms_within, with words of a hopeless length skipped
        # before the edit distance (pure Python): `kubernetes~2 ... operator~2`
        # on 1,638 posts, 0.39 -> 0.1 s.
        maxdist = min(self.maxdist, MAX_FUZZY) if len(self.text) <= MAX_FUZZY_WORD else 0
        if abs(len(word) - len(self.text)) > maxdist:
            return False
        return osa_distance(self.text, word) <= maxdist


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
    parser = _Parser(None, searchable(schema), group=group or _words_group(coord))
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


_SEARCHABLE: dict[int, tuple] = {}  # id(schema) -> (schema, its searchable part)


def searchable(schema):
    """``schema`` without its stored-only fields (``url``, ``fingerprint``...).

    The parser then reads ``url:x`` like any unknown field, as words to
    search, as the README says, instead of failing on a field with no index.
    """
    hit = _SEARCHABLE.get(id(schema))
    if hit is None or hit[0] is not schema:
        names = [name for name, f in schema.items() if not f.indexed]
        if names:
            part = schema.copy()
            for name in names:
                part.remove(name)
        else:
            part = schema
        hit = _SEARCHABLE[id(schema)] = (schema, part)
    return hit[1]


@dataclass
class ParsedQuery:
    """A query split into what ranks posts and what only selects them."""

    text: str
    scoring: Q.Query | None = None  # None: no words, only filters
    filters: list[Q.Query] = field(default_factory=list)  # each required
    exclude: list[Q.Query] = field(default_factory=list)  # each excluded
    words: list[str] = field(default_factory=list)  # plain words typed, for suggestions

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
        if isinstance(q, WordsOr):
            counts = [q.counts[q.subqueries.index(k)] for k in keep]
            q = q.with_clauses(keep, counts).normalize() if keep else None
        elif len(keep) != 1:
            q = Q.And(keep, boost=q.boost) if keep else None
        else:
            q = keep[0]
    if isinstance(q, Q.Not):
        parsed.exclude.append(q.query)
        q = None
    if isinstance(q, Q.Every):
        q = None
    if isinstance(q, WordsOr):
        q.tier = ALL_WORDS_FIRST
    parsed.scoring = None if q is None else use_word_terms(q)


def _is_filter(q: Q.Query) -> bool:
    """True when every leaf of ``q`` is on a filter field (tags, kind, ...)."""
    leaves = list(q.leaves()) if q.children() else [q]
    if not leaves:
        return False
    return all(getattr(leaf, "fieldname", None) in FILTER_FIELDS for leaf in leaves)


def _extract_dates(text: str) -> tuple[str, list[Q.Query], list[Q.Query]]:
    from .dates import parse_day

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
        raise QueryError(
            f"date: needs a date or a range, e.g. date:2025-01..2025-06 (got {value!r})"
        )
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
        from searchkit.schema import FoldStopStemFilter

        fold = FoldStopStemFilter()
        text = fold.fold(self.text)
        if text.strip("*") == "":
            return Q.Every()
        fieldname = self.fieldname or parser.fieldname
        if not text.endswith("*") or "*" in text[:-1]:
            return _Wildcard(fieldname, text, boost=self.boost, constantscore=False)
        return _StemPrefix(fieldname, text[:-1], fold.term(text[:-1]), boost=self.boost)


class _Wildcard(_Capped, Q.Wildcard):
    """``ku*es``, ``*ops``: Whoosh's wildcard, capped (`_Capped`)."""

    def _prefixes(self) -> list[str]:
        return [self._find_prefix(self.text)]

    def _accepts(self, word: str) -> bool:
        if not hasattr(self, "_pattern"):
            self._pattern = re.compile(self._get_pattern())
        return bool(self._pattern.match(word))


class _StemPrefix(_Capped, Q.Prefix):
    """Index terms starting with the word or with its stem (each term once)."""

    def __init__(self, fieldname: str, text: str, stem: str | None, boost: float = 1.0):
        # Scored: the sum of the impacts of every term it expands to (Whoosh
        # scores a multi-term prefix as a constant by default).
        super().__init__(fieldname, text, boost=boost, constantscore=False)
        self.stem = stem or text

    def __str__(self):
        alt = f"|{self.stem}*" if self.stem != self.text else ""
        return f"{self.fieldname}:{self.text}*{alt}"

    def _prefixes(self) -> list[str]:
        return list(dict.fromkeys([self.text, self.stem]))

    def _accepts(self, word: str) -> bool:
        return True


_MICROSECOND = __import__("datetime").timedelta(microseconds=1)
