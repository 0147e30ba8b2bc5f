"""Measuring the tag model on a site's own tagged posts (`searchkit tags eval`).

Metrics follow Annif: computed per post, then averaged over the test posts
that have at least one tag the model knows (a post whose tags are all too
rare to learn cannot be scored). Thresholded micro/macro F1 use the model's
tuned thresholds. Two splits: time (train on the oldest 80% by date, test on
the newest 20%: what suggesting for new posts faces) and k-fold CV with
iterative stratification (Sechidis et al. 2011) for multi-label data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .features import lexical_matrix
from .model import (
    FEATURES,
    MIN_POSTS,
    candidates,
    label_matrix,
    meta_scores,
    tag_vocabulary,
    training_posts,
)

RANK_METRICS = ("P@1", "P@3", "R@3", "F1@3", "NDCG@5")


def rank_metrics(S: np.ndarray, Y: np.ndarray) -> dict[str, float]:
    """P@1, P@3, R@3, F1@3 (per-post F1 of the top 3), NDCG@5; rows with no gold skipped."""
    keep = Y.sum(1) > 0
    S, Y = S[keep], Y[keep].astype(bool)
    if not len(Y):
        return dict.fromkeys(RANK_METRICS, 0.0)
    order = np.argsort(-S, axis=1, kind="stable")[:, :5]
    top = np.take_along_axis(Y, order, axis=1).astype(float)
    gold = Y.sum(1)
    hits3 = top[:, :3].sum(1)
    disc = 1 / np.log2(np.arange(2, 2 + top.shape[1]))
    ideal = np.array([disc[: min(int(g), top.shape[1])].sum() for g in gold])
    return {
        "P@1": float(top[:, 0].mean()),
        "P@3": float((hits3 / 3).mean()),
        "R@3": float((hits3 / gold).mean()),
        "F1@3": float((2 * hits3 / (3 + gold)).mean()),
        "NDCG@5": float(((top * disc).sum(1) / ideal).mean()),
    }


def threshold_metrics(pred: np.ndarray, Y: np.ndarray) -> dict:
    """Micro/macro F1 and the per-tag support, precision and recall of binary predictions."""
    Y = Y.astype(bool)
    tp = (pred & Y).sum(0)
    npred, ngold = pred.sum(0), Y.sum(0)
    prec = np.where(npred > 0, tp / np.maximum(npred, 1), 0.0)
    rec = np.where(ngold > 0, tp / np.maximum(ngold, 1), 0.0)
    f1 = np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-12), 0.0)
    has = ngold > 0
    return {
        "micro-F1": float(2 * tp.sum() / max(npred.sum() + ngold.sum(), 1)),
        "macro-F1": float(f1[has].mean()) if has.any() else 0.0,
        "per_tag": (ngold, prec, rec),
    }


def time_split(posts: Sequence, train_share: float = 0.8) -> tuple[list, list]:
    """Oldest ``train_share`` of the posts by date for training, newest for testing."""
    ordered = sorted(posts, key=lambda p: (p.date is None, p.date or 0, p.id))
    cut = int(len(ordered) * train_share)
    return ordered[:cut], ordered[cut:]


def iterative_stratification(Y: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """A fold number per row, keeping every label's share even across folds."""
    rng = np.random.default_rng(seed)
    n = len(Y)
    Y = Y.astype(bool)
    want = np.full(k, n / k)
    want_label = np.outer(np.full(k, 1.0 / k), Y.sum(0))
    fold = np.full(n, -1)
    left = np.ones(n, bool)
    while left.any():
        counts = Y[left].sum(0)
        if counts.sum() == 0:
            for r in rng.permutation(np.flatnonzero(left)):
                f = int(np.argmax(want + rng.random(k) * 1e-6))
                fold[r], want[f] = f, want[f] - 1
            break
        label = int(np.argmin(np.where(counts > 0, counts, np.iinfo(np.int64).max)))
        for r in rng.permutation(np.flatnonzero(left & Y[:, label])):
            score = want_label[:, label] * 1e6 + want + rng.random(k) * 1e-6
            f = int(np.argmax(score))
            fold[r] = f
            want[f] -= 1
            want_label[f] -= Y[r]
            left[r] = False
    return fold


@dataclass
class SplitResult:
    """One split's figures: model and baselines, all posts and cold posts."""

    name: str
    n_train: int
    n_test: int
    n_tags: int
    rows: dict[str, dict[str, float]] = field(default_factory=dict)
    per_tag: list[tuple[str, int, float, float]] = field(default_factory=list)
    n_cold: int = 0
    shown: tuple[int, int] = (0, 0)  # suggestions at the model's thresholds, right ones
    threshold: float = 0.0  # the model's global threshold (k-fold: mean over folds)
    folds: int = 1  # k-fold: n_train and n_tags are per fold, n_test and n_cold over all
    n_posts: int = 0  # tagged posts evaluated


