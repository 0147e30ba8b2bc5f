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
    Context,
    TagModel,
    assemble,
    candidates,
    check_trainable,
    group_rates,
    label_matrix,
    meta_scores,
    post_context,
    tag_vocabulary,
    training_fingerprint,
    training_posts,
    without_source,
)

# Meta-model: scikit-learn's GradientBoostingClassifier, whose fitted trees are
# public attributes (``estimators_[i, 0].tree_``, ``init_.class_prior_``), so
# the model is stored without private state. Small trees, as measured before
# (7 leaves beat 15 and 31; 200 rounds at rate 0.1). random_state fixes the
# feature permutation the splitter draws and the rows each tree sees.
GBM_PARAMS = {"n_estimators": 200, "learning_rate": 0.1, "max_leaf_nodes": 7}
# Each tree is fitted on at most this many candidate rows (a seeded subsample),
# so the fit's cost stops growing with the site: on rubenerd's 180,917 rows the
# 200 full-data trees took ~160 s of CPU (270 s wall on a busy machine);
# 60,000 rows a tree took 49 s, with P@1 / F1@3 0.640 / 0.447 vs 0.639 / 0.451
# (time split). 40,000 rows: 33 s, 0.638 / 0.442. scottlowe, digitalgov and
# linkblog have < 40,000 rows and are fitted on all of them; halving rows and
# features there cost scottlowe 0.019 P@1 (benchmarks/tag_design.py).
MAX_TREE_ROWS = 60_000
SEED = 0
# When the training posts name more than one `source`, the meta-model sees
# each post with a source twice: as it is, and with its source hidden (the
# features of a missing or unseen source). It learns what the text alone says,
# so a post with a new or missing source is tagged from its words (linkblog,
# source hidden: P@1 0.02 without this). Copies, not a random share of posts
# hidden: with 30 % of the posts drawn at random, linkblog's source-hidden P@1
# went from 0.933 to 0.954 with the draw (the shipped draw 0.933, below the
# text-only SVM's 0.942); with copies it is 0.948, with no draw to depend on.
# With one source (or none) the source says nothing (its lift is 0 for every
# tag), so no copies: the fit is not doubled for nothing (see docs/tags.md).
# The suggestion threshold: the lowest score at which the out-of-fold
# suggestions (up to SUGGEST_LIMIT per post) reach this precision. The trees
# were fitted on those same rows and new posts drift from old ones, so the
# out-of-fold precision overstates what new posts get: 0.94 is the lowest
# target giving >= 0.80 on every corpus's time split (0.92 gave digitalgov
# 0.77; see docs/tags.md).
PRECISION_TARGET = 0.94
SUGGEST_LIMIT = 5
THRESHOLD_GRID = np.round(np.arange(0.05, 0.99, 0.01), 2)


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
            # random_state: liblinear's dual solver shuffles; seeded, it is repeatable.
            svm = LinearSVC(C=SVM_C, random_state=SEED).fit(X, Y[:, j])
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
    sources, source_rates, source_counts = group_rates(ctx.sources, Y, prior)
    kinds, kind_rates, _ = group_rates(ctx.kinds, Y, prior)
    centroid_norms = np.linalg.norm(np.asarray(X.T @ Y.astype(np.float64)), axis=0)
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
        cooc=cooc.astype(np.float32), centroid_norms=centroid_norms.astype(np.float32),
        sources=sources, source_rates=source_rates, source_counts=source_counts,
        kinds=kinds, kind_rates=kind_rates,
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


def source_copies(ctx: Context) -> np.ndarray:
    """Which training posts the meta-model also sees with their source hidden.

    Every post with a source, when the training posts name two sources or more.
    """
    if len({s for s in ctx.sources if s}) < 2:
        return np.zeros(len(ctx.sources), bool)
    return np.array([bool(s) for s in ctx.sources])


def out_of_fold(prep: Prepared, folds: int = FOLDS, seed: int = SEED, tell=None) -> np.ndarray:
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


