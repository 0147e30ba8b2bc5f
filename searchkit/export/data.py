"""What the client-side index holds, computed from the live index generation.

Scores are not recomputed here: every (term, post) impact comes from the
very matcher `searchkit query` uses (`WeightedBM25F` on the same Whoosh
searcher), so field lengths, idf and quantisation are the CLI's own. The
analyser settings and the query combination rule are read from the schema
and the query parser, and described as data for the JavaScript client.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import query as Q
from whoosh.support.charset import accent_map

from searchkit import schema as S
from searchkit.errors import ExportError

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

    def to_json(self, labels: Mapping[str, int] | None = None, url_base: str = "") -> list:
        """The display row: labels in ``labels`` by number, the date as days
        since 1970, the URL without ``url_base`` where the client can restore it.

        Each row is stored about five times (its chunk and the shards of its
        best words), so what repeats across rows is numbered once in the
        metadata's ``labels`` and ``urlBase`` (docs/export-format.md, "Display chunk").
        """
        labels = labels or {}
        day = (self.date.astimezone(dt.UTC).date() - _EPOCH).days if self.date else None
        return [
            short_url(self.url, url_base),
            self.title,
            day,
            [labels.get(t, t) for t in self.tags],
            labels.get(self.source, self.source),
            labels.get(self.kind, self.kind),
            self.snippet,
        ]


_EPOCH = dt.date(1970, 1, 1)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def short_url(url: str, base: str) -> str:
    """``url`` without the leading ``base``, unless what is left could be read as a whole URL."""
    rest = url[len(base) :] if base and url.startswith(base) else ""
    return rest if rest and rest[0] != "/" and not _SCHEME.match(rest) else url


def full_url(stored: str, base: str) -> str:
    """A display row's URL as the client reads it: ``base`` + a short URL, else as stored."""
    whole = not stored or stored[0] == "/" or _SCHEME.match(stored)
    return stored if whole or not base else base + stored


def url_base(urls: list[str], base: str) -> str:
    """``base`` if every URL reads back unchanged through `short_url` and `full_url`, else ""."""
    if not base.endswith("/") or any(full_url(short_url(u, base), base) != u for u in urls):
        return ""
    return base


# Labels (tags, sources, kinds) numbered in the metadata: the most used first,
# while they take at most this many characters (the metadata is fetched before
# every first query). The linkblog's 45 labels take 691 bytes. rubenerd
# (6,677 posts, 4,763 tags), export MB raw / searchkit.json kB with no table,
# 1,000, 2,000, 4,000: 26.03 / 17.8, 24.11 / 17.5, 23.88 / 18.4, 23.65 / 20.2.
LABEL_CHARS = 1_000


def label_table(docs: list[ExportDoc]) -> list[str]:
    """The labels rows refer to by number: the most used first, ties in code point order."""
    uses: dict[str, int] = {}
    for d in docs:
        for label in (*d.tags, d.source, d.kind):
            if label:
                uses[label] = uses.get(label, 0) + 1
    table, chars = [], 0
    for label in sorted(uses, key=lambda t: (-uses[t], t)):
        # A number costs up to 3 characters against the label's own quotes and text.
        if uses[label] < 2 or len(label) < 2 or chars + len(label) + 3 > LABEL_CHARS:
            continue
        table.append(label)
        chars += len(label) + 3
    return table


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


@contextlib.contextmanager
def scored_terms(
    searcher,
    doc_ids: dict[int, int],
    top: int = 0,
    lead_top: int = 0,
    idf: bool = False,
    *,
    common: int = 0,
    index_dir: Path | None = None,
    workers: int = 1,
) -> Iterator[tuple[int, Iterator[TermEntry]]]:
    """Every term of the text fields with its packed postings, in code point order.

    A context manager giving the number of terms (an upper bound: words only
    in drafts are counted, not yielded) and the entries. With ``workers`` > 1,
    forked processes start scoring batches of terms on entering (each on the
    index at ``index_dir``, the generation ``searcher`` reads, opened anew),
    so the caller can do other work before it reads the entries.

    ``doc_ids`` maps Whoosh document numbers of exported posts to export ids.
    `TermEntry.top` names the term's ``top`` highest-impact posts (ties by id:
    a one-word query's first page) and its ``lead_top`` highest-impact posts
    with the term in the most weighted field, the title (where the hits of a
    query of several words usually have them). Words in no title have no
    ``top`` posts unless they are in at least ``common`` posts (0: all have).
    With ``idf`` (the long-query rule), `TermEntry.idf` is the term's
    quantised idf, as `coord.WordsOr` computes it.

    Each posting list is read once, segment by segment, and scored with the
    functions `searchkit query` scores with (`scoring.bm25f_impact` and the
    same `WordStats`, or `WeightedBM25F`'s per-field scorer), fed the same
    term frequencies and field lengths, adding the same floats in the same
    order: the client's impacts are the CLI's to the last bit (tests check).
    """
    scorer = _TermScorer(searcher, doc_ids, top, lead_top, idf, common)
    batches = scorer.batches(workers)
    total = sum(len(b) for b in batches)
    if workers <= 1 or len(batches) < 2 or index_dir is None or not _can_fork():
        yield total, (entry for batch in batches for entry in scorer.entries(batch))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # Not multiprocessing.Pool: when one of its workers dies (killed, out of
    # memory) the batch it held is never answered and the export would wait
    # for ever; an executor reports it.
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(str(index_dir), doc_ids, top, lead_top, idf, common),
    )
    try:
        results = pool.map(_worker_entries, batches)
        yield total, (e for entries in _reported(results, BrokenProcessPool) for e in entries)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _reported(results: Iterator, broken: type[Exception]) -> Iterator:
    try:
        yield from results
    except broken:
        raise ExportError("an export worker process died; nothing was written") from None


