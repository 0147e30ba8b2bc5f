"""Fast grid search over searchkit's ranking design, on every test collection.

Usage::

    python benchmarks/ir_grid.py ../shared/ir                 # the grid (about 10 minutes)
    python benchmarks/ir_grid.py ../shared/ir --part loo      # leave one collection out
    python benchmarks/ir_grid.py ../shared/ir --part long     # long-query rules
    python benchmarks/ir_grid.py ../shared/ir --part title    # length normalisation
    python benchmarks/ir_grid.py ../shared/ir --part analysis # stemmer x stop list

The real search path (`ir_eval.py`) takes seconds per setting and collection;
a grid of hundreds of settings over four collections would take hours. This
re-implements the ranking contract of `searchkit.search.coord` with sparse matrices
(per-(term, post) impacts, quantised like the scorer; clause sums; coordinated
OR; the all-words tier; ties by path), so one setting of one collection takes
tens of milliseconds. Its figure for the shipped setting must equal
`ir_eval.py`'s (it does to 0.0003 nDCG@10, MEDLINE); a choice is then
confirmed through `ir_eval.py`, never taken from this file alone. Needs the
``bench`` extra (scipy; bm25s for the Lucene stop list).

Scorers: ``perfield`` is Whoosh's BM25F as searchkit ships it (each field
saturated on its own, idf from the field's own document frequency, the
weighted field scores summed); ``bm25f`` is Robertson/Zaragoza BM25F (field
frequencies normalised by their own length, weighted, summed, then saturated
once, with one idf from the number of posts holding the word in any field).
"""

from __future__ import annotations

import argparse
import itertools
import math
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ir_eval  # noqa: E402

from searchkit import schema  # noqa: E402
from searchkit.search.query import MAX_QUERY_CHARS, plain_words  # noqa: E402

SCALE = schema.SCORE_SCALE
TIER = float(2**20)


def q(x):
    """`scoring.quantize`, elementwise."""
    return np.floor(x * SCALE + 0.5) / SCALE


# ------------------------------------------------------------------ analysis


def make_analyzer(stem: str = "porter", stops: str = "whoosh"):
    """The index analyser with another stemmer or stop list: word -> term or None."""
    stoplist = {
        "whoosh": schema.STOPWORDS,
        "lucene": frozenset(_lucene_stops()),
        "union": schema.STOPWORDS | frozenset(_lucene_stops()),
        "none": frozenset(),
    }[stops]
    flt = schema.FoldStopStemFilter(stoplist=stoplist)
    if stem == "snowball":
        import Stemmer

        snow = Stemmer.Stemmer("english")

        def term(word, flt=flt):
            folded = flt.fold(word)
            if len(folded) < flt.min or folded in flt.stops:
                return None
            return snow.stemWord(folded)

        flt.term = term
    cache: dict[str, str | None] = {}
    words = re.compile(r"\w+(?:\.?\w+)*")

    def analyze(text: str) -> list[str]:
        out = []
        for w in words.findall(text):
            t = cache.get(w, 0)
            if t == 0:
                t = cache[w] = flt.term(w)
            if t is not None:
                out.append(t)
        return out

    return analyze


def _lucene_stops() -> list[str]:
    """Lucene's EnglishAnalyzer stop set (the reference system's, 33 words)."""
    from bm25s.stopwords import STOPWORDS_EN

    return list(STOPWORDS_EN)


# ------------------------------------------------------------------ the index


@dataclass
class Matrices:
    """Per-field term frequencies (posts x terms) and lengths, one analyser."""

    vocab: dict[str, int]
    tf: list[sparse.csc_matrix]  # per field
    lengths: list[np.ndarray]  # Whoosh's byte-quantised lengths, per field
    avg: list[float]  # exact mean lengths (Whoosh: total / post count)
    queries: dict[str, list[tuple[int, int]]]  # query id -> [(term id, times typed)]