def _baselines(train, test, tags, L_te) -> dict[str, np.ndarray]:
    prior = label_matrix(train, tags).mean(0)
    return {
        "most frequent tags": np.tile(prior, (len(test), 1)),
        # Exact name; a title mention counts 4x (a rule of this baseline, not the
        # index field weights); ties go to the commoner tag.
        "tag name in text": L_te[:, :, 0] * 4 + L_te[:, :, 1] + 1e-3 * prior,
    }


# Front-matter fields `tags eval --hide` can empty in the test posts.
HIDEABLE = {"source": "source", "kind": "post_kind"}
SUGGEST_LIMIT = 5  # what `tags suggest` shows by default


def hide_fields(posts: Sequence, hide: Sequence[str]) -> list:
    """``posts`` with the front-matter fields named in ``hide`` emptied."""
    empty = {HIDEABLE[h]: "" for h in hide}
    return [dataclasses.replace(p, **empty) for p in posts]


def suggestions(scores: np.ndarray, threshold, limit: int = SUGGEST_LIMIT) -> np.ndarray:
    """What `tags suggest` shows: up to ``limit`` tags a post scoring >= ``threshold``
    (one value, or one per tag as `TagModel.cutoffs` gives)."""
    return _top_k(scores, limit) & (scores >= threshold)


def evaluate_split(
    name: str, train: Sequence, test: Sequence, *, train_fn, min_posts: int,
    hide: Sequence[str] = (),
):  # fmt: skip
    """Train on ``train``, score ``test``; returns (scores by method, gold, cold mask, ...).

    With ``hide``, the model also scores the test posts with those fields
    emptied (rows "searchkit model, <fields> hidden"): the text must carry it.
    """
    model = train_fn(train, min_posts=min_posts)
    tags = model.tags
    Y = label_matrix(test, tags).astype(bool)
    L = np.stack([lexical_matrix(p, tags, model.stem_keys) for p in test])
    F = model.features(test)
    scores = {
        "searchkit model": meta_scores(model.trees, F, candidates(F, L)),
        **_baselines(train, test, tags, L),
        # The model's own text-only base scorers alone (Annif's `svc`, `tfidf`
        # and a k-NN over the same vectors), to show what the stacking adds.
        "TF-IDF + linear SVM": F[:, :, FEATURES.index("svm")],
        "TF-IDF tag centroid": F[:, :, FEATURES.index("centroid")],
        "TF-IDF k-NN (k=10)": F[:, :, FEATURES.index("knn10")],
    }
    preds = {
        "searchkit model": suggestions(scores["searchkit model"], model.cutoffs()),
        "most frequent tags": _top_k(scores["most frequent tags"], 3),
        "tag name in text": L.sum(2) > 0,
    }
    if hide:
        Fh = model.features(hide_fields(test, hide))
        label = f"searchkit model, {' and '.join(hide)} hidden"
        scores[label] = meta_scores(model.trees, Fh, candidates(Fh, L))
        preds[label] = suggestions(scores[label], model.cutoffs())
    cold = ~((L.sum(2) > 0) & Y).any(1)  # none of the post's tags is named in it
    return model, scores, preds, Y, cold


