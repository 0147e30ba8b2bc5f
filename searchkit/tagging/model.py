"""Tag suggestions: train a model on the tagged posts, suggest tags for others.

The model is one stacked classifier (measured with `searchkit tags eval` on
scottlowe, time split, tags with >= 5 training posts; see docs/tags.md):

* base scores per (post, tag): a one-vs-rest linear SVM on the field-weighted
  TF-IDF vectors (P@1 0.60 alone), a k-NN vote over cosine similarity, k=10
  and k=30 (0.66), the tag's name in the title / text (0.695), the tag's
  share overall, among the posts nearest in date (topics drift: on
  scottlowe `openstack` is on 27 of 1,503 training posts and 108 of 376
  test posts), per `source` and per `post_kind` (linkblog: 0.957 -> 1.000),
  co-occurrence with the tags the post names;
* a small gradient-boosted tree model over those features (P@1 0.776, F1@3
  0.504), trained on out-of-fold base scores so it learns how far to trust
  each kind of evidence. A logistic regression there reached only 0.74.

Everything is stored as JSON and ``.npz`` arrays (`tag_store`); suggesting
runs on numpy alone and never imports scikit-learn.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from searchkit.errors import ModelError
from searchkit.schema import TEXT_FIELD_NAMES, analyzer

from .features import Vectorizer, lexical_matrix, term_counts

ANALYZER = analyzer()

MIN_POSTS = 5  # a tag needs this many tagged training posts to be learned
KNN_K = (10, 30)  # k=10 was best alone; k=30 adds a smoother vote
TIME_WINDOW = 150  # posts nearest in date that give the "recent" prior
FOLDS = 5  # out-of-fold base scores for the meta-model
SVM_C = 1.0  # LinearSVC C: 1.0 beat 0.5 (P@1 0.569 vs 0.537)
FEATURES = (
    "svm", "knn10", "exact_title", "exact_text", "stem_title", "stem_text",
    "named", "named_precision", "log_prior", "svm_rank", "knn_rank",
    "named_svm", "named_knn", "title_named_precision", "knn30", "recent_prior",
    "cooc_named", "cooc_knn", "source_rate", "kind_rate",
)  # fmt: skip


@dataclass(frozen=True)
class Suggestion:
    """One suggested tag: its calibrated score (0-1) and the words behind it."""

    tag: str
    score: float
    reasons: tuple[str, ...] = ()
    present: bool = False  # the post already has this tag (shown with --all)

    def to_json(self) -> dict:
        out = {"tag": self.tag, "score": round(self.score, 4), "reasons": list(self.reasons)}
        if self.present:
            out["present"] = True
        return out


@dataclass
class Base:
    """What the base scorers need: fitted on one set of posts (all, or a fold)."""

    vec: Vectorizer
    W: np.ndarray  # (terms, tags) linear SVM weights
    b: np.ndarray  # (tags,)
    docs: tuple[np.ndarray, np.ndarray, np.ndarray]  # CSC postings (indptr, rows, values)
    Y: np.ndarray  # (docs, tags) uint8: the training posts' tags
    dates: np.ndarray  # (docs,) POSIX seconds
    prior: np.ndarray
    named_precision: np.ndarray
    title_precision: np.ndarray
    cooc: np.ndarray  # (tags, tags): P(column tag | row tag), zero diagonal
    sources: np.ndarray  # (s,) str: front-matter `source` values seen in training
    source_rates: np.ndarray  # (s + 1, tags): smoothed P(tag | source); last row: unseen
    kinds: np.ndarray
    kind_rates: np.ndarray


@dataclass
class TagModel:
    """A trained tag model: base scorers, meta-model trees and thresholds."""

    tags: list[str]  # display names, in column order
    stem_keys: list[str]
    base: Base
    trees: dict[str, np.ndarray]
    threshold: float
    tag_thresholds: np.ndarray
    meta: dict = field(default_factory=dict)

    # ---------------------------------------------------------------- scoring
    def features(self, posts: Sequence, counts: Sequence[Counter] | None = None) -> np.ndarray:
        """Meta-model features, shape (len(posts), tags, len(FEATURES))."""
        return self._features(posts, counts)[0]

    def _features(self, posts: Sequence, counts: Sequence[Counter] | None = None):
        counts = counts if counts is not None else [term_counts(p) for p in posts]
        rows = [self.base.vec.row(c) for c in counts]
        S = np.stack([v @ self.base.W[i] + self.base.b for i, v in rows])
        sims = np.stack([_similarities(self.base.docs, i, v, len(self.base.Y)) for i, v in rows])
        L = np.stack([lexical_matrix(p, self.tags, self.stem_keys) for p in posts])
        return assemble(self.base, S, sims, L, post_context(posts)), L

    def predict(self, posts: Sequence) -> np.ndarray:
        """Calibrated scores, shape (len(posts), tags)."""
        F = self.features(posts)
        return gbm_predict(self.trees, F.reshape(-1, F.shape[2])).reshape(F.shape[:2])

    def suggest(
        self,
        post,
        *,
        limit: int = 5,
        threshold: float | None = None,
        include_present: bool = False,
        n_reasons: int = 3,
    ) -> list[Suggestion]:
        """The best tags for ``post`` above the threshold, best first."""
        counts = term_counts(post)
        F, L = self._features([post], [counts])
        scores = gbm_predict(self.trees, F[0])
        surface = _surface_forms(post)
        have = {t.casefold() for t in post.tags}
        cut = self.tag_thresholds if threshold is None else np.full(len(self.tags), threshold)
        out: list[Suggestion] = []
        for j in np.argsort(-scores, kind="stable"):
            if len(out) >= limit:
                break
            present = self.tags[j].casefold() in have
            if (present and not include_present) or scores[j] < cut[j]:
                continue
            why = self.reasons(counts, int(j), L[0, j], surface, n_reasons)
            out.append(Suggestion(self.tags[j], float(scores[j]), why, present))
        return out

    def reasons(
        self, counts: Counter, j: int, lex: np.ndarray, surface: dict[str, str], n: int = 3
    ) -> tuple[str, ...]:
        """Why tag ``j``: the post names it, and the words that weigh most for it."""
        idx, val = self.base.vec.row(counts)
        contrib = val * self.base.W[idx, j]
        words: list[str] = []
        if lex.sum() > 0:
            where = "title" if lex[0] + lex[2] > 0 else "text"
            words.append(f"names '{self.tags[j]}' in the {where}")
        for k in np.argsort(-contrib):
            if len(words) >= n or contrib[k] <= 0:
                break
            term = self.base.vec.terms[idx[k]]
            if "=" in term:
                words.append(term.replace("=", ": ", 1))
                continue
            shown = " ".join(surface.get(part, part) for part in term.split(" "))
            if shown not in words:
                words.append(shown)
        if not words:  # the k-NN vote or the tag's rates carried it, not words
            words.append("similar posts carry this tag")
        return tuple(words[:n])


def _surface_forms(post) -> dict[str, str]:
    """Analysed term -> the word as the post writes it (for readable reasons)."""
    out: dict[str, str] = {}
    for name in TEXT_FIELD_NAMES:
        text = post.text(name) or ""
        for tok in ANALYZER(text, chars=True):
            out.setdefault(tok.text, text[tok.startchar : tok.endchar].lower())
    return out


@dataclass
class Context:
    """What the features need from posts besides their text: dates, sources, kinds."""

    dates: np.ndarray
    sources: list[str]
    kinds: list[str]

    def __getitem__(self, rows) -> Context:
        pick = np.flatnonzero(np.asarray(rows)) if np.asarray(rows).dtype == bool else rows
        return Context(self.dates[pick], [self.sources[i] for i in pick],
                       [self.kinds[i] for i in pick])  # fmt: skip


def post_context(posts: Sequence) -> Context:
    # A post without a date is treated as new: it gets the most recent prior.
    dates = np.array([p.date.timestamp() if p.date else np.inf for p in posts], np.float64)
    return Context(
        dates, [p.source.casefold() for p in posts], [p.post_kind.casefold() for p in posts]
    )


def group_rates(groups: Sequence[str], Y: np.ndarray, prior: np.ndarray, m: float = 2.0):
    """Distinct group names and P(tag | group), smoothed towards ``prior`` with m posts."""
    names = sorted(set(groups))
    col = {g: i for i, g in enumerate(names)}
    sums = np.zeros((len(names) + 1, Y.shape[1]))
    n = np.zeros(len(names) + 1)
    for g, y in zip(groups, Y, strict=True):
        sums[col[g]] += y
        n[col[g]] += 1
    rates = (sums + m * prior) / (n[:, None] + m)
    return np.array(names, dtype=str), rates.astype(np.float32)


def _lookup(names: np.ndarray, rates: np.ndarray, groups: Sequence[str]) -> np.ndarray:
    col = {str(g): i for i, g in enumerate(names)}
    return rates[[col.get(g, len(names)) for g in groups]]


def _similarities(docs, idx: np.ndarray, val: np.ndarray, n_docs: int) -> np.ndarray:
    """Cosine similarity of one vector to every training post, from CSC postings."""
    indptr, rows, values = docs
    starts, ends = indptr[idx], indptr[idx + 1]
    lens = ends - starts
    if lens.sum() == 0:
        return np.zeros(n_docs, np.float32)
    pos = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(lens.sum())
    return np.bincount(rows[pos], weights=values[pos] * np.repeat(val, lens), minlength=n_docs)


def knn_votes(sims: np.ndarray, Y: np.ndarray, k: int) -> np.ndarray:
    """Similarity-weighted share of the k nearest posts carrying each tag."""
    k = min(k, sims.shape[1])
    idx = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    w = np.take_along_axis(sims, idx, axis=1)
    votes = np.einsum("nk,nkt->nt", w, Y[idx].astype(np.float32))
    return votes / np.maximum(w.sum(1, keepdims=True), 1e-9)


def recent_prior(base: Base, dates: np.ndarray) -> np.ndarray:
    """Each tag's share among the TIME_WINDOW training posts nearest in date."""
    out = np.zeros((len(dates), base.Y.shape[1]), np.float32)
    finite = np.where(np.isfinite(base.dates), base.dates, 0)
    for i, d in enumerate(dates):
        dist = np.abs(finite - (finite.max() if not np.isfinite(d) else d))
        nearest = np.argsort(dist, kind="stable")[:TIME_WINDOW]
        out[i] = base.Y[nearest].mean(0)
    return out