def build(coll: ir_eval.Collection, analyze) -> Matrices:
    from whoosh.util.numeric import byte_to_length, length_to_byte

    vocab: dict[str, int] = {}
    fields = [[], []]
    for title, text in coll.docs.values():
        for fi, t in enumerate((title, text)):
            counts: dict[int, int] = {}
            for term in analyze(t):
                tid = vocab.setdefault(term, len(vocab))
                counts[tid] = counts.get(tid, 0) + 1
            fields[fi].append(counts)
    n, v = len(coll.docs), len(vocab)
    tfs, lengths, avg = [], [], []
    for rows in fields:
        r, c, d = [], [], []
        for i, counts in enumerate(rows):
            r += [i] * len(counts)
            c += counts.keys()
            d += counts.values()
        tfs.append(sparse.csc_matrix((d, (r, c)), shape=(n, v), dtype=np.float64))
        exact = np.array([sum(cn.values()) for cn in rows], dtype=np.float64)
        lengths.append(np.array([byte_to_length(length_to_byte(int(x))) for x in exact]))
        avg.append(exact.sum() / n)
    queries = {}
    for qid, text in coll.queries.items():
        counts: dict[int, int] = {}
        # As `searchkit query` reads it: typed words, cut at MAX_QUERY_CHARS.
        for term in analyze(plain_words(text)[:MAX_QUERY_CHARS]):
            tid = vocab.get(term, -1)  # a word no post has: a clause matching nothing
            key = tid if tid >= 0 else -1 - len(counts)
            counts[key] = counts.get(key, 0) + 1
        queries[qid] = list(counts.items())
    return Matrices(vocab, tfs, lengths, avg, queries)


# ------------------------------------------------------------------ scoring


@dataclass(frozen=True)
class Design:
    scorer: str = "perfield"  # or "bm25f"
    title: float = 2.0  # title weight; the text field (summary) has `text`
    text: float = 1.5
    B: float = 0.9
    K1: float = 1.6
    idf: str = "whoosh"  # log(N/(df+1))+1, or "robertson": log(1+(N-df+.5)/(df+.5))
    coord: float = 0.5
    qtf: bool | float = False  # see _times
    tier: bool = True
    msm: float = 0.0  # long queries (>= long_from words): need ceil(msm*n) words
    long_from: int = 10
    prune_df: float = 0.0  # long queries: drop words in more than this share of posts
    qidf: float = 0.0  # long queries: each word's weight times (idf / mean idf) ** qidf
    rm3: tuple = ()  # (fb docs, fb terms, original weight) or ()
    b_title: float | None = None  # true BM25F: the title's own B (None: B)
    avg: str = "all"  # mean field length over "all" posts, or over posts "with" the field
    norm: str = "field"  # "field": each field by its length; "joint": by the weighted sum


def _idf(df, n, kind):
    df = np.asarray(df, dtype=np.float64)
    if kind == "robertson":
        return np.log(1 + (n - df + 0.5) / (df + 0.5))
    return np.log(n / (df + 1)) + 1


def impacts(m: Matrices, d: Design) -> sparse.csc_matrix:
    """Impact of every (post, term): what the exporter writes, one number each."""
    n = m.tf[0].shape[0]
    w = (d.title, d.text)
    if d.scorer == "perfield":
        total = None
        for f, tf in enumerate(m.tf):
            df = np.diff(tf.indptr)
            idf = _idf(df, n, d.idf)
            coo = tf.tocoo()
            norm = 1 - d.B + d.B * m.lengths[f][coo.row] / m.avg[f]
            s = q(w[f] * idf[coo.col] * coo.data * (d.K1 + 1) / (coo.data + d.K1 * norm))
            part = sparse.csc_matrix((s, (coo.row, coo.col)), shape=tf.shape)
            total = part if total is None else total + part
        return total
    # True BM25F: one saturation per word.
    pseudo = None
    joint = sum(w[f] * m.lengths[f] for f in range(len(m.tf)))
    for f, tf in enumerate(m.tf):
        coo = tf.tocoo()
        B = d.b_title if f == 0 and d.b_title is not None else d.B
        avg = m.avg[f]
        if d.avg == "with":
            avg = avg * n / max(1, np.count_nonzero(m.lengths[f]))
        if d.norm == "joint":
            norm = 1 - B + B * joint[coo.row] / joint.mean()
        else:
            norm = 1 - B + B * m.lengths[f][coo.row] / avg
        part = sparse.csc_matrix((w[f] * coo.data / norm, (coo.row, coo.col)), shape=tf.shape)
        pseudo = part if pseudo is None else pseudo + part
    pseudo = pseudo.tocsc()
    pseudo.sort_indices()
    df = np.diff(pseudo.indptr)
    idf = _idf(df, n, d.idf)
    cols = np.repeat(np.arange(pseudo.shape[1]), df)
    x = pseudo.data
    pseudo.data = q(idf[cols] * x * (d.K1 + 1) / (d.K1 + x))
    return pseudo