def meta_rows(
    F: np.ndarray, Y: np.ndarray, C: np.ndarray, copies: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The meta-model's training rows: the candidate cells ``C`` of the FEATURES ``F``,
    then those of the posts in ``copies`` again with their source hidden."""
    X, y = F[C], Y[C]
    if copies is not None and copies.any():
        D = C & copies[:, None]
        X, y = np.concatenate([X, without_source(F[D])]), np.concatenate([y, Y[D]])
    return X, y


def fit_trees(
    F: np.ndarray, Y: np.ndarray, C: np.ndarray, seed: int = SEED,
    copies: np.ndarray | None = None,
):  # fmt: skip
    """The meta-model, fitted on `meta_rows` of the out-of-fold FEATURES."""
    from sklearn.ensemble import GradientBoostingClassifier

    X, y = meta_rows(F, Y, C, copies)
    subsample = min(1.0, MAX_TREE_ROWS / max(len(y), 1))
    return GradientBoostingClassifier(**GBM_PARAMS, subsample=subsample, random_state=seed).fit(
        X, y
    )


def export_trees(gbm) -> dict[str, np.ndarray]:
    """A fitted GradientBoostingClassifier as plain arrays (see gbm_predict).

    Uses documented attributes only: ``init_.class_prior_`` (the start, as
    log-odds), ``learning_rate`` and each tree's ``tree_`` arrays. A leaf's
    value is stored already multiplied by the learning rate; a leaf points to
    itself, so gbm_predict can step every tree the same number of times.
    """
    parts: dict[str, list] = {k: [] for k in ("feature", "threshold", "left", "right",
                                              "value", "is_leaf", "roots")}  # fmt: skip
    offset, depth = 0, 0
    for est in gbm.estimators_[:, 0]:
        t = est.tree_
        leaf = t.children_left == -1
        own = np.arange(t.node_count, dtype=np.int64)
        parts["roots"].append(offset)
        parts["feature"].append(np.where(leaf, 0, t.feature).astype(np.int32))
        parts["threshold"].append(t.threshold.astype(np.float64))
        parts["left"].append(np.where(leaf, own, t.children_left).astype(np.int64) + offset)
        parts["right"].append(np.where(leaf, own, t.children_right).astype(np.int64) + offset)
        parts["value"].append(t.value[:, 0, 0].astype(np.float64) * gbm.learning_rate)
        parts["is_leaf"].append(leaf)
        depth = max(depth, int(t.max_depth))
        offset += t.node_count
    out = {k: np.concatenate(v) for k, v in parts.items() if k != "roots"}
    out["roots"] = np.array(parts["roots"], np.int64)
    out["max_depth"] = np.array([depth], np.int64)
    p = float(gbm.init_.class_prior_[1])
    out["baseline"] = np.array([np.log(p / (1 - p))], np.float64)
    return out


def suggestion_precision(
    scores: np.ndarray, Y: np.ndarray, t: float, limit: int = SUGGEST_LIMIT
) -> tuple[float, float]:
    """Precision and recall of suggesting up to ``limit`` tags per post scoring >= t."""
    keep = Y.sum(1) > 0
    S, Yb = scores[keep], Y[keep].astype(bool)
    order = np.argsort(-S, axis=1, kind="stable")[:, :limit]
    shown = np.take_along_axis(S, order, axis=1) >= t
    hits = (np.take_along_axis(Yb, order, axis=1) & shown).sum()
    return float(hits / max(shown.sum(), 1)), float(hits / max(Yb.sum(), 1))


def tune_threshold(scores: np.ndarray, Y: np.ndarray, target: float = PRECISION_TARGET) -> float:
    """The lowest THRESHOLD_GRID value whose suggestions reach ``target`` precision.

    One global threshold: per-tag thresholds (shrunk towards the global one)
    cut ranked F1@3 by 0.03-0.04 and made precision unpredictable per site.
    """
    for t in THRESHOLD_GRID:
        if suggestion_precision(scores, Y, float(t))[0] >= target:
            return float(t)
    return float(THRESHOLD_GRID[-1])


def tuning_scores(
    trees: dict[str, np.ndarray], F: np.ndarray, Y: np.ndarray, C: np.ndarray,
    copies: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Scores and tags the threshold is tuned on: the trees' scores of the out-of-fold
    features (held out for the base models, not for the small trees), the
    source-hidden copies included, so the threshold holds for both."""
    S = meta_scores(trees, F, C)
    if not copies.any():
        return S, Y
    Sh = meta_scores(trees, without_source(F[copies]), C[copies])
    return np.concatenate([S, Sh]), np.concatenate([Y, Y[copies]])


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
    from threadpoolctl import threadpool_limits

    tell = (lambda done: progress(done, TRAIN_STEPS)) if progress else (lambda _done: None)
    tell(0)
    # One thread everywhere: BLAS sums in a thread-count-dependent order, and
    # the stored arrays must not depend on the machine (same posts, same bytes).
    with threadpool_limits(1):
        prep = Prepared(posts, tags)
        tell(1)
        F = out_of_fold(prep, seed=seed, tell=lambda f: tell(1 + f))
        C = candidates(F, prep.L)
        copies = source_copies(prep.ctx)
        trees = export_trees(fit_trees(F, prep.Y, C, seed, copies))
        tell(FOLDS + 2)
        threshold = tune_threshold(*tuning_scores(trees, F, prep.Y, C, copies))
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
    tag_thresholds = np.full(len(tags), threshold, np.float32)
    return TagModel(tags, prep.stem_keys, base, trees, threshold, tag_thresholds, meta)