def _ranks(S: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.argsort(np.argsort(-S, axis=1, kind="stable"), axis=1))


def assemble(base: Base, S, sims, L, ctx: Context) -> np.ndarray:
    """Stack the FEATURES for every (post, tag) from the base scores."""
    n = S.shape[0]
    K10, K30 = (knn_votes(sims, base.Y, k) for k in KNN_K)
    named = (L.sum(2) > 0).astype(np.float32)
    title_named = ((L[:, :, 0] + L[:, :, 2]) > 0).astype(np.float32)
    lx = np.log1p(L)
    cols = [
        S, K10, lx[:, :, 0], lx[:, :, 1], lx[:, :, 2], lx[:, :, 3],
        named, named * base.named_precision, np.tile(np.log(base.prior + 1e-4), (n, 1)),
        _ranks(S), _ranks(K10), named * S, named * K10, title_named * base.title_precision,
        K30, recent_prior(base, ctx.dates),
        (named[:, :, None] * base.cooc[None]).max(1), (K10[:, :, None] * base.cooc[None]).max(1),
        _lookup(base.sources, base.source_rates, ctx.sources),
        _lookup(base.kinds, base.kind_rates, ctx.kinds),
    ]  # fmt: skip
    return np.stack(cols, axis=2).astype(np.float32)