def rank(m: Matrices, imp: sparse.csc_matrix, d: Design, depth: int = 100) -> dict:
    """query id -> ranked row numbers, by the coord.py contract."""
    run = {}
    for qid, clauses in m.queries.items():
        run[qid] = _rank_one(imp, clauses, d, depth)
    if d.rm3:
        run = _rm3(m, imp, d, run, depth)
    return run


def _rank_one(imp, clauses, d: Design, depth, extra=None):
    known = [(t, c) for t, c in clauses if t >= 0]
    n = len(clauses)
    if not known:
        return []
    size = imp.shape[0]
    long = n >= d.long_from
    if long and d.prune_df:
        df = np.diff(imp.indptr)
        kept = [(t, c) for t, c in known if df[t] <= d.prune_df * size]
        if kept:
            n -= len(known) - len(kept)
            known = kept
    cols = imp[:, [t for t, _ in known]].tocsr()
    times = np.array([_times(c, d.qtf) for _, c in known], dtype=np.float64)
    if long and d.qidf == 0.5:
        # The rule `coord.WordsOr` implements (LONG_QUERY_IDF): sqrt of the
        # word's quantised idf over the mean, each product quantised.
        df = np.diff(imp.indptr)[[t for t, _ in known]]
        idf = q(np.log(1 + (size - df + 0.5) / (df + 0.5)))
        mean = sum(idf.tolist()) / len(idf)  # summed in clause order, as coord.py
        times = times * np.sqrt(idf / mean)
        weighted = cols.multiply(times).tocsr()
        weighted.data = q(weighted.data)
        total = np.asarray(weighted.sum(axis=1)).ravel()
    elif long and d.qidf:
        df = np.diff(imp.indptr)[[t for t, _ in known]]
        idf = np.log(1 + (size - df + 0.5) / (df + 0.5))
        times = times * (idf / idf.mean()) ** d.qidf
    if not (long and d.qidf == 0.5):
        total = np.asarray(cols @ times).ravel()
    matched = np.diff(cols.indptr)  # stored entries: postings (impact may be 0)
    if extra is not None:  # RM3 expansion terms: weighted, outside coordination
        total = total + extra
    score = total if n == 1 else q(total * (1 + d.coord * matched / n))
    keep = matched > 0
    if d.msm and long:
        keep &= matched >= math.ceil(d.msm * n)
    if d.tier and n >= 2:
        score = score + TIER * (matched == n)
    ids = np.flatnonzero(keep)
    order = np.lexsort((ids, -score[ids]))  # score desc, then path (= row) order
    return ids[order[:depth]].tolist()


def _times(count: int, qtf) -> float:
    """A clause's multiplier: 1 (qtf off), its count (qtf True), or the count
    saturated like BM25's query-term k3: (k3 + 1) * c / (k3 + c) (qtf = k3)."""
    if qtf is False or qtf == 0:
        return 1.0
    if qtf is True:
        return float(count)
    return (qtf + 1) * count / (qtf + count)


def _rm3(m, imp, d, run, depth):
    """RM3: the top `fb` posts' term distribution (weighted by their score),
    its `k` strongest terms added with weight (1 - orig) beside the query."""
    fb, k, orig = d.rm3
    tf = (m.tf[0] + m.tf[1]).tocsr()
    lens = np.asarray(tf.sum(axis=1)).ravel()
    out = {}
    for qid, clauses in m.queries.items():
        top = run[qid][:fb]
        if not top:
            out[qid] = run[qid]
            continue
        rel = np.zeros(tf.shape[1])
        for r in top:
            row = tf.getrow(r)
            rel[row.indices] += row.data / max(lens[r], 1)
        rel /= len(top)
        best = np.argsort(-rel)[:k]
        weights = rel[best] / rel[best].sum()
        qt = {t for t, _ in clauses}
        extra_cols = [(t, wt) for t, wt in zip(best, weights, strict=True) if t not in qt]
        if not extra_cols:
            out[qid] = run[qid]
            continue
        sub = imp[:, [t for t, _ in extra_cols]]
        wts = np.array([wt for _, wt in extra_cols]) * (1 - orig) / orig * len(clauses)
        extra = np.asarray(sub @ wts).ravel()
        out[qid] = _rank_one(imp, clauses, d, depth, extra=extra)
    return out


