"""Ranking quality of `searchkit query` on a test collection, beside plain Whoosh.

Usage::

    python benchmarks/ir_eval.py ../shared/ir/cranfield
    python benchmarks/ir_eval.py ../shared/ir/cacm          # any BEIR folder
    python benchmarks/ir_tune.py ../shared/ir/cranfield --part grid --k1 1.2,1.6

Each document becomes a post (title -> title, text -> summary) in a temporary
content folder, indexed by `searchkit.indexing.build.update_index`; every query runs
through `Searcher.search(..., syntax=False)` (the library's plain-words mode,
so ``?``, ``(`` or ``:`` in a query are just punctuation). Prints nDCG@10,
MRR@10 and Recall@100 with trec_eval conventions: graded gains, linear gain,
log2 discount, ideal ranking from all judged documents, means over the
queries that have at least one relevant document.

The baseline in the same run is Whoosh untuned: `TEXT()` fields (its default
StandardAnalyzer: lower-case, stop words, no stemming), default BM25F, the
default `MultifieldParser` over title and text; shown with its default AND
grouping and with OR grouping.

Cranfield (1400 docs, 225 queries), 2026-11-26, shipped constants:

    system                                  nDCG@10  MRR@10   R@100
    whoosh default (AND group)               0.0063  0.0104  0.0049
    whoosh default (OR group)                0.3594  0.5276  0.6990
    searchkit query                          0.3840  0.5613  0.7481
    (reference, Lucene BM25 k1 1.2 b 0.75,
     English stop words, Snowball; not run
     here)                                   0.358   0.533   0.735

Before tuning (title 4, B 0.75, K1 1.2, Whoosh's OrGroup.factory(0.9)) searchkit
scored 0.3608 / 0.5326 / 0.7232. The values tried and their figures are in
`searchkit/schema.py` next to each constant; `ir_tune.py` reruns the grids.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

Qrels = dict[str, dict[str, int]]  # query id -> doc id -> gain (> 0)


@dataclass
class Collection:
    name: str
    docs: dict[str, tuple[str, str]]  # doc id -> (title, text)
    queries: dict[str, str]
    qrels: Qrels


# ---------------------------------------------------------------- readers


def read_cranfield(folder: Path) -> Collection:
    """cran.all.1400, cran.qry and cranqrel (queries numbered 1..225 by position;
    grades 1 = complete answer .. 4 = minimum interest, so gain = 5 - grade;
    -1 lines carry no judgment and are skipped)."""
    docs: dict[str, tuple[str, str]] = {}
    for rec in _dot_records((folder / "cran.all.1400").read_text(errors="replace")):
        docs[rec["I"]] = (" ".join(rec.get("T", "").split()), " ".join(rec.get("W", "").split()))
    queries = {}
    for n, rec in enumerate(_dot_records((folder / "cran.qry").read_text()), 1):
        queries[str(n)] = " ".join(rec.get("W", "").split())
    qrels: Qrels = {}
    for line in (folder / "cranqrel").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3 and 1 <= int(parts[2]) <= 4:
            qrels.setdefault(parts[0], {})[parts[1]] = 5 - int(parts[2])
    return Collection("cranfield", docs, queries, qrels)


def _dot_records(text: str) -> list[dict[str, str]]:
    records: list[dict[str, str]] = []
    key = None
    for line in text.splitlines():
        m = re.match(r"^\.([A-Z])\b ?(.*)$", line)
        if m and m.group(1) == "I":
            records.append({"I": str(int(m.group(2).strip()))})
            key = None
        elif m:
            key = m.group(1)
            records[-1].setdefault(key, "")
        elif key and records:
            records[-1][key] += " " + line
    return records


def read_beir(folder: Path, split: str = "test") -> Collection:
    docs = {}
    with open(folder / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            docs[str(d["_id"])] = (d.get("title") or "", d.get("text") or "")
    qrels: Qrels = {}
    with open(folder / "qrels" / f"{split}.tsv", encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3 or not parts[2].lstrip("-").isdigit():
                continue  # the header
            if int(parts[2]) > 0:
                qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    queries = {}
    with open(folder / "queries.jsonl", encoding="utf-8") as fh:
        for line in fh:
            q = json.loads(line)
            if str(q["_id"]) in qrels:
                queries[str(q["_id"])] = q["text"]
    return Collection(folder.name, docs, queries, qrels)


def read_collection(folder: Path) -> Collection:
    if (folder / "cran.all.1400").exists():
        return read_cranfield(folder)
    if (folder / "corpus.jsonl").exists():
        return read_beir(folder)
    raise SystemExit(f"{folder}: neither Cranfield files nor a BEIR folder")


# ---------------------------------------------------------------- metrics


def evaluate(run: dict[str, list[str]], qrels: Qrels) -> dict[str, float]:
    """Mean nDCG@10, MRR@10 and Recall@100 over the judged queries."""
    ndcg = mrr = recall = 0.0
    judged = [q for q, rel in qrels.items() if rel]
    for qid in judged:
        rel = qrels[qid]
        ranked = run.get(qid, [])
        dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
        ideal = sorted(rel.values(), reverse=True)[:10]
        idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
        ndcg += dcg / idcg
        first = next((i for i, d in enumerate(ranked[:10]) if rel.get(d, 0) > 0), None)
        mrr += 0.0 if first is None else 1.0 / (first + 1)
        recall += sum(1 for d in ranked[:100] if rel.get(d, 0) > 0) / len(rel)
    n = len(judged) or 1
    return {"nDCG@10": ndcg / n, "MRR@10": mrr / n, "R@100": recall / n}


# ---------------------------------------------------------------- systems


def write_posts(coll: Collection, content: Path) -> dict[str, str]:
    """One post per document; returns post id -> doc id."""
    ids = {}
    for n, (doc_id, (title, text)) in enumerate(coll.docs.items()):
        pid = f"d{n:06d}.md"
        # JSON front matter: any character in a title or text is safe in it.
        meta = {"title": title or " ", "summary": text}
        (content / pid).write_text(json.dumps(meta, ensure_ascii=False) + "\n", encoding="utf-8")
        ids[pid] = doc_id
    return ids


def searchkit_run(searcher, coll: Collection, ids: dict[str, str]) -> dict[str, list[str]]:
    run = {}
    for qid, text in coll.queries.items():
        result = searcher.search(text, limit=100, syntax=False, snippets=False)
        run[qid] = [ids[h.path] for h in result.hits]
    return run


def whoosh_baseline(coll: Collection, tmp: Path) -> dict[str, dict[str, list[str]]]:
    """Untuned Whoosh: TEXT() fields, BM25F(), MultifieldParser, AND and OR groups."""
    from whoosh import fields, index, qparser

    from searchkit.search.query import plain_words

    schema = fields.Schema(id=fields.ID(stored=True), title=fields.TEXT(), text=fields.TEXT())
    ix = index.create_in(str(tmp), schema)
    with ix.writer(limitmb=256) as w:
        for doc_id, (title, text) in coll.docs.items():
            w.add_document(id=doc_id, title=title, text=text)
    runs = {}
    with ix.searcher() as s:
        for label, group in (("AND group", qparser.AndGroup), ("OR group", qparser.OrGroup)):
            parser = qparser.MultifieldParser(["title", "text"], schema, group=group)
            run = {}
            for qid, text in coll.queries.items():
                hits = s.search(parser.parse(plain_words(text)), limit=100)
                run[qid] = [h["id"] for h in hits]
            runs[f"whoosh default ({label})"] = run
    ix.close()
    return runs


def row(label: str, m: dict[str, float], base: dict[str, float] | None = None) -> str:
    cells = "".join(f"{m[k]:>9.4f}" for k in ("nDCG@10", "MRR@10", "R@100"))
    if base:
        cells += "   (" + " ".join(f"{m[k] - base[k]:+.4f}" for k in m) + ")"
    return f"{label:<44}{cells}"


def build_index(coll: Collection, tmp: Path) -> tuple[Path, dict[str, str]]:
    from searchkit.indexing.build import update_index

    content, index_dir = tmp / "content", tmp / "index"
    content.mkdir()
    ids = write_posts(coll, content)
    t0 = time.perf_counter()
    report = update_index(content, index_dir)
    print(f"indexed {report.indexed} posts in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return index_dir, ids


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("collection", type=Path, help="Cranfield folder or BEIR dataset folder")
    args = ap.parse_args(argv)
    if not args.collection.exists():
        print(f"skipped: {args.collection} not found", file=sys.stderr)
        return 0
    coll = read_collection(args.collection)
    print(f"{coll.name}: {len(coll.docs)} documents, {len(coll.qrels)} judged queries\n")
    print(f"{'system':<44}{'nDCG@10':>9}{'MRR@10':>9}{'R@100':>9}")
    with tempfile.TemporaryDirectory(prefix="ir_eval_") as tmp:
        tmp = Path(tmp)
        (tmp / "base").mkdir()
        base_runs = whoosh_baseline(coll, tmp / "base")
        for label, run in base_runs.items():
            base = evaluate(run, coll.qrels)  # the OR group, printed last, is the reference
            print(row(label, base))
        from searchkit.search.searcher import open_searcher

        index_dir, ids = build_index(coll, tmp)
        with open_searcher(index_dir) as s:
            m = evaluate(searchkit_run(s, coll, ids), coll.qrels)
        print(row("searchkit query", m, base))
        print("\n(differences are against the untuned Whoosh OR-group baseline)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
