"""Tag suggestions: train a model on the tagged posts, suggest tags for others.

The model is one stacked classifier, chosen on the mean over four corpora
(time split; see docs/tags.md and benchmarks/tag_design.py):

* base scores per (post, tag), from the text alone: a one-vs-rest linear SVM
  on TF-IDF vectors, k-NN votes (k=10 and 30), cosine to each tag's
  centroid, the tag's name in the title / text, its share overall and among
  the posts nearest in date, co-occurrence with named / voted tags;
* the front matter's `source` and `post_kind` as evidence only: the log-ratio
  of the tag's rate there to its overall rate (0 when the source is missing
  or new), so they raise or lower a tag but cannot name one by themselves;
* gradient-boosted trees (scikit-learn's GradientBoostingClassifier, stored
  from its public attributes) over those features for each post's candidate
  tags, trained on out-of-fold base scores; when the posts come from two
  sources or more, each post with a source is a training row twice, with
  its source and with it hidden (`without_source`).

Everything is stored as JSON and ``.npy`` arrays (`tagging.store`); suggesting
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
# Only these tags of a post are scored by the meta-model: the top N_CANDIDATES
# by the SVM and by the k=30 vote, plus every tag the post names. On the time
# splits this keeps 97-100 % of the right tags (see docs/tags.md) and cuts the
# meta-model's training rows 5-20x on sites with hundreds of tags.
N_CANDIDATES = 20
FEATURES = (
    "svm", "svm_rank", "knn10", "knn30", "knn_rank", "centroid",
    "exact_title", "exact_text", "stem_title", "stem_text", "named",
    "named_precision", "title_named_precision", "log_prior", "recent_prior",
    "named_svm", "named_knn", "cooc_named", "cooc_knn",
    "source_lift", "kind_lift", "source_seen",
)  # fmt: skip
NOT_CANDIDATE = -1.0  # the score of a tag the meta-model did not score (below any)
# The features that carry the post's `source`; `assemble` gives both 0 for a
# source that is missing or was not seen in training.
SOURCE_FEATURES = ("source_lift", "source_seen")


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
    centroid_norms: np.ndarray  # (tags,): norm of the sum of each tag's training vectors
    sources: np.ndarray  # (s,) str: front-matter `source` values seen in training
    source_rates: np.ndarray  # (s + 1, tags): smoothed P(tag | source); last row: unseen
    source_counts: np.ndarray  # (s + 1,): training posts per source; last row (unseen): 0
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
        """Calibrated scores, shape (len(posts), tags); NOT_CANDIDATE where not scored."""
        F, L = self._features(posts)
        return meta_scores(self.trees, F, candidates(F, L))

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
        scores = meta_scores(self.trees, F, candidates(F, L))[0]
        surface = _surface_forms(post)
        have = {t.casefold() for t in post.tags}
        cut = self.cutoffs(threshold)
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

    def cutoffs(self, threshold: float | None = None) -> np.ndarray:
        """The score each tag needs to be suggested: the thresholds tuned at training
        (stored per tag), or ``threshold`` for every tag when given."""
        if threshold is None:
            return np.asarray(self.tag_thresholds, np.float64)
        return np.full(len(self.tags), float(threshold))

    def reasons(
        self, counts: Counter, j: int, lex: np.ndarray, surface: dict[str, str], n: int = 3
    ) -> tuple[str, ...]:
        """Why tag ``j``: the post names it, and the words that weigh most for it."""
        idx, val = self.base.vec.row(counts)
        contrib = val * self.base.W[idx, j]
        words: list[str] = []
        if not len(idx):
            return ("similar posts carry this tag",)
        if lex.sum() > 0:
            where = "title" if lex[0] + lex[2] > 0 else "text"
            words.append(f"names '{self.tags[j]}' in the {where}")
        for k in np.argsort(-contrib):
            if len(words) >= n or contrib[k] <= 0:
                break
            term = self.base.vec.terms[idx[k]]
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
    """Distinct group names, P(tag | group) smoothed towards ``prior`` with m posts, and
    the posts per group; the last row is for a group not seen in training (the prior, 0)."""
    names = sorted(set(groups))
    col = {g: i for i, g in enumerate(names)}
    sums = np.zeros((len(names) + 1, Y.shape[1]))
    n = np.zeros(len(names) + 1)
    for g, y in zip(groups, Y, strict=True):
        sums[col[g]] += y
        n[col[g]] += 1
    rates = (sums + m * prior) / (n[:, None] + m)
    return np.array(names, dtype=str), rates.astype(np.float32), n.astype(np.float32)


def _lookup(names: np.ndarray, rates: np.ndarray, groups: Sequence[str]) -> np.ndarray:
    """Rows of ``rates`` for ``groups``; an unseen (or hidden, empty) group gets the last."""
    col = {str(g): i for i, g in enumerate(names)}
    return rates[[col.get(g, len(names)) if g else len(names) for g in groups]]


def lift(rates: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """log(P(tag | group) / P(tag)): how much a source or kind raises or lowers a tag.

    Text first: the meta-model gets the source only as this ratio, 0 (no
    evidence) for a source not seen in training or missing, never as a rate
    that could stand in for the text's evidence. The current model's raw rate
    gave linkblog P@1 0.02 with the source hidden; see docs/tags.md.
    """
    return np.log((rates + 1e-3) / (prior + 1e-3))


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
    # Annif's "tfidf" scorer (cosine to each tag's centroid) from the same
    # similarities: x . sum(y_i x_i) / |sum(y_i x_i)|.
    centroid = (sims @ base.Y.astype(np.float32)) / np.maximum(base.centroid_norms, 1e-9)
    named = (L.sum(2) > 0).astype(np.float32)
    title_named = ((L[:, :, 0] + L[:, :, 2]) > 0).astype(np.float32)
    lx = np.log1p(L)
    src = _lookup(base.sources, base.source_rates, ctx.sources)
    src_n = _lookup(base.sources, base.source_counts[:, None], ctx.sources)
    cols = [
        S, _ranks(S), K10, K30, _ranks(K10), centroid,
        lx[:, :, 0], lx[:, :, 1], lx[:, :, 2], lx[:, :, 3], named,
        named * base.named_precision, title_named * base.title_precision,
        np.tile(np.log(base.prior + 1e-4), (n, 1)), recent_prior(base, ctx.dates),
        named * S, named * K10,
        _cooc_max(named, base.cooc), _cooc_max(K10, base.cooc),
        lift(src, base.prior),
        lift(_lookup(base.kinds, base.kind_rates, ctx.kinds), base.prior),
        np.broadcast_to(np.log1p(src_n), S.shape),
    ]  # fmt: skip
    return np.stack(cols, axis=2).astype(np.float32)


def without_source(F: np.ndarray) -> np.ndarray:
    """A copy of FEATURES ``F`` as `assemble` gives them with the source missing or unseen."""
    out = F.copy()
    out[..., [FEATURES.index(f) for f in SOURCE_FEATURES]] = 0.0
    return out


def _cooc_max(W: np.ndarray, cooc: np.ndarray, chunk: int = 32) -> np.ndarray:
    """max over tags i of W[n, i] * cooc[i, j], a few posts at a time.

    All at once it is a (posts, tags, tags) array: 1.8 GB for one training
    fold of rubenerd (1,033 posts, 663 tags).
    """
    out = np.zeros(W.shape, np.float32)
    for s in range(0, len(W), chunk):
        out[s : s + chunk] = (W[s : s + chunk, :, None] * cooc[None]).max(1)
    return out


def candidates(F: np.ndarray, L: np.ndarray, n: int = N_CANDIDATES) -> np.ndarray:
    """Which (post, tag) cells the meta-model scores: see N_CANDIDATES."""
    C = L.sum(2) > 0
    if F.shape[1] <= 2 * n:
        return np.ones(F.shape[:2], bool)
    for name in ("svm", "knn30"):
        col = F[:, :, FEATURES.index(name)]
        np.put_along_axis(C, np.argsort(-col, axis=1, kind="stable")[:, :n], True, axis=1)
    return C


def meta_scores(trees: dict[str, np.ndarray], F: np.ndarray, C: np.ndarray) -> np.ndarray:
    """The meta-model's probability for candidate cells, NOT_CANDIDATE elsewhere."""
    out = np.full(F.shape[:2], NOT_CANDIDATE, np.float64)
    out[C] = gbm_predict(trees, F[C])
    return out


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


__all__ = [
    "Suggestion", "TagModel", "Base", "MIN_POSTS", "FEATURES", "gbm_predict", "meta_scores",
    "candidates",
]  # fmt: skip