def to_docs(coll, run):
    keys = list(coll.docs)
    return {qid: [keys[r] for r in rows] for qid, rows in run.items()}


# ------------------------------------------------------------------ driver


def collections(root: Path) -> list[ir_eval.Collection]:
    return [ir_eval.read_collection(p) for p in sorted(root.iterdir()) if p.is_dir()]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("root", type=Path)
    ap.add_argument("--part", default="grid", help="grid, analysis, long, loo or title")
    args = ap.parse_args()
    colls = collections(args.root)
    parts = {
        "grid": grid,
        "analysis": analysis,
        "long": long_queries,
        "loo": leave_one_out,
        "title": title_only,
    }
    parts[args.part](colls)
    return 0


def evaluate_all(colls, mats, d: Design) -> dict[str, dict[str, float]]:
    out = {}
    for c in colls:
        m = mats[c.name]
        out[c.name] = ir_eval.evaluate(to_docs(c, rank(m, impacts(m, d), d)), c.qrels)
    return out


def show(label, res):
    names = list(res)
    nd = [res[n]["nDCG@10"] for n in names]
    r100 = [res[n]["R@100"] for n in names]
    cells = " ".join(f"{x:.4f}" for x in nd)
    print(f"{label:<70} {cells}  mean {np.mean(nd):.4f}  R@100 {np.mean(r100):.4f}", flush=True)


def grid(colls) -> None:
    ana = make_analyzer()
    mats = {c.name: build(c, ana) for c in colls}
    print("collections:", " ".join(c.name for c in colls))
    show("per-field, as before (Design())", evaluate_all(colls, mats, Design()))
    rows = []
    space = itertools.product(
        ("perfield", "bm25f"),
        (1.0, 1.5, 2.0, 3.0),
        (0.5, 0.75, 0.9),
        (0.9, 1.2, 1.6, 2.0),
        ("whoosh", "robertson"),
        (0.0, 0.5),
        (False, True),
        (False, True),
    )
    t0 = time.time()
    for scorer, title, B, K1, idf, coord, qtf, tier in space:
        d = Design(scorer, title, 1.0, B, K1, idf, coord, qtf, tier)
        res = evaluate_all(colls, mats, d)
        rows.append((d, res))
    print(f"{len(rows)} settings in {time.time() - t0:.0f}s")
    rows.sort(key=lambda r: -np.mean([v["nDCG@10"] for v in r[1].values()]))
    for d, res in rows[:25]:
        show(_label(d), res)


def _label(d: Design) -> str:
    return (
        f"{d.scorer} t{d.title}/{d.text} B{d.B} K{d.K1} {d.idf[:3]} c{d.coord} "
        f"qtf{int(d.qtf)} tier{int(d.tier)}"
    )


def analysis(colls) -> None:
    for stem, stops in itertools.product(("porter", "snowball"), ("whoosh", "lucene", "union")):
        ana = make_analyzer(stem, stops)
        mats = {c.name: build(c, ana) for c in colls}
        for d in (Design(),):
            show(f"{stem} {stops} {_label(d)}", evaluate_all(colls, mats, d))


def long_queries(colls, base: Design | None = None) -> None:
    """Long-query rules on top of ``base``, and their cost on short queries."""
    from dataclasses import replace

    base = base or CHOSEN
    mats = {c.name: build(c, make_analyzer(*ANALYSIS)) for c in colls}
    lengths = {c.name: [len(mats[c.name].queries[q]) for q in c.queries] for c in colls}
    for c in colls:
        ls = np.array(lengths[c.name])
        print(f"{c.name}: words a query: median {np.median(ls):.0f}, {ls.min()}-{ls.max()}")
    show("base " + _label(base), evaluate_all(colls, mats, base))
    trials = [replace(base, msm=x) for x in (0.2, 0.3, 0.5)]
    trials += [replace(base, prune_df=x) for x in (0.05, 0.1, 0.2)]
    trials += [replace(base, qidf=x) for x in (0.5, 1.0)]
    trials += [
        replace(base, rm3=(fb, k, w)) for fb in (5, 10) for k in (10, 20) for w in (0.5, 0.7)
    ]
    for d in trials:
        t0 = time.perf_counter()
        res = evaluate_all(colls, mats, d)
        extra = f"msm{d.msm} prune{d.prune_df} qidf{d.qidf} rm3{d.rm3}"
        show(f"{extra} ({time.perf_counter() - t0:.1f}s)", res)


