"""What the client-side index holds, computed from the live index generation.

Scores are not recomputed here: every (term, post) impact comes from the
very matcher `searchkit query` uses (`WeightedBM25F` on the same Whoosh
searcher), so field lengths, idf and quantisation are the CLI's own. The
analyser settings and the query combination rule are read from the schema
and the query parser, and described as data for the JavaScript client.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from whoosh import query as Q
from whoosh.support.charset import accent_map

from searchkit import schema as S
from searchkit.errors import ExportError
from searchkit.site.posts import Post

from .packing import deltas, pack


@dataclass
class TermEntry:
    """One term's postings, packed: ids as gaps, then impacts (see docs/export-format.md).

    ``top`` are the ids of the posts whose display rows travel with the
    postings: the hits a query with this word most likely shows first.
    """

    term: str
    postings: str
    positions: str
    top: list[int] = field(default_factory=list)
    df: int = 0
    idf: int | None = None  # quantised idf, units of 1/SCORE_SCALE (long-query rule only)


@dataclass
class ExportDoc:
    """Display data of one exported post."""

    id: int
    path: str
    url: str
    title: str
    date: dt.datetime | None
    tags: list[str] = field(default_factory=list)
    source: str = ""
    kind: str = ""
    snippet: str = ""

    def to_json(self) -> list:
        day = self.date.astimezone(dt.UTC).strftime("%Y-%m-%d") if self.date else ""
        return [self.url, self.title, day, self.tags, self.source, self.kind, self.snippet]


# The token patterns searchkit.js has a tokenizer for; `S.TOKEN_PATTERN`
# must be one of them, or the export refuses to run.
CLIENT_TOKEN_PATTERNS = frozenset({r"\w+(\.?\w+)*"})


def analysis_meta() -> dict:
    """The analyser as data; refuses an analyser the client cannot mirror."""
    ana = S.analyzer()
    items = list(getattr(ana, "items", [ana]))
    if len(items) != 2 or not isinstance(items[1], S.FoldStopStemFilter):
        raise ExportError(f"the client cannot mirror this analyser: {ana!r}")
    pattern = items[0].expression.pattern
    if pattern not in CLIENT_TOKEN_PATTERNS:
        raise ExportError(f"the client cannot mirror the token pattern {pattern!r}")
    # Only characters that can survive lower-casing need folding.
    folds = {
        chr(k): v or ""
        for k, v in sorted(accent_map.items())
        if chr(k).lower() == chr(k) and (v or "") != chr(k)
    }
    return {
        "tokens": pattern,
        "lower": "python-str-lower",
        "fold": "".join(f"{k}{v}\t" for k, v in folds.items()),
        "stop": sorted(items[1].stops),
        "minsize": items[1].min,
        "stem": "whoosh-porter",
    }


def combination_rule(whoosh_schema) -> dict:
    """How the parser combines the words of a query, found by parsing some.

    Raises `ExportError` for a rule the client does not implement, so a
    change in `query.py` cannot silently break ranking parity.
    """
    from searchkit.search import query
    from searchkit.search.coord import WordsOr
    from searchkit.search.wordterm import WordTerm

    def scoring(text: str):
        return query.parse_query(text, whoosh_schema).scoring

    def is_word(q) -> bool:
        if isinstance(q, WordTerm):  # true BM25F: one impact per (word, post)
            return tuple(q.fields) == tuple(S.TEXT_FIELD_NAMES) and q.boost == 1.0
        return isinstance(q, Q.Or) and all(
            isinstance(t, Q.Term) and t.fieldname in S.TEXT_FIELD_NAMES and t.boost == 1.0
            for t in q.subqueries
        )

    one, two = scoring("alpha"), scoring("alpha beta")
    if not is_word(one) or getattr(one, "scale", None) or one.boost != 1.0:
        raise ExportError(f"the client cannot mirror the one-word query {one!r}")
    if type(two) is WordsOr and all(is_word(c) for c in two.subqueries):
        # qtf: a word typed twice counts twice (then even alone it is a group).
        # allFirst: posts matching every clause sort above all others.
        rule = {"rule": "words", "coord": two.coord, "qtf": two.qtf, "allFirst": two.tier}
        if S.LONG_QUERY_IDF and S.SCORER == "bm25f":
            # Queries of this many clauses or more weight their plain words
            # by sqrt(idf / mean idf) (coord.WordsOr._long_query_weights).
            rule["longIdf"] = S.LONG_QUERY_WORDS
        return rule
    if type(two) is Q.Or and is_word(two) and not getattr(two, "scale", None):
        return {"rule": "sum"}
    raise ExportError(f"the client cannot mirror the query rule {two!r}")


def iter_terms(
    searcher, doc_ids: dict[int, int], top: int = 0, lead_top: int = 0, idf: bool = False
) -> Iterator[TermEntry]:
    """Every term of the text fields with its packed postings, in code point order.

    ``doc_ids`` maps Whoosh document numbers of exported posts to export ids.
    `TermEntry.top` names the term's ``top`` highest-impact posts (ties by id:
    a one-word query's first page) and its ``lead_top`` highest-impact posts
    with the term in the most weighted field, the title (where the hits of a
    query of several words usually have them). With ``idf`` (the long-query
    rule), `TermEntry.idf` is the term's quantised idf, as `coord.WordsOr`
    computes it.
    Impacts are ``scorer._score(weight, length)`` of the searcher's own
    `WeightedBM25F` scorer, the function `searchkit query` calls per match,
    fed with the same term weights and field lengths (tests check equality).
    """
    reader = searcher.reader()
    fields = S.TEXT_FIELD_NAMES
    field_terms = {name: set(reader.field_terms(name)) for name in fields}
    lengths = {name: {d: searcher.doc_field_length(d, name, 1) for d in doc_ids} for name in fields}
    weighting = searcher.weighting
    # One pass over each posting list, decoding both values (what items_as does).
    decoders = {
        name: (searcher.schema[name].format.decoder("weight"),
               searcher.schema[name].format.decoder("positions"))
        for name in fields
    }  # fmt: skip
    scale = S.SCORE_SCALE
    word_stats = None
    if getattr(weighting, "true_bm25f", False):
        from searchkit.search.scoring import WordStats, quantize

        word_stats = WordStats.of(searcher, weighting)
    lead = fields.index(max(fields, key=S.FIELD_WEIGHTS.__getitem__))
    for term in sorted(set().union(*field_terms.values())):
        impacts: dict[int, int] = {}
        positions: dict[int, list] = {}
        for fi, name in enumerate(fields):
            if term not in field_terms[name]:
                continue
            scorer = weighting.scorer(searcher, name, term)
            length = lengths[name]
            weight_of, positions_of = decoders[name]
            for docnum, value in reader.postings(name, term).all_items():
                eid = doc_ids.get(docnum)
                if eid is None:
                    continue  # a draft or a deleted post
                poss = positions_of(value)
                score = scorer._score(weight_of(value), length[docnum])
                k = round(score * scale)
                if k != score * scale:
                    raise ExportError(f"score {score} of {term!r} is not quantised")
                impacts[eid] = impacts.get(eid, 0) + k
                positions.setdefault(eid, []).append((fi, poss))
        if not impacts:
            continue  # only in drafts
        if word_stats is not None:
            # True BM25F: one saturated number per (word, post), the very
            # function `wordterm.WordTerm` scores with in `searchkit query`.
            for docnum, score in word_stats.impacts(searcher, term).items():
                eid = doc_ids.get(docnum)
                if eid is not None:
                    k = round(score * scale)
                    if k != score * scale:
                        raise ExportError(f"score {score} of {term!r} is not quantised")
                    impacts[eid] = k
        ids = sorted(impacts)
        post = pack(
            n for pair in zip(deltas(ids), (impacts[i] for i in ids), strict=True) for n in pair
        )
        ranked = sorted(ids, key=lambda i: (-impacts[i], i))
        in_lead = [i for i in ranked if any(f == lead for f, _ in positions[i])][:lead_top]
        best = sorted({*ranked[:top], *in_lead})
        entry = TermEntry(term, post, _pack_positions(ids, positions), best, len(ids))
        if idf and word_stats is not None:
            entry.idf = round(quantize(word_stats.idf(term)) * scale)
        yield entry


def _pack_positions(ids: list[int], positions: dict[int, list]) -> str:
    """Per posting: number of fields, then per field: index, count, position gaps."""
    out: list[int] = []
    for i in ids:
        per_field = positions[i]
        out.append(len(per_field))
        for fi, poss in per_field:
            out.extend((fi, len(poss)))
            out.extend(deltas(poss))
    return pack(out)


_MD_NOISE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|[`*_>#]+|<[^>]{0,200}>")


def snippet(post: Post) -> str:
    """A short plain-text excerpt from the first non-empty of `EXCERPT_FIELDS`."""
    for name in S.EXCERPT_FIELDS:
        text = post.text(name)
        if name == "body":  # Markdown; the front-matter fields are plain text
            text = _MD_NOISE.sub(r"\1", text)
        text = " ".join(text.split())
        if text:
            if len(text) <= S.SNIPPET_CHARS:
                return text
            cut = text[: S.SNIPPET_CHARS]
            space = cut.rfind(" ")
            return (cut[:space] if space > S.SNIPPET_CHARS // 2 else cut).rstrip(" ,.;:") + "…"
    return ""
