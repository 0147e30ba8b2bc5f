"""Snippets: the best passages of a hit with the query's words marked, or an excerpt."""

from __future__ import annotations

import re

from whoosh.highlight import FIRST, BasicFragmentScorer, ContextFragmenter, Formatter, top_fragments

from searchkit.schema import EXCERPT_FIELDS, SNIPPET_CHARS, SNIPPET_FIELDS, marked_tokens
from searchkit.whoosh_internals import merge_matched_tokens

_OPEN, _CLOSE = "\x02", "\x03"


class _SpanFormatter(Formatter):
    """Marks matched words with control characters, turned into offsets later."""

    between = " … "

    def format_token(self, text, token, replace=False):
        return _OPEN + self._text(text[token.startchar : token.endchar]) + _CLOSE


_FRAGMENTER = ContextFragmenter(maxchars=SNIPPET_CHARS, surround=60)
_FORMATTER = _SpanFormatter()
_SCORER = BasicFragmentScorer()
_MARKERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def snippet_of(stored: dict, words: dict, schema) -> tuple[str, list[tuple[int, int]]]:
    """The best two passages of the first field holding a query word, else an excerpt."""
    for name in SNIPPET_FIELDS:
        if name in words:
            text = _MARKERS.sub(" ", stored.get(name) or "")
            marked = text and _highlight(text, words[name], schema[name].analyzer)
            if marked:
                return _spans(marked)
    for name in EXCERPT_FIELDS:
        text = " ".join((stored.get(name) or "").split())
        if text:
            return (text[:SNIPPET_CHARS] + ("…" if len(text) > SNIPPET_CHARS else "")), []
    return "", []


def _highlight(text: str, words: frozenset[str], analyzer) -> str:
    # Whoosh's Highlighter.highlight_hit, given the words: it would look them
    # up again for every hit and field (or need every match's terms recorded).
    tokens = merge_matched_tokens(marked_tokens(analyzer, text, words))
    fragments = top_fragments(_FRAGMENTER.fragment_tokens(text, tokens), 2, _SCORER, FIRST)
    return _FORMATTER.format(fragments)


def _spans(marked: str) -> tuple[str, list[tuple[int, int]]]:
    marked = " ".join(marked.split())
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for part in re.split(f"({_OPEN}[^{_CLOSE}]*{_CLOSE})", marked):
        if part.startswith(_OPEN):
            word = part[1:-1]
            spans.append((pos, pos + len(word)))
            out.append(word)
            pos += len(word)
        else:
            out.append(part)
            pos += len(part)
    return "".join(out), spans