def leave_one_out(colls) -> None:
    """Leave-one-collection-out: for each collection, the setting best on the
    mean of the OTHERS, scored on the one left out, beside the shipped choice
    (CHOSEN) and the best setting for that collection alone (its ceiling)."""
    from dataclasses import replace

    mats = {c.name: build(c, make_analyzer(*ANALYSIS)) for c in colls}
    space = [("perfield", "whoosh", "all"), ("bm25f", "robertson", "all")]
    space += [("bm25f", "robertson", "with")]
    space = itertools.product(
        space, (1.0, 2.0, 3.0, 4.0), (0.5, 0.75, 0.9), (1.2, 2.0, 3.0), (0.25, 0.5),
        (False, True), (0.0, 0.5),
    )  # fmt: skip
    rows = []
    t0 = time.time()
    for (scorer, idf, avg), title, B, K1, coord, qtf, qidf in space:
        d = Design(scorer, title, 1.0, B, K1, idf, coord, qtf, True, qidf=qidf, avg=avg)
        res = evaluate_all(colls, mats, d)
        rows.append((d, {n: r["nDCG@10"] for n, r in res.items()}))
    print(f"{len(rows)} settings in {time.time() - t0:.0f}s (nDCG@10)")
    names = [c.name for c in colls]
    chosen = evaluate_all(colls, mats, replace(CHOSEN, qidf=0.5))
    chosen = {n: r["nDCG@10"] for n, r in chosen.items()}
    print(f"{'left out':<12}{'tuned on the others':<58}{'LOO':>8}{'shipped':>9}{'ceiling':>9}")
    loo = []
    for out in names:
        rest = [n for n in names if n != out]
        best = max(rows, key=lambda r: sum(r[1][n] for n in rest))
        top = max(r[1][out] for r in rows)
        loo.append(best[1][out])
        label = _label(best[0]) + f" qidf{best[0].qidf} avg {best[0].avg}"
        print(f"{out:<12}{label:<58}{best[1][out]:>8.4f}{chosen[out]:>9.4f}{top:>9.4f}")
    mean_chosen = sum(chosen.values()) / len(chosen)
    print(f"{'mean':<70}{sum(loo) / len(loo):>8.4f}{mean_chosen:>9.4f}")
    best = max(rows, key=lambda r: sum(r[1].values()))
    print(f"best on all: {_label(best[0])} qidf{best[0].qidf} avg {best[0].avg} mean", end=" ")
    print(f"{sum(best[1].values()) / len(names):.4f}")


def title_only(colls) -> None:
    """Length normalisation choices (all per (word, post): the client keeps
    exact parity): the title's own B, mean lengths over the posts having the
    field, one joint length over the weighted fields."""
    from dataclasses import replace

    mats = {c.name: build(c, make_analyzer(*ANALYSIS)) for c in colls}
    for c in colls:
        share = np.mean(mats[c.name].lengths[1] == 0)
        print(f"{c.name}: {share:.1%} of posts are a title only")
    base = replace(CHOSEN, qidf=0.5)
    show("shipped " + _label(base), evaluate_all(colls, mats, base))
    trials = [replace(base, b_title=b) for b in (0.0, 0.25, 0.5, 0.9, 1.0)]
    trials += [replace(base, avg="with", title=t) for t in (2.0, 3.0)]
    trials += [replace(base, avg="with", b_title=b) for b in (0.25, 0.5)]
    trials += [
        replace(base, norm="joint", B=b, title=t) for b in (0.5, 0.75) for t in (1.5, 2.0, 3.0)
    ]
    for d in trials:
        show(f"b_title {d.b_title} avg {d.avg} norm {d.norm} B{d.B} t{d.title}",
             evaluate_all(colls, mats, d))  # fmt: skip


CHOSEN = Design("bm25f", 3.0, 1.0, 0.75, 3.0, "robertson", 0.25, True, True, avg="with")
ANALYSIS = ("porter", "whoosh")


if __name__ == "__main__":
    sys.exit(main())
