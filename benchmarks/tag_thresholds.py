"""Global vs per-tag suggestion thresholds of the shipped tag model, over corpora.

Usage: python benchmarks/tag_thresholds.py CORPUS_DIR [CORPUS_DIR ...]

Per corpus, trains the shipped model (`searchkit.tagging.training`) on the
time split's oldest 80 % of the tagged posts, keeps the out-of-fold scores its
threshold is tuned on, scores the newest 20 %, and prints the test precision /
recall of what `tags suggest` shows (up to 5 tags a post) under each rule:
the shipped global threshold (lowest reaching PRECISION_TARGET on the
out-of-fold suggestions), global thresholds at other targets, and per-tag
thresholds (the same rule per tag; the global one for a tag with fewer than N
out-of-fold suggestions; optionally held within a band around the global
one). A rule is worth adopting only if it raises recall at the same precision
(>= 0.80 on every corpus). A corpus folder that is absent is skipped with a
message. Run with OMP_NUM_THREADS=1 on a shared machine; rubenerd takes minutes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from searchkit.tagging.training import (  # noqa: E402
    PRECISION_TARGET,
    SUGGEST_LIMIT,
    THRESHOLD_GRID,
    suggestion_precision,
)


def scores(corpus: Path) -> dict[str, np.ndarray]:
    """Out-of-fold tuning scores and test scores of the shipped model on the time split."""
    from threadpoolctl import threadpool_limits

    from searchkit.site.posts import load_posts
    from searchkit.tagging import training as T
    from searchkit.tagging.evaluate import time_split
    from searchkit.tagging.model import candidates, meta_scores, tag_vocabulary, training_posts

    with threadpool_limits(1):
        train, test = time_split(training_posts(load_posts(corpus).posts))
        prep = T.Prepared(train, tag_vocabulary(train))
        F = T.out_of_fold(prep)
        C = candidates(F, prep.L)
        copies = T.source_copies(prep.ctx)
        trees = T.export_trees(T.fit_trees(F, prep.Y, C, T.SEED, copies))
        S, Y = T.tuning_scores(trees, F, prep.Y, C, copies)
        base = T.fit_base(prep.vec, prep.X, prep.Y, prep.L, prep.ctx)
        te = T.Prepared(test, prep.tags, prep.vec)
        Fte = T.base_features(base, te.X, te.L, te.ctx)
        return {"S": S, "Y": Y, "Ste": meta_scores(trees, Fte, candidates(Fte, te.L)),
                "Yte": te.Y}  # fmt: skip


def _shown(S: np.ndarray) -> np.ndarray:
    top = np.zeros(S.shape, bool)
    order = np.argsort(-S, axis=1, kind="stable")[:, :SUGGEST_LIMIT]
    np.put_along_axis(top, order, True, axis=1)
    return top


def test_pr(S: np.ndarray, Y: np.ndarray, cut: np.ndarray) -> tuple[float, float]:
    """Precision and recall of up to SUGGEST_LIMIT tags a post scoring >= their cut."""
    keep = Y.sum(1) > 0
    scored, gold = S[keep], Y[keep].astype(bool)
    shown = _shown(scored) & (scored >= cut)
    hits = (shown & gold).sum()
    return float(hits / max(shown.sum(), 1)), float(hits / max(gold.sum(), 1))


def global_cut(S: np.ndarray, Y: np.ndarray, target: float) -> np.ndarray:
    for t in THRESHOLD_GRID:
        if suggestion_precision(S, Y, float(t))[0] >= target:
            return np.full(S.shape[1], float(t))
    return np.full(S.shape[1], float(THRESHOLD_GRID[-1]))


def per_tag_cut(S, Y, target: float, min_n: int, band: float | None = None) -> np.ndarray:
    """Per tag, the lowest threshold whose out-of-fold suggestions of it reach ``target``."""
    glob = float(global_cut(S, Y, PRECISION_TARGET)[0])
    keep = Y.sum(1) > 0
    S, Y = S[keep], Y[keep].astype(bool)
    shown = _shown(S)
    cut = np.full(S.shape[1], glob)
    for j in range(S.shape[1]):
        s, y = S[shown[:, j], j], Y[shown[:, j], j]
        for t in THRESHOLD_GRID:
            sel = s >= t
            if sel.sum() < min_n:
                break  # too few suggestions of this tag to judge: the global threshold
            if y[sel].mean() >= target:
                cut[j] = t
                break
        else:
            cut[j] = THRESHOLD_GRID[-1]
    return np.clip(cut, glob - band, glob + 0.2) if band is not None else cut


RULES = {
    f"global, OOF target {PRECISION_TARGET} (shipped)": lambda S, Y: global_cut(
        S, Y, PRECISION_TARGET
    ),
    **{f"global, OOF target {t}": (lambda S, Y, t=t: global_cut(S, Y, t))
       for t in (0.92, 0.93, 0.95)},
    **{f"per tag, target {t}, N = {n}": (lambda S, Y, t=t, n=n: per_tag_cut(S, Y, t, n))
       for t, n in ((0.94, 10), (0.94, 20), (0.90, 10))},
    **{f"per tag, target 0.94, N = 10, within global -{b} / +0.2":
       (lambda S, Y, b=b: per_tag_cut(S, Y, 0.94, 10, b)) for b in (0.1, 0.2)},
}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpora", type=Path, nargs="+")
    args = ap.parse_args()
    data = {}
    for corpus in args.corpora:
        if not corpus.is_dir():
            print(f"skipped: corpus not found: {corpus}")
            continue
        t0 = time.perf_counter()
        data[corpus.name] = scores(corpus)
        print(f"{corpus.name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    if not data:
        return 0
    names = list(data)
    print("| thresholds | " + " | ".join(names) + " | mean P / R | min P |")
    print("|---|" + "---:|" * (len(names) + 2))
    for rule, fn in RULES.items():
        res = [test_pr(d["Ste"], d["Yte"], fn(d["S"], d["Y"])) for d in data.values()]
        ps, rs = zip(*res, strict=True)
        cells = " | ".join(f"{p:.2f} / {r:.2f}" for p, r in res)
        print(f"| {rule} | {cells} | {np.mean(ps):.2f} / {np.mean(rs):.3f} | {min(ps):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
