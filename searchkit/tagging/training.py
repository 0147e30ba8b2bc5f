"""Training the tag model (the only tagging code that imports scikit-learn)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence

import numpy as np

from .features import Vectorizer, lexical_matrix, tag_stem_key, term_counts
from .model import (
    FEATURES,
    FOLDS,
    MIN_POSTS,
    SVM_C,
    Base,
    TagModel,
    assemble,
    check_trainable,
    gbm_predict,
    group_rates,
    label_matrix,
    post_context,
    tag_vocabulary,
    training_fingerprint,
    training_posts,
)

# Meta-model: small trees, as measured (7 leaves beat 15 and 31: P@1 0.750 vs
# 0.729 / 0.742 on scottlowe's time split, all 376 test posts counted, early
# experiment features; 200 rounds at rate 0.1).
GBM_PARAMS = {"max_iter": 200, "learning_rate": 0.1, "max_leaf_nodes": 7}
THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.01), 2)
# Per-tag thresholds are pulled towards the global one with this many
# pseudo-positives, so a tag with 6 posts does not get a threshold from noise.
THRESHOLD_SHRINK = 20


class Prepared:
    """Per-post inputs computed once and shared by the folds and the final fit."""

    def __init__(self, posts: Sequence, tags: Sequence[str], vec: Vectorizer | None = None):
        self.posts = list(posts)
        self.tags = list(tags)
        self.stem_keys = [tag_stem_key(t) for t in tags]
        self.counts = [term_counts(p) for p in self.posts]
        self.vec = vec or Vectorizer.fit(self.counts)
        self.X = self.vec.matrix(self.counts)
        self.Y = label_matrix(self.posts, tags)
        self.L = np.stack([lexical_matrix(p, tags, self.stem_keys) for p in self.posts])
        self.ctx = post_context(self.posts)


def fit_base(vec: Vectorizer, X, Y: np.ndarray, L: np.ndarray, ctx) -> Base:
    """Fit the base scorers on the posts in X/Y."""
    from sklearn.svm import LinearSVC

    n_tags = Y.shape[1]
    W = np.zeros((X.shape[1], n_tags), np.float32)
    b = np.full(n_tags, -1.0, np.float32)
    for j in range(n_tags):
        if 0 < Y[:, j].sum() < len(Y):
            svm = LinearSVC(C=SVM_C).fit(X, Y[:, j])
            W[:, j] = svm.coef_[0]
            b[j] = svm.intercept_[0]
    # Kept float32: float16 halved the model (29 MB -> 16 MB on scottlowe) but
    # cost P@1 0.776 -> 0.770 and F1@3 0.511 -> 0.503 on the time split.
    named = L.sum(2) > 0
    title_named = (L[:, :, 0] + L[:, :, 2]) > 0
    Yb = Y.astype(bool)
    # Smoothed P(tag | the post names it): some names mean the tag (vmware),
    # some do not (a post saying "intel" is rarely tagged intel on scottlowe).
    named_precision = ((named & Yb).sum(0) + 0.5) / (named.sum(0) + 1.0)
    title_precision = ((title_named & Yb).sum(0) + 0.5) / (title_named.sum(0) + 1.0)
    counts = Y.sum(0).astype(np.float64)
    cooc = (Y.T.astype(np.float64) @ Y) / np.maximum(counts, 1)[:, None]
    np.fill_diagonal(cooc, 0)
    prior = counts / max(len(Y), 1)
    sources, source_rates = group_rates(ctx.sources, Y, prior)
    kinds, kind_rates = group_rates(ctx.kinds, Y, prior)
    csc = X.tocsc()
    csc.sort_indices()
    return Base(
        vec=vec, W=W, b=b,
        docs=(csc.indptr.astype(np.int64), csc.indices.astype(np.int32),
              csc.data.astype(np.float32)),
        Y=Y.astype(np.uint8), dates=ctx.dates.astype(np.float64),
        prior=prior.astype(np.float32),
        named_precision=named_precision.astype(np.float32),
        title_precision=title_precision.astype(np.float32),
        cooc=cooc.astype(np.float32),
        sources=sources, source_rates=source_rates, kinds=kinds, kind_rates=kind_rates,
    )  # fmt: skip


def base_features(base: Base, X, L: np.ndarray, ctx) -> np.ndarray:
    """FEATURES for the posts in X, scored by ``base`` (batch form of TagModel.features)."""
    S = np.asarray(X @ base.W) + base.b
    from scipy import sparse

    train = sparse.csc_matrix((base.docs[2], base.docs[1], base.docs[0]),
                              shape=(len(base.Y), X.shape[1]))  # fmt: skip
    sims = np.asarray((X @ train.T).todense())
    return assemble(base, S, sims, L, ctx)


# Steps of `train_model` for progress: features, one a fold, trees, final fit.
TRAIN_STEPS = FOLDS + 3


def out_of_fold(prep: Prepared, folds: int = FOLDS, seed: int = 0, tell=None) -> np.ndarray:
    """FEATURES of every post, each scored by base models that did not see it."""
    n = len(prep.posts)
    k = max(2, min(folds, n))
    fold = np.random.default_rng(seed).permutation(n) % k
    F = np.zeros((n, len(prep.tags), len(FEATURES)), np.float32)
    for f in range(k):
        a, b = fold != f, fold == f
        base = fit_base(prep.vec, prep.X[a], prep.Y[a], prep.L[a], prep.ctx[a])
        F[b] = base_features(base, prep.X[b], prep.L[b], prep.ctx[b])
        if tell:
            tell(f + 1)
    return F


def fit_trees(F: np.ndarray, Y: np.ndarray, seed: int = 0):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    X, y = F.reshape(-1, F.shape[2]), Y.reshape(-1)
    # One thread: OpenMP's per-split overhead made a 41-post site take 5.2 s
    # instead of 0.9 s, and a 1,503-post one was no faster with two.
    with threadpool_limits(1):
        return HistGradientBoostingClassifier(**GBM_PARAMS, random_state=seed).fit(X, y)


def export_trees(gbm) -> dict[str, np.ndarray]:
    """A fitted HistGradientBoostingClassifier as plain arrays (see gbm_predict)."""
    parts: dict[str, list] = {k: [] for k in ("feature", "threshold", "left", "right",
                                              "value", "is_leaf", "roots")}  # fmt: skip
    offset, depth = 0, 0
    for (tree,) in gbm._predictors:
        nodes = tree.nodes
        parts["roots"].append(offset)
        parts["feature"].append(nodes["feature_idx"].astype(np.int32))
        parts["threshold"].append(nodes["num_threshold"].astype(np.float64))
        parts["left"].append(nodes["left"].astype(np.int64) + offset)
        parts["right"].append(nodes["right"].astype(np.int64) + offset)
        parts["value"].append(nodes["value"].astype(np.float64))
        parts["is_leaf"].append(nodes["is_leaf"].astype(bool))
        depth = max(depth, int(nodes["depth"].max()))
        offset += len(nodes)
    out = {k: np.concatenate(v) for k, v in parts.items() if k != "roots"}
    out["roots"] = np.array(parts["roots"], np.int64)
    out["max_depth"] = np.array([depth], np.int64)
    out["baseline"] = np.asarray(gbm._baseline_prediction, np.float64).ravel()[:1]
    return out


def tune_thresholds(scores: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
    """Global threshold maximising micro-F1, and per-tag ones shrunk towards it."""
    Yb = Y.astype(bool)

    def f1(pred, gold):
        tp = (pred & gold).sum(0)
        return 2 * tp / np.maximum(pred.sum(0) + gold.sum(0), 1)

    micro = [
        2 * (scores >= t)[Yb].sum() / max((scores >= t).sum() + Yb.sum(), 1) for t in THRESHOLD_GRID
    ]
    best = float(THRESHOLD_GRID[int(np.argmax(micro))])
    per_tag = np.stack([f1(scores >= t, Yb) for t in THRESHOLD_GRID])  # (grid, tags)
    tag_best = THRESHOLD_GRID[np.argmax(per_tag, axis=0)]
    n = Yb.sum(0)
    shrunk = (n * tag_best + THRESHOLD_SHRINK * best) / (n + THRESHOLD_SHRINK)
    return best, shrunk.astype(np.float32)


def train_model(
    posts: Sequence,
    *,
    min_posts: int = MIN_POSTS,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TagModel:
    """Train on the tagged, non-draft posts among ``posts``.

    ``progress(done, TRAIN_STEPS)`` is called after each step, last at the end.
    """
    import sklearn

    started = time.perf_counter()
    say = log or (lambda _msg: None)
    posts = training_posts(posts)
    tags = tag_vocabulary(posts, min_posts)
    check_trainable(posts, tags)
    say(f"training on {len(posts)} tagged posts, {len(tags)} tags with >= {min_posts} posts")
    tell = (lambda done: progress(done, TRAIN_STEPS)) if progress else (lambda _done: None)
    tell(0)
    prep = Prepared(posts, tags)
    tell(1)
    F = out_of_fold(prep, seed=seed, tell=lambda f: tell(1 + f))
    gbm = fit_trees(F, prep.Y, seed)
    tell(FOLDS + 2)
    trees = export_trees(gbm)
    # Thresholds are tuned on the trees' scores of the out-of-fold features:
    # held out for the base models; the small trees barely fit them (a 3-fold
    # refit of the trees gave the same global threshold and cost 3x the time).
    P = gbm_predict(trees, F.reshape(-1, F.shape[2])).reshape(prep.Y.shape)
    threshold, tag_thresholds = tune_thresholds(P, prep.Y)
    base = fit_base(prep.vec, prep.X, prep.Y, prep.L, prep.ctx)
    tell(TRAIN_STEPS)
    meta = {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "posts": len(posts),
        "min_posts": min_posts,
        "fingerprint": training_fingerprint(posts),
        "features": list(FEATURES),
        "versions": {"numpy": np.__version__, "scikit-learn": sklearn.__version__},
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    return TagModel(tags, prep.stem_keys, base, trees, threshold, tag_thresholds, meta)