def _top_k(S: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros(S.shape, bool)
    np.put_along_axis(out, np.argsort(-S, axis=1, kind="stable")[:, :k], True, axis=1)
    return out


def evaluate(
    posts: Sequence,
    *,
    split: str = "time",
    folds: int = 5,
    min_posts: int = MIN_POSTS,
    seed: int = 0,
    hide: Sequence[str] = (),
    log: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SplitResult:
    """Evaluate the model and the baselines on one kind of split.

    ``hide`` (names in HIDEABLE) adds the model's figures on the test posts
    with those front-matter fields emptied.

    ``progress(done, total)`` follows every training and scoring, last at the end.
    """
    import functools

    from .training import TRAIN_STEPS, train_model

    say = log or (lambda _m: None)
    posts = training_posts(posts)
    if split == "time":
        parts = [time_split(posts)]
    else:
        tags = tag_vocabulary(posts, min_posts)
        fold = iterative_stratification(label_matrix(posts, tags), folds, seed)
        parts = [
            ([p for p, f in zip(posts, fold, strict=True) if f != k],
             [p for p, f in zip(posts, fold, strict=True) if f == k])
            for k in range(folds)
        ]  # fmt: skip
    acc: dict[str, list] = {}
    per_tag_acc: dict[str, list] = {}
    result = SplitResult(split, 0, 0, 0, folds=len(parts), n_posts=len(posts))
    step = TRAIN_STEPS + 1  # the training's steps, then scoring the test posts
    total = step * len(parts)
    tell = progress or (lambda _done, _total: None)
    for i, (train, test) in enumerate(parts):
        say(f"{split} split {i + 1}/{len(parts)}: {len(train)} train / {len(test)} test posts")
        fit = functools.partial(
            train_model, progress=lambda done, _n, i=i: tell(i * step + done, total)
        )
        model, scores, preds, Y, cold = evaluate_split(
            split, train, test, train_fn=fit, min_posts=min_posts, hide=hide
        )
        result.n_train += len(train)
        result.n_test += int((Y.sum(1) > 0).sum())
        result.n_tags += len(model.tags)
        result.n_cold += int((cold & (Y.sum(1) > 0)).sum())
        for method, S in scores.items():
            row = rank_metrics(S, Y) | (_thr(preds[method], Y) if method in preds else {})
            acc.setdefault(method, []).append(row)
            acc.setdefault(f"{method} (cold posts)", []).append(rank_metrics(S[cold], Y[cold]))
        shown = preds["searchkit model"] & (Y.sum(1) > 0)[:, None]
        result.shown = (result.shown[0] + int(shown.sum()),
                        result.shown[1] + int((shown & Y).sum()))  # fmt: skip
        result.threshold += model.threshold / len(parts)
        ngold, prec, rec = threshold_metrics(preds["searchkit model"], Y)["per_tag"]
        for j, t in enumerate(model.tags):
            per_tag_acc.setdefault(t, []).append((int(ngold[j]), prec[j], rec[j]))
        tell((i + 1) * step, total)
    k = len(parts)
    result.n_train, result.n_tags = result.n_train // k, result.n_tags // k
    for method, rows in acc.items():
        result.rows[method] = {m: float(np.mean([r[m] for r in rows])) for m in rows[0]}
    for t, vals in sorted(per_tag_acc.items(), key=lambda kv: -sum(v[0] for v in kv[1])):
        sup = sum(v[0] for v in vals)
        result.per_tag.append((t, sup, float(np.mean([v[1] for v in vals])),
                               float(np.mean([v[2] for v in vals]))))  # fmt: skip
    return result


def _thr(pred: np.ndarray, Y: np.ndarray) -> dict[str, float]:
    """Thresholded figures over the posts with a learned tag (as the ranked ones)."""
    keep = Y.sum(1) > 0
    pred, Y = pred[keep], Y[keep].astype(bool)
    m = threshold_metrics(pred, Y)
    hits = int((pred & Y).sum())
    return {
        "micro-F1": m["micro-F1"], "macro-F1": m["macro-F1"],
        "precision": hits / max(int(pred.sum()), 1), "recall": hits / max(int(Y.sum()), 1),
    }  # fmt: skip


def format_result(r: SplitResult, *, per_tag_rows: int = 30) -> str:
    """A Markdown table of one split's figures."""
    title = (
        "Time split (oldest 80% train, newest 20% test)"
        if r.name == "time"
        else ("K-fold cross-validation (iterative stratification), mean over folds")
    )
    cols = list(RANK_METRICS) + ["micro-F1", "macro-F1", "precision", "recall"]
    if r.name == "time":
        counts = (
            f"{r.n_train} training posts, {r.n_test} test posts with a learned tag "
            f"({r.n_cold} cold: none of their tags is named in their text), {r.n_tags} tags."
        )
    else:
        counts = (
            f"{r.folds} folds over {r.n_posts} tagged posts, each tested once: {r.n_test} "
            f"with a learned tag ({r.n_cold} cold: none of their tags is named in their "
            f"text). Per fold: about {r.n_train} training posts, {r.n_tags} tags."
        )
    lines = [
        f"### {title}",
        "",
        counts,
        "",
        "| method | " + " | ".join(cols) + " |",
        "|---|" + "---:|" * len(cols),
    ]
    for method, row in r.rows.items():
        cells = [f"{row[c]:.3f}" if c in row else "" for c in cols]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    n_shown, right = r.shown
    lines += ["", f"At the model's threshold ({r.threshold:.2f}, tuned at training; what `tags "
              f"suggest`, `apply` and `review` use): {n_shown} suggestions, {right} right "
              f"(precision {right / max(n_shown, 1):.2f})."]  # fmt: skip
    lines += ["", "| tag | support | precision | recall |", "|---|---:|---:|---:|"]
    for t, sup, p, rc in r.per_tag[:per_tag_rows]:
        lines.append(f"| {t} | {sup} | {p:.2f} | {rc:.2f} |")
    if len(r.per_tag) > per_tag_rows:
        lines.append(f"| ({len(r.per_tag) - per_tag_rows} more tags) | | | |")
    return "\n".join(lines) + "\n"
