"""`searchkit export`: write the client-side search index (and a demo page).

Layout of an export folder (format in docs/export-format.md)::

    searchkit.json        metadata: analyser, ranking rule, shard table (+ .gz)
    searchkit.js          the JavaScript client (plain ES module)
    searchkit-ui.js/.css  the drop-in search box built on it (docs/search-box.md)
    data-<hash>/t/N.json  term shards: packed postings with precomputed impacts,
                          and the display rows of each term's best posts
    data-<hash>/p/G.json  positions of the terms of POSITION_GROUP shards (for phrases only)
    data-<hash>/d/N.json  display data, a few posts per file
    data-<hash>/f.json    dates and tag lists, for filters and date sorting
    index.html, searchkit-demo.css, searchkit-demo.js   with --demo

Data folders are named by a hash of their content and never change once
written; `searchkit.json` is switched last with an atomic rename, so a
visitor sees the old export or the new one, never a mix. Small sites get
everything inline in `searchkit.json`.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import itertools
import json
import math
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from searchkit import schema as S
from searchkit.atomic import write_atomic
from searchkit.config import Config
from searchkit.indexing import store
from searchkit.indexing.build import worker_processes
from searchkit.search.scoring import default_weighting
from searchkit.site.urls import Link, site_url_rule

from .data import (
    ExportDoc,
    TermEntry,
    analysis_meta,
    combination_rule,
    export_ids,
    label_table,
    scored_terms,
    snippet,
    url_base,
)
from .packing import deltas, pack

Progress = Callable[[int, int], None]

FORMAT_VERSION = 5
META = "searchkit.json"
CLIENT = "searchkit.js"
UI_FILES = ("searchkit-ui.js", "searchkit-ui.css")
DEMO_FILES = ("index.html", "searchkit-demo.css", "searchkit-demo.js")
# A term shard is cut at this many bytes of packed postings plus display
# rows: a query fetches about one shard per word, and the shard already holds
# the display data of the posts it most likely shows, so most queries need no
# second round trip (docs/export-format.md, "Term shard"). bench_export,
# later queries at 10,000 posts: median 3.9 kB and 18 ms in 1-2 files (format
# 1, display data fetched after the shards: 6.3 kB and 35.6 ms in 3-9 files).
# Format 5's rows gzip less well: 16,000 / 15,000 / 14,000 bytes gave a
# median of 4.0 / 3.8 / 3.7 kB for 30.62 / 30.63 / 30.64 MB, 3,089 / 3,173 /
# 3,273 files (smaller shards share fewer rows, but few rows are shared).
SHARD_BYTES = 14_000
# Display rows stored in each term's shard: those of its best posts (by
# impact, ties by id: a one-word query's first page) and of its best posts
# with the word in the title (the hits of a query of several words usually
# have its words in their title: `export_rows_per_word` in searchkit.toml,
# default 50). Each row is also in the display chunks.
# Measured on linkblog (1,638 posts), 25 benchmark queries needing a second
# request / export size: 10 and 50 rows: 5 / 18.2 MB; 10 and 0: 8 / 17.1 MB;
# 5 and 20: 19 / 13.6 MB; 0 and 50: 20 / 6.3 MB (no rows: 25 / 3.1 MB).
ROWS_PER_TERM = 10
# Words in no title bring rows only if at least this share of the posts has
# them (`rke2`, a feed's name, is in no title of the linkblog's release notes).
# Simulated on linkblog, queries whose first page comes in one round trip
# (26 benchmark / 300 two-word title queries) and export size, rows for every
# word / title words only / title words or 3 %: 1,638 posts 18/26, 216/300,
# 18.8 MB; 16, 204, 9.8 MB; 18, 208, 10.5 MB. 10,000 posts 20, 214, 59.5 MB;
# 19, 208, 32.1 MB; 20, 210, 32.8 MB.
ROWS_COMMON_SHARE = 0.03
# Below this many bytes of postings (plus ~100 per post), one file is smaller
# and faster than a metadata file plus shards: the 51 sample posts make an
# 80 kB file, 35 kB gzip, fetched in one request.
SINGLE_FILE_BYTES = 120_000
# Term shards whose positions share one file: positions are fetched for
# "quoted phrases" only, so fewer, larger files cost little (a phrase's words
# fetch about 4 shards' positions, ~25 kB raw at 10,000 posts).
POSITION_GROUP = 4
# Posts per display-data file, for the hits whose rows are not in the shards
# a query fetched (and for date-sorted and word-less queries); larger chunks
# mean more bytes per hit, since hits are rarely neighbours in path order.
DOC_CHUNK = 8
# ... and larger chunks above this many of them, so that big sites stay within
# static hosts' file limits (Cloudflare Pages: 20,000 files, .gz twins
# included): 50,000 posts make 2,000 chunks of 25 (6,250 of 8 before).
MAX_DOC_CHUNKS = 2000
# Client behaviour outside the ranking rule (type-ahead and typos).
CLIENT_OPTIONS = {
    "prefixMin": 2,  # characters before the last word also matches as a prefix
    "prefixMax": 50,  # expansions of a prefix, most frequent first
    # Shards a prefix or a typo may look at: while typing "co" the client
    # would otherwise fetch every shard of terms starting with "co". Type-ahead
    # reads the one holding the prefix's most frequent word (usually the
    # shard of the word as typed, fetched anyway: no extra request).
    "prefixShards": 1,
    "fuzzyShards": 2,
    "prefixWeight": 0.5,  # a prefix expansion counts half an exact match
    "fuzzyLong": 8,  # words this long allow 2 edits, shorter ones 1
    "fuzzyWeight": 0.25,  # a typo match counts a quarter of an exact match
}


@dataclass
class ExportReport:
    """What one export wrote."""

    out: Path
    posts: int = 0
    terms: int = 0
    shards: int = 0
    files: int = 0
    bytes: int = 0
    gzip_bytes: int = 0
    seconds: float = 0.0
    files_written: list[str] = field(default_factory=list)

    def summary(self) -> str:
        layout = "one file" if self.shards == 0 else f"{self.shards} term shards"
        return (
            f"exported {self.posts} posts, {self.terms} terms ({layout}) to {self.out}: "
            f"{self.files} files, {self.bytes / 1024:.0f} kB ({self.gzip_bytes / 1024:.0f} kB "
            f"gzip) in {self.seconds:.1f} s"
        )


# Shares of an export's progress bar per phase (a percentage scale): reading
# the posts, packing the terms' postings, compressing and writing the files.
_READ, _TERMS, _WRITE = 10, 70, 20


def export_site(
    cfg: Config, out: Path | str, *, demo: bool = False, progress: Progress | None = None
) -> ExportReport:
    """Export the non-draft posts of ``cfg``'s (up-to-date) index to ``out``.

    ``progress(done, 100)`` is called as phases advance, last when all is written.
    """
    tell = progress or (lambda _done, _total: None)
    from searchkit.indexing.safe_pickle import open_index

    start = time.perf_counter()
    out = Path(out)
    # A reader's lease, as `searchkit query` takes: an index run meanwhile
    # keeps this generation (the worker processes open it by its path).
    lease = store.ReaderLease(cfg.index)
    try:
        ix = open_index(lease.generation)
        try:
            with ix.searcher(weighting=default_weighting()) as searcher:
                meta, data = _build(cfg, searcher, lease.generation, tell)
        finally:
            ix.close()
    finally:
        lease.release()
    report = _write(out, meta, data, demo, tell)
    tell(100, 100)
    report.seconds = time.perf_counter() - start
    return report


def _build(cfg: Config, searcher, gen: Path, tell: Progress) -> tuple[dict, dict[str, object]]:
    reader = searcher.reader()
    doc_ids = export_ids(searcher)
    tell(0, 100)
    rule = combination_rule(searcher.schema)
    entries = []
    terms = scored_terms(
        searcher,
        doc_ids,
        ROWS_PER_TERM,
        cfg.export_rows_per_word,
        bool(rule.get("longIdf")),
        common=math.ceil(ROWS_COMMON_SHARE * len(doc_ids)),
        index_dir=gen,
        workers=worker_processes(len(doc_ids)),
    )
    with terms as (n_terms, scored):
        # While the workers score terms: display data from what the index
        # stores, as `searchkit query` shows hits.
        url_of = site_url_rule(cfg)
        docs = [_doc(i, reader.stored_fields(d), url_of) for d, i in doc_ids.items()]
        tell(_READ, 100)
        for entry in scored:
            entries.append(entry)
            if len(entries) % 1000 == 0:
                tell(_READ + _TERMS * len(entries) // max(n_terms, 1), 100)
    tell(_READ + _TERMS, 100)
    meta = {
        "format": "searchkit-export",
        "version": FORMAT_VERSION,
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "posts": len(docs),
        "analysis": analysis_meta(),
        "ranking": {
            "scoreScale": S.SCORE_SCALE,
            "fields": list(S.TEXT_FIELD_NAMES),
            # All informational: already inside the impacts.
            "scorer": S.SCORER,  # "bm25f": one saturation per (word, post)
            "weights": S.FIELD_WEIGHTS,
            "bm25": (
                {"B": S.BM25F_B, "K1": S.BM25F_K1, "idf": "robertson"}
                if S.SCORER == "bm25f"
                else {"B": S.BM25_B, "K1": S.BM25_K1}
            ),
            "combine": rule,
            "ties": "id",  # ids follow post paths in code point order
        },
        "client": CLIENT_OPTIONS,
    }
    # The base URL the rule joins to (read once, with the site's settings).
    return meta, _layout(meta, entries, docs, url_of.keywords["base_url"])


def _doc(i: int, stored: dict, url_of: Callable[[Link], str]) -> ExportDoc:
    path, title, kind = stored["path"], stored.get("title", ""), stored.get("post_kind", "")
    link = {k: stored.get(k) or "" for k in ("url", "external_url", "slug", "local_date")}
    date = stored.get("date")
    return ExportDoc(
        id=i,
        path=path,
        url=url_of(Link.stored(path, title, kind, link)),
        title=title,
        date=date.replace(tzinfo=dt.UTC) if date else None,
        tags=[t for t in stored.get("tags", "").split(",") if t],
        source=stored.get("source", ""),
        kind=kind,
        snippet=snippet({name: stored.get(name) or "" for name in S.EXCERPT_FIELDS}),
    )


def _shard(entries: list[TermEntry], rows: list[list] | None = None) -> tuple[dict, dict]:
    """A term shard (with the display rows of its terms' best posts) and its positions."""
    terms: dict[str, object] = {"t": [e.term for e in entries], "p": [e.postings for e in entries]}
    if entries and entries[0].idf is not None:  # the long-query rule: quantised idfs
        terms["q"] = pack(e.idf or 0 for e in entries)
    if rows is not None:
        ids = sorted({i for e in entries for i in e.top})
        terms["i"] = pack(deltas(ids))
        terms["d"] = [rows[i] for i in ids]
    return terms, [e.positions for e in entries]


def _filters(docs: list[ExportDoc]) -> dict:
    """Dates (Unix seconds, zigzag gaps) and each tag's posts, for filters and sorting."""
    seconds, prev = [], 0
    for d in docs:
        s = int(d.date.timestamp()) if d.date else prev
        gap = s - prev
        seconds.append(gap * 2 if gap >= 0 else -gap * 2 - 1)
        prev = s
    by_tag: dict[str, list[int]] = {}
    for d in docs:
        for t in {t.lower() for t in d.tags}:
            by_tag.setdefault(t, []).append(d.id)
    tags = sorted(by_tag, key=lambda t: (-len(by_tag[t]), t))
    undated = pack(deltas(d.id for d in docs if not d.date))
    return {
        "d": pack(seconds),
        "nd": undated,
        "tags": tags,
        "tp": [pack(deltas(by_tag[t])) for t in tags],
    }


def _layout(
    meta: dict, entries: list[TermEntry], docs: list[ExportDoc], base: str = ""
) -> dict[str, object]:
    """Fill ``meta`` with the shard table (or inline data); return the data files.

    ``base``: the site's base URL, left out of the display rows' URLs where it can be.
    """
    meta["terms"] = len(entries)
    meta["labels"] = labels = label_table(docs)
    meta["urlBase"] = base = url_base([d.url for d in docs], base)
    number = {label: n for n, label in enumerate(labels)}
    size = sum(len(e.term) + len(e.postings) for e in entries) + 100 * len(docs)
    if size <= SINGLE_FILE_BYTES:
        terms, positions = _shard(entries)
        meta["inline"] = {
            "t": terms,
            "x": {"x": [positions]},
            "d": [d.to_json(number, base) for d in docs],
            "f": _filters(docs),
        }
        return {}
    rows = [d.to_json(number, base) for d in docs]
    files: dict[str, object] = {}
    shards = _cut_shards(entries, [len(_dumps(r)) + 1 for r in rows])
    for n, batch in enumerate(shards):
        files[f"t/{n}.json"], positions = _shard(batch, rows)
        group = files.setdefault(f"p/{n // POSITION_GROUP}.json", {"x": []})
        group["x"].append(positions)
    chunk = max(DOC_CHUNK, -(-len(docs) // MAX_DOC_CHUNKS))
    for n in range(0, len(docs), chunk):
        files[f"d/{n // chunk}.json"] = rows[n : n + chunk]
    files["f.json"] = _filters(docs)
    meta["shards"] = {
        "first": _bounds(shards),
        # Per shard, one digit: bit length of its longest postings list, so
        # type-ahead can pick the shards of a prefix's most frequent words.
        "dfBits": pack(min(31, max(e.df for e in batch).bit_length()) for batch in shards),
        "chunk": chunk,
        "posGroup": POSITION_GROUP,
    }
    return files


def _bounds(shards: list[list[TermEntry]]) -> list[str]:
    """Per shard, the shortest start of its first term that sorts after the previous shard."""
    out = [""]
    for prev, batch in itertools.pairwise(shards):
        last, first = prev[-1].term, batch[0].term
        out.append(next(first[:n] for n in range(1, len(first) + 1) if first[:n] > last))
    return out


def _cut_shards(entries: list[TermEntry], row_bytes: list[int]) -> list[list[TermEntry]]:
    """Consecutive terms, about `SHARD_BYTES` of postings and display rows per shard."""
    shards: list[list[TermEntry]] = []
    batch: list[TermEntry] = []
    held: set[int] = set()
    used = 0
    for e in entries:
        cost = len(e.term) + len(e.postings) + sum(row_bytes[i] for i in e.top if i not in held)
        if batch and used + cost > SHARD_BYTES:
            shards.append(batch)
            batch, held, used = [], set(), 0
            cost = len(e.term) + len(e.postings) + sum(row_bytes[i] for i in e.top)
        batch.append(e)
        held.update(e.top)
        used += cost
    if batch:
        shards.append(batch)
    return shards


def _dumps(data: object) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _gzip(raw: bytes) -> bytes:
    return gzip.compress(raw, 9, mtime=0)


def _write_file(
    path: Path, raw: bytes, report: ExportReport, *, atomic: bool = False, gz: bytes | None = None
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    gz = _gzip(raw) if gz is None else gz
    for target, blob in ((path, raw), (path.with_name(path.name + ".gz"), gz)):
        if atomic:
            write_atomic(target, blob, durable=False)
        else:  # inside a temporary folder that is renamed whole
            target.write_bytes(blob)
    report.files += 1
    report.bytes += len(raw)
    report.gzip_bytes += len(gz)
    report.files_written.append(path.as_posix())


def _write(
    out: Path, meta: dict, data: dict[str, object], demo: bool, tell: Progress
) -> ExportReport:
    report = ExportReport(out=out, posts=meta["posts"], terms=meta["terms"])
    report.shards = len(meta.get("shards", {}).get("first", []))
    out.mkdir(parents=True, exist_ok=True)
    blobs = {name: _dumps(obj) for name, obj in data.items()}
    keep = ""
    if blobs:
        digest = hashlib.sha256()
        for name in sorted(blobs):
            digest.update(name.encode() + b"\0" + blobs[name])
        keep = meta["data"] = f"data-{digest.hexdigest()[:12]}"
        final = out / keep
        if not final.is_dir():
            tmp = out / f".{keep}.{os.getpid()}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                # zlib lets other threads run: compress on every CPU.
                with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
                    zipped = pool.map(_gzip, blobs.values())
                    for i, ((name, raw), gz) in enumerate(zip(blobs.items(), zipped, strict=True)):
                        _write_file(tmp / name, raw, report, gz=gz)
                        tell(_READ + _TERMS + _WRITE * i // len(blobs), 100)
                os.replace(tmp, final)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        else:
            for name, raw in blobs.items():
                report.files += 1
                report.bytes += len(raw)
                report.gzip_bytes += (final / f"{name}.gz").stat().st_size
    web = resources.files("searchkit.export") / "web"
    names = (CLIENT, *UI_FILES, *(DEMO_FILES if demo else ()))
    for name in names:
        _write_file(out / name, (web / name).read_bytes(), report, atomic=True)
    _write_file(out / META, _dumps(meta), report, atomic=True)
    for old in out.glob("data-*"):
        if old.is_dir() and old.name != keep:
            shutil.rmtree(old, ignore_errors=True)
    return report
