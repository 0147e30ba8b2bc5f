"""Ranking quality of `searchkit query` on test collections, beside two baselines.

Usage::

    PYTHONPATH=. python benchmarks/ir_eval.py /work/shared/ir          # every collection in it
    PYTHONPATH=. python benchmarks/ir_eval.py /work/shared/ir/cranfield /work/shared/ir/cisi
    PYTHONPATH=. python benchmarks/ir_eval.py /work/shared/ir --cli-check 20

A path is a collection (Cranfield files or a BEIR folder: corpus.jsonl,
queries.jsonl, qrels/test.tsv) or a folder of collections; a missing path is
skipped with a message. Each document becomes a post (title -> title, text ->
summary) in a temporary content folder, indexed by
`searchkit.indexing.build.update_index`.

Queries go through the code path of ``searchkit query --json -n 100 WORDS``:
the query text as a person would type it (`query.plain_words`: words only,
punctuation gone, lower case), then `Searcher.search(text, limit=100)` with
the CLI's defaults (query syntax on, fuzzy fallback on). The library's
``syntax=False`` mode differs from the CLI for a raw query text, not for
these plain words. ``--cli-check N`` runs the console script itself
(``python -m searchkit query``, one process a query) on the first N queries
of each collection and stops if any ranking differs from the library's.

Systems, all in the same run:

- whoosh default (OR group): untuned Whoosh, `TEXT()` fields (lower-case,
  stop words, no stemming), default BM25F, `MultifieldParser` over title and
  text with OR grouping (its default AND grouping finds nearly nothing for
  sentence-long queries and is no longer shown).
- reference BM25: `bm25s` (method "lucene", k1 1.2, b 0.75) over title and
  text as one field, Lucene's English stop words, PyStemmer's Snowball
  English; the setup of each collection's SOURCE.md anchor. Needs the
  ``bench`` extra (bm25s, PyStemmer); skipped with a message without it.
- searchkit query: as shipped.

nDCG@10, 2026-12-01 (this run's reference BM25 equals each SOURCE.md anchor):

    system                      CACM    CISI    Cran    MED     mean
    whoosh default (OR group)   0.3733  0.3058  0.3594  0.6924  0.4327
    reference BM25 (bm25s)      0.4995  0.3957  0.3695  0.6986  0.4908
    searchkit, per-field BM25F  0.3969  0.3017  0.3840  0.7129  0.4489  (before)
    searchkit, true BM25F       0.4847  0.4217  0.3844  0.7009  0.4979
      + --long-idf              0.4879  0.4268  0.3851  0.7044  0.5010

Metrics follow trec_eval: graded gains, linear gain, log2 discount, ideal
ranking from all judged documents, means over the judged queries. The mean
row is the unweighted mean over the collections (each counts the same).
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
    """A BEIR folder: corpus.jsonl, queries.jsonl, qrels/{split}.tsv (judged queries only)."""
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
    """The collection in ``folder``, whatever its layout."""
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

METRICS = ("nDCG@10", "MRR@10", "R@100")
DEPTH = 100


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


def typed(text: str) -> str:
    """A query as a person would type it into `searchkit query`: its words."""
    from searchkit.search.query import plain_words

    return plain_words(text)


def cli_search(searcher, text: str):
    """`searchkit query --json -n 100 WORDS`, minus the process: the same call
    `search.search_fresh` makes, with the CLI's default options."""
    return searcher.search(typed(text), limit=DEPTH, syntax=True, fuzzy_fallback=True)


def searchkit_run(searcher, coll: Collection, ids: dict[str, str]) -> dict[str, list[str]]:
    """Every query of ``coll`` through the CLI's code path."""
    return {
        qid: [ids[h.path] for h in cli_search(searcher, text).hits]
        for qid, text in coll.queries.items()
    }


def cli_check(coll: Collection, content: Path, index_dir: Path, ids, run, count: int) -> None:
    """Run the console script on ``count`` queries; exit if a ranking differs."""
    import os
    import subprocess

    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    for qid in list(coll.queries)[:count]:
        cmd = [sys.executable, "-m", "searchkit", "query", "--json", "-n", str(DEPTH)]
        cmd += ["--content", str(content), "--index", str(index_dir), "--"]
        cmd += typed(coll.queries[qid]).split()
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        hits = json.loads(out.stdout)["hits"] if out.stdout else []
        got = [ids[h["path"]] for h in hits]
        if got != run[qid]:
            raise SystemExit(f"{coll.name} query {qid}: the CLI ranks differently")
    print(f"  (console script checked on {count} queries: same rankings)", file=sys.stderr)


def whoosh_baseline(coll: Collection, tmp: Path) -> dict[str, list[str]]:
    """Untuned Whoosh: TEXT() fields, BM25F(), MultifieldParser, OR group."""
    from whoosh import fields, index, qparser

    schema = fields.Schema(id=fields.ID(stored=True), title=fields.TEXT(), text=fields.TEXT())
    ix = index.create_in(str(tmp), schema)
    with ix.writer(limitmb=256) as w:
        for doc_id, (title, text) in coll.docs.items():
            w.add_document(id=doc_id, title=title, text=text)
    run = {}
    with ix.searcher() as s:
        parser = qparser.MultifieldParser(["title", "text"], schema, group=qparser.OrGroup)
        for qid, text in coll.queries.items():
            hits = s.search(parser.parse(typed(text)), limit=DEPTH)
            run[qid] = [h["id"] for h in hits]
    ix.close()
    return run


