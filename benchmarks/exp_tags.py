"""Scratch experiments behind the tag model's design (not shipped API).

Usage: MODE=random|forward python benchmarks/exp_tags.py CORPUS
Prints base scorers, a logistic-regression and a tree meta-model on the time
split; metrics here average over all test posts (the shipped `tags eval`
skips posts with no learned tag, as Annif does). See docs/tags.md.
"""

from __future__ import annotations

import sys
import time
from collections import Counter

import numpy as np

from searchkit.site.posts import load_posts
from searchkit.tagging.features import (
    Vectorizer,
    lexical_matrix,
    tag_stem_key,
    term_counts,
)


def metrics(S, Y):
    order = np.argsort(-S, axis=1, kind="stable")
    top = np.take_along_axis(Y, order[:, :5], axis=1).astype(float)
    g = Y.sum(1)
    p1 = top[:, 0].mean()
    h3 = top[:, :3].sum(1)
    p3 = (h3 / 3).mean()
    r3 = np.where(g > 0, h3 / np.maximum(g, 1), 0).mean()
    f3 = np.where(g > 0, 2 * h3 / (3 + g), 0).mean()
    disc = 1 / np.log2(np.arange(2, 7))
    dcg = (top * disc).sum(1)
    ideal = np.array([disc[: min(int(k), 5)].sum() for k in g])
    ndcg = np.where(ideal > 0, dcg / np.maximum(ideal, 1e-9), 0).mean()
    return dict(P1=p1, P3=p3, R3=r3, F3=f3, NDCG5=ndcg)


def fmt(name, m):
    return f"{name:28s} " + " ".join(f"{k}={v:.3f}" for k, v in m.items())