def export_ids(searcher) -> dict[int, int]:
    """Whoosh document number -> export id of every live post that is not a
    draft; ids follow paths in code point order (the CLI's tie order)."""
    reader = searcher.reader()
    drafts = set()
    if "draft" in searcher.schema:
        drafts = set(searcher.docs_for_query(Q.Term("draft", True)))
    if reader.has_column("path"):
        column = reader.column_reader("path")
        paths = {d: column[d] for d in reader.all_doc_ids() if d not in drafts}
    else:  # an index written without the path column: read the stored fields
        paths = {d: f["path"] for d, f in reader.iter_docs() if d not in drafts}
    return {d: i for i, d in enumerate(sorted(paths, key=paths.__getitem__))}


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


_WORKER: _TermScorer | None = None


def _start_worker(index_dir: str, doc_ids, top: int, lead_top: int, idf: bool, common: int) -> None:
    global _WORKER
    from searchkit.indexing.safe_pickle import open_index
    from searchkit.search.scoring import default_weighting

    searcher = open_index(Path(index_dir)).searcher(weighting=default_weighting())
    _WORKER = _TermScorer(searcher, doc_ids, top, lead_top, idf, common)


def _worker_entries(terms: list[str]) -> list[TermEntry]:
    assert _WORKER is not None
    return list(_WORKER.entries(terms))


class _TermScorer:
    """Scores and packs the postings of terms, on one searcher (see `scored_terms`)."""

    def __init__(
        self, searcher, doc_ids: dict[int, int], top: int, lead_top: int, idf: bool, common: int
    ):
        from searchkit.search.scoring import WordStats

        self.searcher, self.doc_ids = searcher, doc_ids
        self.top, self.lead_top, self.want_idf, self.common = top, lead_top, idf, common
        self.fields = fields = S.TEXT_FIELD_NAMES
        self.weighting = searcher.weighting
        true_bm25f = getattr(self.weighting, "true_bm25f", False)
        self.stats = WordStats.of(searcher, self.weighting) if true_bm25f else None
        if self.stats is not None and self.stats.fields != fields:
            raise ExportError(f"the scorer adds the fields as {self.stats.fields}, not {fields}")
        leaves = _leaves(searcher.reader())
        self.leaves = [(leaf, base, _Leaf(leaf, fields)) for leaf, base in leaves]
        self.lead = fields.index(max(fields, key=S.FIELD_WEIGHTS.__getitem__))

    def batches(self, workers: int) -> list[list[str]]:
        """Every term in code point order, in batches of about equal work."""
        terms: dict[str, int] = {}
        for _, _, lf in self.leaves:
            for name in self.fields:
                for term, df in lf.terms[name].items():
                    terms[term] = terms.get(term, 0) + df + 4  # + per-term overhead
        if workers <= 1:
            return [sorted(terms)]
        per_batch = sum(terms.values()) / (workers * 64) + 1
        out: list[list[str]] = [[]]
        work = 0
        for term in sorted(terms):
            if work >= per_batch:
                out.append([])
                work = 0
            out[-1].append(term)
            work += terms[term]
        return out

    def entries(self, terms: list[str]) -> Iterator[TermEntry]:
        from searchkit.search.scoring import bm25f_impact, quantize, robertson_idf

        fields, doc_ids, stats = self.fields, self.doc_ids, self.stats
        scale, lead = S.SCORE_SCALE, self.lead
        for term in terms:
            # docnum -> per field: (field index, term frequency, length, positions)
            found: dict[int, list] = {}
            for fi, name in enumerate(fields):
                for leaf, base, lf in self.leaves:
                    if term not in lf.terms[name]:
                        continue
                    length = lf.lengths[name]
                    weight_of, positions_of = lf.decoders[name]
                    gone = lf.deleted
                    for docnum, value in leaf.postings(name, term).all_items():
                        if docnum in gone:
                            continue
                        found.setdefault(base + docnum, []).append(
                            (fi, weight_of(value), length(docnum), positions_of(value))
                        )
            live = [d for d in found if d in doc_ids]
            if not live:
                continue  # only in drafts
            impacts: dict[int, int] = {}
            if stats is not None:
                word_idf = robertson_idf(len(found), stats.n)  # df: live posts, drafts too
                w, b, k1, avg = stats.weights, stats.B, stats.K1, stats.avglen
                for d in live:
                    parts = [(w[fields[f]], b, tf, ln, avg[fields[f]]) for f, tf, ln, _ in found[d]]
                    impacts[doc_ids[d]] = _quantised(bm25f_impact(word_idf, parts, k1), term, scale)
            else:
                scorers = {
                    fi: self.weighting.scorer(self.searcher, fields[fi], term)
                    for d in live
                    for fi, *_ in found[d]
                }
                for d in live:
                    impacts[doc_ids[d]] = sum(
                        _quantised(scorers[fi]._score(tf, ln), term, scale)
                        for fi, tf, ln, _ in found[d]
                    )
            ids = sorted(impacts)
            by_id = {doc_ids[d]: found[d] for d in live}
            post = pack(
                n for pair in zip(deltas(ids), (impacts[i] for i in ids), strict=True) for n in pair
            )
            ranked = sorted(ids, key=lambda i: (-impacts[i], i))
            in_lead = [i for i in ranked if any(f == lead for f, *_ in by_id[i])][: self.lead_top]
            # Only words of some title (or common words) bring rows: what
            # visitors type is mostly words they see in titles, and the other
            # words' rows were 45 % of an export (docs/export-format.md).
            rows = in_lead or len(ids) >= self.common
            best = sorted({*ranked[: self.top], *in_lead}) if rows else []
            positions = {i: [(fi, poss) for fi, _, _, poss in by_id[i]] for i in ids}
            packed = _pack_positions(ids, positions, len(fields))
            entry = TermEntry(term, post, packed, best, len(ids))
            if self.want_idf and stats is not None:
                entry.idf = round(quantize(word_idf) * scale)
            yield entry