def reference_bm25(coll: Collection) -> dict[str, list[str]] | None:
    """Lucene-style BM25 (bm25s): k1 1.2, b 0.75, title + text as one field,
    Lucene's English stop words, Snowball English. None without bm25s."""
    try:
        import bm25s
        import Stemmer
    except ImportError:
        print("  (reference BM25 skipped: pip install bm25s PyStemmer)", file=sys.stderr)
        return None
    stemmer = Stemmer.Stemmer("english")
    keys = list(coll.docs)
    corpus = [f"{title} {text}" for title, text in coll.docs.values()]

    def tokens(texts):
        return bm25s.tokenize(
            texts, stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False
        )

    model = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
    model.index(tokens(corpus), show_progress=False)
    vocab = set(model.vocab_dict)
    run = {}
    for qid, words in zip(coll.queries, tokens(list(coll.queries.values())), strict=True):
        words = [w for w in words if w in vocab]
        if not words:
            run[qid] = []
            continue
        docs, scores = model.retrieve([words], k=min(DEPTH, len(keys)), show_progress=False)
        run[qid] = [keys[int(d)] for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
    return run


def row(label: str, m: dict[str, float], base: dict[str, float] | None = None) -> str:
    cells = "".join(f"{m[k]:>9.4f}" for k in METRICS)
    if base:
        cells += "   (" + " ".join(f"{m[k] - base[k]:+.4f}" for k in METRICS) + ")"
    return f"{label:<36}{cells}"


def build_index(coll: Collection, tmp: Path) -> tuple[Path, dict[str, str]]:
    from searchkit.indexing.build import update_index

    content, index_dir = tmp / "content", tmp / "index"
    content.mkdir()
    ids = write_posts(coll, content)
    t0 = time.perf_counter()
    report = update_index(content, index_dir)
    print(f"  indexed {report.indexed} posts in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return index_dir, ids


def evaluate_collection(coll: Collection, cli_queries: int = 0) -> dict[str, dict[str, float]]:
    """Every system's figures on one collection, printed as they come."""
    from searchkit.search.searcher import open_searcher

    print(f"\n{coll.name}: {len(coll.docs)} documents, {len(coll.qrels)} judged queries")
    print(f"{'system':<36}{'nDCG@10':>9}{'MRR@10':>9}{'R@100':>9}")
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="ir_eval_") as tmp:
        tmp = Path(tmp)
        (tmp / "base").mkdir()
        out["whoosh default (OR group)"] = evaluate(whoosh_baseline(coll, tmp / "base"), coll.qrels)
        ref = reference_bm25(coll)
        if ref is not None:
            out["reference BM25 (bm25s)"] = evaluate(ref, coll.qrels)
        index_dir, ids = build_index(coll, tmp)
        t0 = time.perf_counter()
        with open_searcher(index_dir) as s:
            run = searchkit_run(s, coll, ids)
        per_query = (time.perf_counter() - t0) / max(len(coll.queries), 1)
        out["searchkit query"] = evaluate(run, coll.qrels)
        if cli_queries:
            cli_check(coll, tmp / "content", index_dir, ids, run, cli_queries)
    base = out.get("reference BM25 (bm25s)")
    for label, m in out.items():
        print(row(label, m, base if label == "searchkit query" else None))
    print(f"  (searchkit: {per_query * 1000:.1f} ms a query, snippets included)")
    return out


def collection_dirs(paths: list[Path]) -> list[Path]:
    """The collections named, or held one level down; missing ones reported."""
    found = []
    for p in paths:
        if not p.exists():
            print(f"skipped: {p} not found", file=sys.stderr)
        elif (p / "cran.all.1400").exists() or (p / "corpus.jsonl").exists():
            found.append(p)
        else:
            inside = sorted(c for c in p.iterdir() if c.is_dir())
            found += [
                c for c in inside if (c / "cran.all.1400").exists() or (c / "corpus.jsonl").exists()
            ]
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", type=Path, nargs="+", help="collections, or folders of them")
    ap.add_argument(
        "--cli-check",
        type=int,
        default=0,
        metavar="N",
        help="also run the console script on N queries a collection",
    )
    ap.add_argument(
        "--no-long-idf",
        action="store_true",
        help="turn off schema.LONG_QUERY_IDF for this run (no --cli-check then)",
    )
    args = ap.parse_args(argv)
    if args.no_long_idf:
        from searchkit import schema

        schema.LONG_QUERY_IDF = False
        args.cli_check = 0  # the console script would run with the shipped rule
        print("(schema.LONG_QUERY_IDF off for this run)")
    colls = collection_dirs(args.paths)
    if not colls:
        print("skipped: no collection found", file=sys.stderr)
        return 0
    results = {}
    for folder in colls:
        coll = read_collection(folder)
        results[coll.name] = evaluate_collection(coll, args.cli_check)
    if len(results) > 1:
        names = list(results)
        print(f"\nmean over {len(names)} collections ({', '.join(names)})")
        print(f"{'system':<36}{'nDCG@10':>9}{'MRR@10':>9}{'R@100':>9}")
        systems = [s for s in results[names[0]] if all(s in r for r in results.values())]
        means = {
            s: {k: sum(results[n][s][k] for n in names) / len(names) for k in METRICS}
            for s in systems
        }
        base = means.get("reference BM25 (bm25s)")
        for s, m in means.items():
            print(row(s, m, base if s == "searchkit query" else None))
        print("\n(differences are against the reference BM25)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
