"""The query language: words, phrases, boolean operators and field scopes.

Parsing is lenient, as people expect from a search box: an unbalanced quote
or parenthesis is closed for them, an unknown field is searched as text.
"""

from __future__ import annotations

from whoosh import qparser
from whoosh import query as Q

from .errors import QueryError
from .schema import FIELD_ALIASES, TEXT_FIELD_NAMES

MAX_QUERY_CHARS = 1000

# A post matching most of the words still ranks; each matched word adds a
# coordination bonus so posts matching all of them rank first.
GROUP = qparser.OrGroup.factory(0.9)


def make_parser(schema) -> qparser.QueryParser:
    parser = qparser.MultifieldParser(list(TEXT_FIELD_NAMES), schema, group=GROUP)
    aliases: dict[str, list[str]] = {}
    for alias, name in FIELD_ALIASES.items():
        aliases.setdefault(name, []).append(alias)
    parser.add_plugin(qparser.FieldAliasPlugin(aliases))
    parser.add_plugin(qparser.PlusMinusPlugin())
    parser.add_plugin(qparser.FuzzyTermPlugin())
    return parser


def parse_query(text: str, schema) -> Q.Query:
    """Parse ``text``; raise `QueryError` with a one-line reason if it cannot be."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"query is {len(text)} characters; the limit is {MAX_QUERY_CHARS}")
    try:
        q = make_parser(schema).parse(text)
    except Exception as exc:
        raise QueryError(f"cannot parse query {text!r}: {exc}") from None
    return q