def _quantised(score: float, term: str, scale: int) -> int:
    k = round(score * scale)
    if k != score * scale:
        raise ExportError(f"score {score} of {term!r} is not quantised")
    return k


class _Leaf:
    """One segment's terms, deleted posts, field lengths and posting decoders per field."""

    def __init__(self, leaf, fields: tuple[str, ...]):
        from searchkit.whoosh_internals import field_length_bytes, length_table

        # term -> its number of postings (deleted posts included: a work estimate)
        self.terms = {
            name: {
                leaf.schema[name].from_bytes(text): info.doc_frequency()
                for text, info in leaf.iter_field(name)
            }
            for name in fields
        }
        self.deleted: frozenset[int] = frozenset()
        if leaf.has_deletions():
            self.deleted = frozenset(range(leaf.doc_count_all())) - frozenset(leaf.all_doc_ids())
        self.lengths = {}
        for name in fields:
            raw = field_length_bytes(leaf, name)
            if raw is None:
                self.lengths[name] = lambda d, f=name: leaf.doc_field_length(d, f, 1)
            else:
                table = length_table()
                self.lengths[name] = lambda d, raw=raw, table=table: table[raw[d]]
        # One pass over each posting list, decoding both values (what items_as does).
        self.decoders = {
            name: (leaf.schema[name].format.decoder("weight"),
                   leaf.schema[name].format.decoder("positions"))
            for name in fields
        }  # fmt: skip


def _leaves(reader) -> list:
    return reader.leaf_readers() if not reader.is_atomic() else [(reader, 0)]


def _pack_positions(ids: list[int], positions: dict[int, list], n_fields: int) -> str:
    """Per posting, per field holding the term: one code, then the position gaps.

    code = ((count - 1) * n_fields + field) * 2 + (1 if another field follows):
    one character for a word found once or twice in one field, the usual case.
    """
    out: list[int] = []
    for i in ids:
        per_field = positions[i]
        last = len(per_field) - 1
        for k, (fi, poss) in enumerate(per_field):
            if not poss:
                raise ExportError(f"a posting of post {i} has no positions")
            out.append(((len(poss) - 1) * n_fields + fi) * 2 + (k < last))
            out.extend(deltas(poss))
    return pack(out)


_MD_NOISE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|[`*_>#]+|<[^>]{0,200}>")


def snippet(texts: Mapping[str, str]) -> str:
    """A short plain-text excerpt from the first non-empty of `EXCERPT_FIELDS`.

    ``texts``: the fields' text as the index stores it (a `Post` gives the same).
    """
    for name in S.EXCERPT_FIELDS:
        text = texts.get(name) or ""
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
