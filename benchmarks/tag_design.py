"""Tag-model design experiments over several corpora (research harness, not shipped API).

Usage:
    python benchmarks/tag_design.py CORPORA_DIR [--corpora scottlowe,digitalgov,...]
                                    [--split time|kfold] [--cache DIR] [--stage base|meta|all]

Stage ``base`` computes, per corpus and split, every base scorer once (the
searchkit model's own text-only base scorers out-of-fold on the training
posts and fitted on all of them for the test posts, plus the in-run
baselines) and caches the arrays under ``--cache`` (default
``/tmp/tagdesign``; no post text is written). Stage ``meta`` reads the cache
and compares meta-models, feature sets, source handling and thresholds, and
prints Markdown tables (per corpus, mean, leave-one-corpus-out, cold posts,
hidden source, precision/recall at the default threshold).

Skips with a message (exit 0) when CORPORA_DIR or a corpus in it is absent.
Run with OMP_NUM_THREADS=1: training is pinned to one thread anyway.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CORPORA = ("scottlowe", "digitalgov", "rubenerd", "linkblog")
FOLDS = 5
SEED = 0
N_LATENT = 150  # TruncatedSVD dimensions for the latent k-NN


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# stage "base": every base score, cached


def _dense(m) -> np.ndarray:
    return np.asarray(m.todense() if hasattr(m, "todense") else m, np.float32)


def _knn(sims: np.ndarray, Y: np.ndarray, k: int) -> np.ndarray:
    from searchkit.tagging.model import knn_votes

    return knn_votes(sims, Y, k).astype(np.float32)


def _svm(Xa, Ya, Xb) -> np.ndarray:
    from sklearn.svm import LinearSVC

    S = np.full((Xb.shape[0], Ya.shape[1]), -1.0, np.float32)
    for j in range(Ya.shape[1]):
        if 0 < Ya[:, j].sum() < len(Ya):
            S[:, j] = LinearSVC(C=1.0, random_state=SEED).fit(Xa, Ya[:, j]).decision_function(Xb)
    return S


def _latent(Xa, Xb):
    """Row-normalised TruncatedSVD projections of train (a) and other (b) rows."""
    from sklearn.decomposition import TruncatedSVD

    k = min(N_LATENT, Xa.shape[0] - 1, Xa.shape[1] - 1)
    svd = TruncatedSVD(k, algorithm="randomized", n_iter=5, random_state=SEED).fit(Xa)
    Za, Zb = svd.transform(Xa), svd.transform(Xb)
    Za /= np.maximum(np.linalg.norm(Za, axis=1, keepdims=True), 1e-9)
    Zb /= np.maximum(np.linalg.norm(Zb, axis=1, keepdims=True), 1e-9)
    return Za, Zb


def base_scores(Xa, Ya, Xb) -> dict[str, np.ndarray]:
    """The searchkit base scorers fitted on rows a, scoring rows b."""
    from sklearn.preprocessing import normalize

    sims = _dense(Xb @ Xa.T)
    Za, Zb = _latent(Xa, Xb)
    lsims = (Zb @ Za.T).astype(np.float32)
    cent = normalize(Ya.T.astype(np.float32) @ Xa)  # one TF-IDF centroid per tag
    return {
        "svm": _svm(Xa, Ya, Xb),
        "knn10": _knn(sims, Ya, 10),
        "knn30": _knn(sims, Ya, 30),
        "lknn10": _knn(lsims, Ya, 10),
        "lknn30": _knn(lsims, Ya, 30),
        "centroid": _dense(Xb @ cent.T),
    }


def annif_baselines(train, test, Ytr) -> dict[str, np.ndarray]:
    """Annif-style baselines on title + tldr + summary (sklearn's own TF-IDF)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    def txt(p):
        return " ".join(x for x in (p.title, p.tldr, p.summary) if x)

    vec = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2, stop_words="english")
    Xa = vec.fit_transform([txt(p) for p in train])
    Xb = vec.transform([txt(p) for p in test])
    cent = normalize(Ytr.T.astype(np.float32) @ Xa)
    sims = _dense(Xb @ Xa.T)
    return {
        "b_svc": _svm(Xa, Ytr, Xb),
        "b_tfidf": _dense(Xb @ cent.T),
        "b_knn": _knn(sims, Ytr, 10),
    }


