"""Did you mean": correct misspelled query words from the index's own vocabulary.

The index holds stems (``kubernet``), not words, so a correction is found
among the stems (edit distance on the stem, then most posts) and turned back
into a word by reading it in a post that contains it.
"""

from __future__ import annotations

import re

from searchkit.schema import FIELD_ALIASES, TEXT_FIELD_NAMES, TOKEN_PATTERN, FoldStopStemFilter

from .query import FUZZY_PREFIX, MAX_FUZZY_WORD, osa_distance

# Corrections within this many edits of the typed word's stem. Two catches
# doubled letters and transpositions; three suggested unrelated words.
MAX_EDITS = 2
# Words of up to this many letters get one edit at most (two is a new word).
SHORT_WORD = 4
# Shorter words are not corrected: one changed letter of three is another
# word ("art" became "act" in `state-of-the-art` on the sample posts).
MIN_WORD = 4

_FOLD = FoldStopStemFilter()
_TOKEN = re.compile(TOKEN_PATTERN)


def _doc_freq(reader, term: str) -> int:
    return sum(reader.doc_frequency(f, term) for f in TEXT_FIELD_NAMES)


def correct_word(searcher, word: str) -> str | None:
    """The word to use instead of ``word``, or None if it is fine or unfixable.

    The correction is a word as it occurs in a post, never a stem, and never
    the typed word with its ending cut off ("really" -> "real" reads as the
    stem of what was typed, not as a correction).
    """
    term = _FOLD.term(word)
    if term is None or len(term) > MAX_FUZZY_WORD or len(word) < MIN_WORD:
        return None
    reader = searcher.reader()
    if _doc_freq(reader, term) > 0:
        return None
    maxdist = 1 if len(word) <= SHORT_WORD else MAX_EDITS
    typed = _FOLD.fold(word)
    for dist in range(1, maxdist + 1):
        found = set()
        for name in TEXT_FIELD_NAMES:
            if name in reader.schema and reader.field_length(name):
                # Whoosh's automaton counts a swap as two edits; osa_distance as one.
                found.update(reader.terms_within(name, term, dist + 1, FUZZY_PREFIX))
        found = {t for t in found if t != term and osa_distance(term, t) <= dist}
        for _, candidate in sorted((-_doc_freq(reader, t), t) for t in found):
            surface = _surface(searcher, candidate, typed)
            # The distance counts again on the words: stems hide changed endings.
            if surface and not typed.startswith(surface) and osa_distance(typed, surface) <= dist:
                return surface
    return None


# Posts read to find how a corrected term is written: it is in the first one
# unless that post was deleted since (its postings stay until a merge).
SURFACE_POSTS = 20


def _surface(searcher, term: str, typed: str = "") -> str | None:
    """The word closest to ``typed`` (as written in posts, lower-cased) indexed under ``term``."""
    reader = searcher.reader()
    words: set[str] = set()
    for name in TEXT_FIELD_NAMES:
        if name not in reader.schema or reader.doc_frequency(name, term) == 0:
            continue
        for n, docnum in enumerate(reader.postings(name, term).all_ids()):
            if n == SURFACE_POSTS:
                break
            if reader.is_deleted(docnum):
                continue
            text = searcher.stored_fields(docnum).get(name) or ""
            tokens = (m.group(0) for m in _TOKEN.finditer(text))
            words.update(_FOLD.fold(t) for t in tokens if _FOLD.term(t) == term)
    return min(words, key=lambda w: (osa_distance(typed, w), w)) if words else None


_FILTER = re.compile(r"(?<![^\s(])(-?)(tag|kind):([\w.-]+)(?=[\s)]|$)", re.IGNORECASE)


def correct_value(searcher, fieldname: str, value: str) -> str | None:
    """The existing tag (or kind) closest to a ``value`` no post has."""
    reader = searcher.reader()
    value = value.lower()
    if fieldname not in reader.schema or reader.doc_frequency(fieldname, value) > 0:
        return None
    best = None
    for btext in reader.lexicon(fieldname):  # tags and kinds: a short list
        known = btext.decode("utf-8") if isinstance(btext, bytes) else btext
        dist = osa_distance(value, known)
        if dist <= (1 if len(value) <= SHORT_WORD else MAX_EDITS):
            key = (dist, -reader.doc_frequency(fieldname, known), known)
            best = min(best, key) if best else key
    return best[2] if best else None


def suggest_query(searcher, text: str, words: list[str]) -> str | None:
    """``text`` with each misspelled word replaced, or None if none was fixed."""
    changed = False

    def fix_filter(m: re.Match) -> str:
        nonlocal changed
        fixed = correct_value(searcher, FIELD_ALIASES[m.group(2).lower()], m.group(3))
        changed = changed or bool(fixed)
        return f"{m.group(1)}{m.group(2)}:{fixed}" if fixed else m.group(0)

    text = _FILTER.sub(fix_filter, text)
    for word in words:
        fixed = correct_word(searcher, word)
        if fixed and fixed != word:
            pattern = re.compile(rf"(?<![\w.]){re.escape(word)}(?![\w.])", re.IGNORECASE)
            text, count = pattern.subn(fixed, text, count=1)
            changed = changed or bool(count)
    if not changed:
        return None
    if text.count('"') % 2:  # a quote the parser closed for them
        text = text.replace('"', "")
    return " ".join(text.split())


# The command-line filters and the index field each one selects on.
OPTION_FIELDS = {"tag": "tags", "source": "source", "kind": "post_kind"}


def correct_options(searcher, options: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    """Corrections for filter values no post has: ``{"tag": {"kubernets": "kubernetes"}}``.

    ``options`` maps "tag", "source" and "kind" to the values given (as
    ``--tag kubernets`` or ``--kind relase``); values in use are left alone.
    """
    out: dict[str, dict[str, str]] = {}
    for option, values in options.items():
        for value in values:
            fixed = correct_value(searcher, OPTION_FIELDS[option], value.strip())
            if fixed:
                out.setdefault(option, {})[value] = fixed
    return out