# ---------------------------------------------------------------- trees


def gbm_predict(trees: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """Probability from exported gradient-boosted trees (numpy only)."""
    roots = trees["roots"]
    node = np.broadcast_to(roots, (X.shape[0], len(roots))).copy()
    rows = np.arange(X.shape[0])[:, None]
    for _ in range(int(trees["max_depth"][0]) + 1):
        leaf = trees["is_leaf"][node]
        if leaf.all():
            break
        go_left = X[rows, trees["feature"][node]] <= trees["threshold"][node]
        step = np.where(go_left, trees["left"][node], trees["right"][node])
        node = np.where(leaf, node, step)
    raw = np.clip(trees["baseline"][0] + trees["value"][node].sum(axis=1), -50, 50)
    return 1.0 / (1.0 + np.exp(-raw))


def training_fingerprint(posts: Sequence) -> str:
    """Changes when a training post's content or tags change."""
    h = hashlib.blake2b(digest_size=12)
    for p in sorted(posts, key=lambda p: p.id):
        h.update(f"{p.id}\0{p.fingerprint}\n".encode())
    return h.hexdigest()


def training_posts(posts: Sequence) -> list:
    """The posts a model learns from: tagged, not drafts."""
    return [p for p in posts if p.tags and not p.draft]


def tag_vocabulary(posts: Sequence, min_posts: int = MIN_POSTS) -> list[str]:
    """Tags with at least ``min_posts`` posts, case-folded, each shown as most often written."""
    counts: Counter[str] = Counter()
    written: dict[str, Counter[str]] = {}
    for p in posts:
        for t in p.tags:
            counts[t.casefold()] += 1
            written.setdefault(t.casefold(), Counter())[t] += 1
    keep = sorted(t for t, n in counts.items() if n >= min_posts)
    return [written[t].most_common(1)[0][0] for t in keep]


def label_matrix(posts: Sequence, tags: Sequence[str]) -> np.ndarray:
    col = {t.casefold(): j for j, t in enumerate(tags)}
    Y = np.zeros((len(posts), len(tags)), np.uint8)
    for i, p in enumerate(posts):
        for t in p.tags:
            if t.casefold() in col:
                Y[i, col[t.casefold()]] = 1
    return Y


def check_trainable(posts: Sequence, tags: Sequence[str]) -> None:
    if len(tags) < 2:
        raise ModelError(
            f"not enough tagged posts to learn from: {len(posts)} tagged post(s), "
            f"{len(tags)} tag(s) with at least {MIN_POSTS} posts (2 needed)"
        )


__all__ = ["Suggestion", "TagModel", "Base", "MIN_POSTS", "FEATURES", "gbm_predict"]