def main(root):
    posts = [p for p in load_posts(root).posts if not p.draft and p.tags]
    posts.sort(key=lambda p: (p.date is None, p.date, p.id))
    n_train = int(len(posts) * 0.8)
    train, test = posts[:n_train], posts[n_train:]
    freq = Counter(t.casefold() for p in train for t in p.tags)
    tags = sorted(t for t, n in freq.items() if n >= 5)
    ti = {t: i for i, t in enumerate(tags)}
    print(len(train), len(test), len(tags), "tags")

    def ymat(ps):
        Y = np.zeros((len(ps), len(tags)), bool)
        for i, p in enumerate(ps):
            for t in p.tags:
                if t.casefold() in ti:
                    Y[i, ti[t.casefold()]] = True
        return Y

    Ytr, Yte = ymat(train), ymat(test)
    t0 = time.time()
    tc_tr = [term_counts(p) for p in train]
    tc_te = [term_counts(p) for p in test]
    stems = [tag_stem_key(t) for t in tags]
    L_tr = np.stack([lexical_matrix(p, tags, stems) for p in train])
    L_te = np.stack([lexical_matrix(p, tags, stems) for p in test])
    print("features", time.time() - t0)
    prior = Ytr.mean(0)
    print(fmt("most frequent", metrics(np.tile(prior, (len(test), 1)), Yte)))
    name = (L_te[:, :, 0] * 4 + L_te[:, :, 1]) + 1e-3 * prior
    print(fmt("name in text (exact)", metrics(name, Yte)))
    name2 = (L_te[:, :, 0] * 4 + L_te[:, :, 1] + L_te[:, :, 2] * 4 + L_te[:, :, 3]) + 1e-3 * prior
    print(fmt("name in text (exact+stem)", metrics(name2, Yte)))
    cold = ~((L_te[:, :, :].sum(2) > 0) & Yte).any(1)
    print("cold test posts", cold.sum())

    vec = Vectorizer.fit(tc_tr)
    Xtr, Xte = vec.matrix(tc_tr), vec.matrix(tc_te)
    print("vocab", len(vec.terms))
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    def base_scores(Xa, Ya, La, Xb, Lb, k=10, C=1.0):
        """svc margins, knn votes, name precision for rows b, models fitted on a."""
        S = np.stack(
            [
                LinearSVC(C=C).fit(Xa, Ya[:, j]).decision_function(Xb)
                if Ya[:, j].any()
                else np.full(Xb.shape[0], -1.0)
                for j in range(Ya.shape[1])
            ],
            1,
        )
        sim = (Xb @ Xa.T).toarray()
        idx = np.argsort(-sim, 1)[:, :k]
        ws = np.take_along_axis(sim, idx, 1)
        K = np.einsum("nk,nkt->nt", ws, Ya[idx].astype(float)) / np.maximum(
            ws.sum(1, keepdims=True), 1e-9
        )
        named_a = La.sum(2) > 0
        prec = ((named_a & Ya).sum(0) + 0.5) / (named_a.sum(0) + 1.0)
        ta = (La[:, :, 0] + La[:, :, 2]) > 0
        prect = ((ta & Ya).sum(0) + 0.5) / (ta.sum(0) + 1.0)
        idx = idx[:, :]
        sim30 = np.argsort(-sim, 1)[:, :30]
        ws = np.take_along_axis(sim, sim30, 1)
        K30 = np.einsum("nk,nkt->nt", ws, Ya[sim30].astype(float)) / np.maximum(
            ws.sum(1, keepdims=True), 1e-9
        )
        co = (Ya.T.astype(float) @ Ya) / np.maximum(Ya.sum(0), 1)[:, None]
        np.fill_diagonal(co, 0)
        Ba = (Xa > 0).astype(np.float32)
        cnt = Ba.T @ Ya.astype(np.float32)
        dfa = np.asarray(Ba.sum(0)).ravel()
        pr = (cnt + 0.1) / (dfa[:, None] + 1.0)
        pr[dfa < 3] = 0
        pr[pr < 0.3] = 0
        from scipy import sparse

        prs = sparse.csr_matrix(pr)
        Bb = (Xb > 0).tocsr()
        A = np.zeros((Xb.shape[0], Ya.shape[1]))
        for i in range(Xb.shape[0]):
            cols = Bb.indices[Bb.indptr[i] : Bb.indptr[i + 1]]
            if len(cols):
                A[i] = prs[cols].max(0).toarray().ravel()
        return S, K, (prec, prect, K30, co, A)

    def feats(S, K, extra, Lb, prior, TP):
        prec, prect, K30, co, A = extra
        n, T = S.shape
        tnamed = ((Lb[:, :, 0] + Lb[:, :, 2]) > 0).astype(float)
        rs = np.argsort(np.argsort(-S, 1), 1)
        rk = np.argsort(np.argsort(-K, 1), 1)
        named = (Lb.sum(2) > 0).astype(float)
        F = [
            S,
            K,
            np.log1p(Lb[:, :, 0]),
            np.log1p(Lb[:, :, 1]),
            np.log1p(Lb[:, :, 2]),
            np.log1p(Lb[:, :, 3]),
            named,
            named * prec[None],
            np.tile(np.log(prior + 1e-4), (n, 1)),
            1 / (1 + rs),
            1 / (1 + rk),
            named * S,
            named * K,
            tnamed * prect[None],
            K30,
            TP,
            (named[:, :, None] * co[None]).max(1),
            (K[:, :, None] * co[None]).max(1),
            A,
        ]
        return np.stack(F, 2)

    t0 = time.time()
    rng = np.random.default_rng(0)
    folds = rng.permutation(len(train)) % 5

    def time_prior(rows_dates, Ya, dates_a, window=150, exclude_self=False):
        out = np.zeros((len(rows_dates), Ya.shape[1]))
        for i, d in enumerate(rows_dates):
            dist = np.abs(dates_a - d)
            if exclude_self:
                dist = np.where(dist == 0, np.inf, dist)
            nn = np.argsort(dist, kind="stable")[:window]
            out[i] = Ya[nn].mean(0)
        return out

    dtr = np.array([p.date.timestamp() for p in train])
    dte = np.array([p.date.timestamp() for p in test])
    NF = 19
    OOF = np.zeros((len(train), len(tags), NF))
    import os

    MODE = os.environ.get("MODE", "random")
    if MODE == "forward":
        blocks = np.arange(len(train)) * 6 // len(train)
        keep = blocks > 0
        for f in range(1, 6):
            a, b = blocks < f, blocks == f
            S, K, prec = base_scores(Xtr[a], Ytr[a], L_tr[a], Xtr[b], L_tr[b])
            TPb = time_prior(dtr[b], Ytr[a], dtr[a])
            OOF[b] = feats(S, K, prec, L_tr[b], Ytr[a].mean(0), TPb)
        OOF, Ytr_m = OOF[keep], Ytr[keep]
    else:
        for f in range(5):
            a, b = folds != f, folds == f
            S, K, prec = base_scores(Xtr[a], Ytr[a], L_tr[a], Xtr[b], L_tr[b])
            TPb = time_prior(dtr[b], Ytr[a], dtr[a])
            OOF[b] = feats(S, K, prec, L_tr[b], Ytr[a].mean(0), TPb)
        Ytr_m = Ytr
    print("oof", time.time() - t0)
    S, K, prec = base_scores(Xtr, Ytr, L_tr, Xte, L_te)
    FT = feats(S, K, prec, L_te, prior, time_prior(dte, Ytr, dtr))
    print(fmt("svc", metrics(S, Yte)))
    print(fmt("knn", metrics(K, Yte)))
    Xm, ym = OOF.reshape(-1, OOF.shape[2]), Ytr_m.reshape(-1)
    Xt = FT.reshape(-1, FT.shape[2])
    mu, sd = Xm.mean(0), Xm.std(0) + 1e-9
    for C in (0.1, 1.0, 10.0):
        meta = LogisticRegression(C=C, max_iter=2000).fit((Xm - mu) / sd, ym)
        P = meta.predict_proba((Xt - mu) / sd)[:, 1].reshape(len(test), -1)
        print(fmt(f"meta lr C={C}", metrics(P, Yte)))
        print(fmt("   cold", metrics(P[cold], Yte[cold])))
    from sklearn.ensemble import HistGradientBoostingClassifier

    t0 = time.time()
    gb = HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.1, max_leaf_nodes=7, random_state=0
    ).fit(Xm, ym)
    P = gb.predict_proba(Xt)[:, 1].reshape(len(test), -1)
    print(fmt("meta gbm", metrics(P, Yte)), time.time() - t0)
    print(fmt("   cold", metrics(P[cold], Yte[cold])))
    np.savez(f"/tmp/exp_feats_{MODE}.npz", OOF=OOF, FT=FT, Ytr=Ytr_m, Yte=Yte, cold=cold)


if __name__ == "__main__":
    main(sys.argv[1])


def analyse(root):
    posts = [p for p in load_posts(root).posts if not p.draft and p.tags]
    posts.sort(key=lambda p: (p.date is None, p.date, p.id))
    n_train = int(len(posts) * 0.8)
    train, test = posts[:n_train], posts[n_train:]
    ftr = Counter(t for p in train for t in p.tags)
    fte = Counter(t for p in test for t in p.tags)
    print("test top", [(t, n, ftr[t]) for t, n in fte.most_common(40)])
    print(
        "test tags/post",
        sum(len(p.tags) for p in test) / len(test),
        "train",
        sum(len(p.tags) for p in train) / len(train),
    )
    for p in test[::40]:
        print(p.date.date(), p.title, "|", p.tags, "|", p.summary[:150])