def text_counts(post):
    """The searchkit model's term counts: text only, every field counted once."""
    from searchkit.tagging.features import term_counts

    return term_counts(post)


def splits(posts, split: str):
    from searchkit.tagging.evaluate import iterative_stratification, time_split
    from searchkit.tagging.model import label_matrix, tag_vocabulary

    if split == "time":
        return [time_split(posts)]
    fold = iterative_stratification(label_matrix(posts, tag_vocabulary(posts)), FOLDS, SEED)
    return [
        ([p for p, f in zip(posts, fold, strict=True) if f != k],
         [p for p, f in zip(posts, fold, strict=True) if f == k])
        for k in range(FOLDS)
    ]  # fmt: skip


def build_base(corpus_dir: Path, split: str, cache: Path) -> None:
    from searchkit.site.posts import load_posts
    from searchkit.tagging.features import Vectorizer, lexical_matrix, tag_stem_key
    from searchkit.tagging.model import label_matrix, tag_vocabulary, training_posts

    posts = training_posts(load_posts(corpus_dir).posts)
    for part, (train, test) in enumerate(splits(posts, split)):
        out = cache / f"{corpus_dir.name}-{split}-{part}.npz"
        if out.exists():
            continue
        t0 = time.perf_counter()
        tags = tag_vocabulary(train)
        stems = [tag_stem_key(t) for t in tags]
        Ytr, Yte = label_matrix(train, tags), label_matrix(test, tags)
        ctr, cte = [text_counts(p) for p in train], [text_counts(p) for p in test]
        vec = Vectorizer.fit(ctr)
        Xtr, Xte = vec.matrix(ctr), vec.matrix(cte)
        arrays: dict[str, np.ndarray] = {
            "Ytr": Ytr, "Yte": Yte,
            "Ltr": np.stack([lexical_matrix(p, tags, stems) for p in train]),
            "Lte": np.stack([lexical_matrix(p, tags, stems) for p in test]),
            "dtr": np.array([p.date.timestamp() if p.date else np.inf for p in train]),
            "dte": np.array([p.date.timestamp() if p.date else np.inf for p in test]),
            "srctr": np.array([p.source.casefold() for p in train], dtype=str),
            "srcte": np.array([p.source.casefold() for p in test], dtype=str),
            "kindtr": np.array([p.post_kind.casefold() for p in train], dtype=str),
            "kindte": np.array([p.post_kind.casefold() for p in test], dtype=str),
        }  # fmt: skip
        n = len(train)
        fold = np.random.default_rng(SEED).permutation(n) % FOLDS
        arrays["fold"] = fold
        oof: dict[str, np.ndarray] = {}
        for f in range(FOLDS):
            a, b = fold != f, fold == f
            for k, v in base_scores(Xtr[a], Ytr[a], Xtr[b]).items():
                oof.setdefault(k, np.zeros((n, len(tags)), np.float32))[b] = v
            log(f"{corpus_dir.name} {split}/{part}: fold {f} done")
        arrays.update({f"{k}_tr": v for k, v in oof.items()})
        arrays.update({f"{k}_te": v for k, v in base_scores(Xtr, Ytr, Xte).items()})
        arrays.update(annif_baselines(train, test, Ytr))
        np.savez(out, **arrays)
        log(f"{out.name}: {n} train, {len(test)} test, {len(tags)} tags, "
            f"{time.perf_counter() - t0:.0f} s")  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpora_dir", type=Path)
    ap.add_argument("--corpora", default=",".join(CORPORA))
    ap.add_argument("--split", choices=["time", "kfold"], default="time")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/tagdesign"))
    ap.add_argument("--stage", choices=["base", "meta", "all"], default="all")
    args = ap.parse_args()
    if not args.corpora_dir.is_dir():
        print(f"skipped: corpora folder not found: {args.corpora_dir}")
        return 0
    names = [c for c in args.corpora.split(",") if (args.corpora_dir / c).is_dir()]
    for c in set(args.corpora.split(",")) - set(names):
        print(f"skipped: corpus not found: {args.corpora_dir / c}")
    args.cache.mkdir(parents=True, exist_ok=True)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        if args.stage in ("base", "all"):
            for c in names:
                build_base(args.corpora_dir / c, args.split, args.cache)
        if args.stage in ("meta", "all"):
            from tag_design_meta import run_meta  # noqa: PLC0415 (sibling script)

            run_meta(names, args.split, args.cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
