"""Meta-model stage of `tag_design.py`: features, combiners, source handling, thresholds.

Reads the cached base scores (see tag_design.py) and prints Markdown tables.
Every figure is on the test posts that have at least one learned tag (as
`searchkit tags eval` and Annif count them).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from searchkit.tagging.evaluate import rank_metrics  # noqa: E402
from searchkit.tagging.model import FEATURES  # noqa: E402

SEED = 0
N_CAND = 20  # candidates per scorer and post (see candidates())
SOURCE_DROP = 0.3  # share of meta-model training posts whose source is hidden
COPIES = -1.0  # instead of a share: each post with a source also as a source-hidden row
PRECISION_TARGET = 0.94  # on out-of-fold scores (in-sample for the trees): see threshold_study
GBC = {"n_estimators": 200, "learning_rate": 0.1, "max_leaf_nodes": 7, "random_state": SEED}

BASE_FEATURES = FEATURES  # the shipped model's features (searchkit/tagging/model.py)
LATENT_FEATURES = ("lknn10", "lknn30")
OLD_SOURCE = ("source_rate", "kind_rate")  # the current model's raw rates (for comparison)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _ranks(S):
    return 1.0 / (1.0 + np.argsort(np.argsort(-S, axis=1, kind="stable"), axis=1))


def _rates(groups_a, Ya, prior, groups_b, m=2.0):
    """Smoothed P(tag | group) for rows b and how many training posts had the group
    (the model's own `group_rates`; an unseen group gets its last row, the prior)."""
    from searchkit.tagging.model import group_rates

    names, rates, n = group_rates(list(groups_a), Ya, prior, m)
    col = {g: i for i, g in enumerate(names.tolist())}
    rows = [col.get(g, len(names)) for g in groups_b]
    return rates[rows], n[rows]


def context(Ya, La, da, sa, ka, Lb, db, sb, kb, K10b):
    """Features that need the training posts' tags (computed per fold)."""
    Yb_ = Ya.astype(np.float64)
    prior = Yb_.mean(0)
    named_a = La.sum(2) > 0
    tn_a = (La[:, :, 0] + La[:, :, 2]) > 0
    npre = ((named_a & Ya.astype(bool)).sum(0) + 0.5) / (named_a.sum(0) + 1.0)
    tpre = ((tn_a & Ya.astype(bool)).sum(0) + 0.5) / (tn_a.sum(0) + 1.0)
    cnt = Yb_.sum(0)
    cooc = (Yb_.T @ Yb_) / np.maximum(cnt, 1)[:, None]
    np.fill_diagonal(cooc, 0)
    finite = np.where(np.isfinite(da), da, 0)
    rp = np.zeros((len(db), Ya.shape[1]))
    for i, d in enumerate(db):
        dist = np.abs(finite - (finite.max() if not np.isfinite(d) else d))
        rp[i] = Yb_[np.argsort(dist, kind="stable")[:150]].mean(0)
    named = (Lb.sum(2) > 0).astype(np.float64)
    tnamed = ((Lb[:, :, 0] + Lb[:, :, 2]) > 0).astype(np.float64)
    src_rate, src_n = _rates(list(sa), Ya, prior, list(sb))
    kind_rate, _ = _rates(list(ka), Ya, prior, list(kb))
    eps = 1e-3
    return {
        "named": named,
        "named_precision": named * npre,
        "title_named_precision": tnamed * tpre,
        "log_prior": np.tile(np.log(prior + 1e-4), (len(db), 1)),
        "recent_prior": rp,
        "cooc_named": (named[:, :, None] * cooc[None]).max(1),
        "cooc_knn": (K10b[:, :, None] * cooc[None]).max(1),
        # Text first: the source / kind only say how much more (or less) common a
        # tag is there than overall; an unseen or hidden source says nothing (0).
        "source_lift": np.log((src_rate + eps) / (prior + eps)),
        "kind_lift": np.log((kind_rate + eps) / (prior + eps)),
        "source_seen": np.tile(np.log1p(src_n)[:, None], (1, Ya.shape[1])),
        "source_rate": src_rate,
        "kind_rate": kind_rate,
    }


def assemble(d, side, names, hide_source=None):
    """Feature tensor (posts, tags, len(names)) for side 'tr' (out-of-fold) or 'te'."""
    Ya, La, da, sa, ka = d["Ytr"], d["Ltr"], d["dtr"], d["srctr"], d["kindtr"]
    if side == "te":
        L, dd, s, k = d["Lte"], d["dte"], d["srcte"].copy(), d["kindte"]
        if hide_source is not None:
            s[:] = hide_source
        ctx = context(Ya, La, da, sa, ka, L, dd, s, k, d["knn10_te"])
    else:
        L, dd, s, k = La, da, sa.copy(), ka
        if hide_source is not None:  # the share of rows trained without their source
            s = np.where(hide_source, "\0hidden", s)
        ctx = {}
        fold = d["fold"]
        for f in np.unique(fold):
            a, b = fold != f, fold == f
            part = context(Ya[a], La[a], da[a], sa[a], ka[a], L[b], dd[b], s[b], k[b],
                           d["knn10_tr"][b])  # fmt: skip
            for key, v in part.items():
                ctx.setdefault(key, np.zeros(Ya.shape))[b] = v
    S, K10 = d[f"svm_{side}"], d[f"knn10_{side}"]
    lx = np.log1p(L)
    cols = {
        "svm": S, "svm_rank": _ranks(S), "knn10": K10, "knn30": d[f"knn30_{side}"],
        "knn_rank": _ranks(K10), "exact_title": lx[:, :, 0], "exact_text": lx[:, :, 1],
        "stem_title": lx[:, :, 2], "stem_text": lx[:, :, 3],
        "named_svm": ctx["named"] * S, "named_knn": ctx["named"] * K10,
        "lknn10": d[f"lknn10_{side}"], "lknn30": d[f"lknn30_{side}"],
        "centroid": d[f"centroid_{side}"], **ctx,
    }  # fmt: skip
    return np.stack([cols[n] for n in names], axis=2).astype(np.float32)


def candidates(d, side, L, n=N_CAND, latent=False):
    """Tags worth scoring for a post: top n by SVM, by k-NN (and latent k-NN), or named."""
    if 2 * n >= d["Ytr"].shape[1]:
        return np.ones(d[f"svm_{side}"].shape, bool)
    C = L.sum(2) > 0
    for key in ("svm", "knn30") + (("lknn30",) if latent else ()):
        top = np.argsort(-d[f"{key}_{side}"], axis=1, kind="stable")[:, :n]
        np.put_along_axis(C, top, True, axis=1)
    return C


# ---------------------------------------------------------------------------
# combiners


def fit_meta(kind, X, y):
    if kind == "gbc" or kind.startswith("gbc:"):
        from sklearn.ensemble import GradientBoostingClassifier

        # "gbc:subsample=0.5,n_estimators=100": the design's GBC with those overrides
        extra = dict(kv.split("=") for kv in kind[4:].split(",") if kv)
        if "cap" in extra:  # each tree sees at most `cap` rows (searchkit's MAX_TREE_ROWS)
            extra["subsample"] = min(1.0, float(extra.pop("cap")) / len(X))
        params = {
            **GBC,
            **{k: (int if k == "n_estimators" else float)(v) for k, v in extra.items()},
        }
        return GradientBoostingClassifier(**params).fit(X, y)
    if kind == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.1, max_leaf_nodes=7, random_state=SEED
        ).fit(X, y)
    if kind == "lr":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=3000)).fit(X, y)
    raise ValueError(kind)


def scores_from(meta, F, C):
    """Meta scores for candidate cells; the rest rank last (below -1)."""
    out = np.full(F.shape[:2], -2.0, np.float32)
    out[C] = meta.predict_proba(F[C])[:, 1]
    return out


def cold_mask(d):
    Y, L = d["Yte"].astype(bool), d["Lte"]
    return ~((L.sum(2) > 0) & Y).any(1)


def eval_rank(S, d, mask=None):
    Y = d["Yte"]
    if mask is not None:
        S, Y = S[mask], Y[mask]
    return rank_metrics(S, Y)


def suggest_pr(S, Y, thr, limit=5):
    """Precision / recall of the suggestion lists: up to ``limit`` tags scoring >= thr."""
    keep = Y.sum(1) > 0
    S, Y = S[keep], Y[keep].astype(bool)
    order = np.argsort(-S, axis=1, kind="stable")[:, :limit]
    top = np.take_along_axis(S, order, axis=1) >= thr
    hit = np.take_along_axis(Y, order, axis=1) & top
    n_sug, n_hit = top.sum(), hit.sum()
    p = n_hit / max(n_sug, 1)
    r = n_hit / max(Y.sum(), 1)
    return float(p), float(r), float(n_sug / len(Y))


def pick_threshold(S, Y, target=PRECISION_TARGET, limit=5):
    """The lowest global threshold whose suggestions reach ``target`` precision."""
    for t in np.round(np.arange(0.05, 0.99, 0.01), 2):
        if suggest_pr(S, Y, t, limit)[0] >= target:
            return float(t)
    return 0.99


# ---------------------------------------------------------------------------


NO_SOURCE = tuple(f for f in BASE_FEATURES if f not in ("source_lift", "kind_lift", "source_seen"))
CONFIGS = {
    # name: (feature names, meta kind, source dropout share)
    "design (gbc, lifts, dropout 0.3)": (BASE_FEATURES, "gbc", SOURCE_DROP),
    "design + latent kNN": (BASE_FEATURES + LATENT_FEATURES, "gbc", SOURCE_DROP),
    "design, dropout 0.5": (BASE_FEATURES, "gbc", 0.5),
    "design, no dropout": (BASE_FEATURES, "gbc", 0.0),
    "design, raw source rates, no dropout": (NO_SOURCE + OLD_SOURCE, "gbc", 0.0),
    "design, hgb meta": (BASE_FEATURES, "hgb", SOURCE_DROP),
    # Faster GradientBoostingClassifier settings (the 200-round fit took 270 s on
    # rubenerd's 181,000 candidate rows): fewer rows and features per tree.
    "gbc subsample 0.5": (BASE_FEATURES, "gbc:subsample=0.5", SOURCE_DROP),
    "gbc, at most 40,000 rows a tree": (BASE_FEATURES, "gbc:cap=40000", SOURCE_DROP),
    "gbc, at most 60,000 rows a tree": (BASE_FEATURES, "gbc:cap=60000", SOURCE_DROP),
    "gbc subsample 0.5, max_features 0.5": (
        BASE_FEATURES,
        "gbc:subsample=0.5,max_features=0.5",
        SOURCE_DROP,
    ),
    "gbc 100 rounds, rate 0.2, subsample 0.5, max_features 0.5": (
        BASE_FEATURES,
        "gbc:n_estimators=100,learning_rate=0.2,subsample=0.5,max_features=0.5",
        SOURCE_DROP,
    ),
    "design, logistic meta": (BASE_FEATURES, "lr", SOURCE_DROP),
    # As shipped since: every post with a source is a row twice, with and without
    # it (when the posts name >= 2 sources), so no draw decides which posts are hidden.
    "design, source-hidden copies": (BASE_FEATURES, "gbc:cap=60000", COPIES),
}


def run_config(d, name, cfg, saved: Path | None = None):
    """Fit one configuration's meta-model and score the test posts (or reuse ``saved``)."""
    feats, kind, drop = cfg
    latent = "lknn30" in feats
    Ctr = candidates(d, "tr", d["Ltr"], latent=latent)
    Cte = candidates(d, "te", d["Lte"], latent=latent)
    if saved is not None and saved.exists():  # scores of an earlier run of this config
        z = np.load(saved)
        S, S_hid, Str, fit_s = z["S"], z["S_hidden"], z["Str"], float("nan")
    else:
        n = len(d["Ytr"])
        hide = np.random.default_rng(SEED).random(n) < drop if drop > 0 else None
        Ftr = assemble(d, "tr", feats, hide)
        X, y = Ftr[Ctr], d["Ytr"][Ctr]
        if drop == COPIES and len(set(d["srctr"].tolist()) - {""}) >= 2:
            copies = Ctr & (d["srctr"] != "")[:, None]
            X = np.concatenate([X, assemble(d, "tr", feats, d["srctr"] != "")[copies]])
            y = np.concatenate([y, d["Ytr"][copies]])
        t0 = time.process_time()  # CPU seconds: the machine is shared, wall time is noise
        meta = fit_meta(kind, X, y)
        fit_s = time.process_time() - t0
        S = scores_from(meta, assemble(d, "te", feats), Cte)
        S_hid = scores_from(meta, assemble(d, "te", feats, hide_source="\0unseen"), Cte)
        Str = scores_from(meta, Ftr, Ctr)
    return {
        "S": S,
        "S_hidden": S_hid,
        "thr": pick_threshold(Str, d["Ytr"]),
        "Str": Str,
        "fit_s": fit_s,
        "rows": int(Ctr.sum()),
        "cand_recall": float((Cte & d["Yte"].astype(bool)).sum() / max(d["Yte"].sum(), 1)),
    }


def baselines(d):
    prior = d["Ytr"].mean(0)
    L = d["Lte"]
    return {
        "most frequent": np.tile(prior, (len(L), 1)),
        "tag name in text": L[:, :, 0] * 4 + L[:, :, 1] + 1e-3 * prior,
        "svc (Annif)": d["b_svc"],
        "tfidf centroid (Annif)": d["b_tfidf"],
        "tfidf kNN k=10": d["b_knn"],
        "own SVM alone": d["svm_te"],
        "own kNN10 alone": d["knn10_te"],
        "own latent kNN10 alone": d["lknn10_te"],
    }


def fmt_row(name, m, keys=("P@1", "F1@3", "R@3", "NDCG@5")):
    return f"| {name} | " + " | ".join(f"{m[k]:.3f}" for k in keys) + " |"


def run_meta(names, split, cache: Path):
    only = os.environ.get("CONFIGS")
    configs = {k: v for k, v in CONFIGS.items() if not only or k in only.split(";")}
    results: dict[str, dict] = {}
    for c in names:
        parts = sorted(cache.glob(f"{c}-{split}-*.npz"))
        if not parts:
            print(f"skipped: no cached base scores for {c}")
            continue
        res: dict[str, list] = {}
        for path in parts:
            d = dict(np.load(path))
            cold = cold_mask(d)
            has = d["Yte"].sum(1) > 0
            for bname, S in baselines(d).items():
                res.setdefault(bname, []).append(
                    {
                        "all": eval_rank(S, d),
                        "cold": eval_rank(S, d, cold),
                        "hidden": eval_rank(S, d),
                        "n_cold": int((cold & has).sum()),
                    }
                )
            for cname, cfg in configs.items():
                slug = "".join(ch if ch.isalnum() else "_" for ch in cname)
                saved = cache / f"scores-{path.stem}-{slug}.npz"
                r = run_config(d, cname, cfg, saved)
                np.savez(
                    saved,
                    S=r["S"],
                    Str=r["Str"],
                    S_hidden=r["S_hidden"],
                )  # for threshold studies (no text)
                p, rc, per = suggest_pr(r["S"], d["Yte"], r["thr"])
                ph, rch, _ = suggest_pr(r["S_hidden"], d["Yte"], r["thr"])
                res.setdefault(cname, []).append({
                    "all": eval_rank(r["S"], d), "cold": eval_rank(r["S"], d, cold),
                    "hidden": eval_rank(r["S_hidden"], d), "thr": r["thr"],
                    "prec": p, "rec": rc, "per_post": per, "prec_hidden": ph, "rec_hidden": rch,
                    "fit_s": r["fit_s"], "rows": r["rows"], "cand_recall": r["cand_recall"],
                    "n_cold": int((cold & has).sum()),
                })  # fmt: skip
                log(
                    f"{c} {path.stem} {cname}: P@1 {res[cname][-1]['all']['P@1']:.3f} "
                    f"F1@3 {res[cname][-1]['all']['F1@3']:.3f} "
                    f"hidden P@1 {res[cname][-1]['hidden']['P@1']:.3f} fit {r['fit_s']:.0f}s"
                )
        results[c] = {k: _mean(v) for k, v in res.items()}
    report(results)
    return results


def _mean(rows):
    out = {}
    for k, v in rows[0].items():
        if isinstance(v, dict):
            out[k] = {m: float(np.mean([r[k][m] for r in rows])) for m in v}
        else:
            out[k] = float(np.mean([r[k] for r in rows]))
    return out


def report(results):
    corpora = list(results)
    methods = list(next(iter(results.values())))
    print("\n### Ranked P@1 / F1@3 per corpus (test posts with a learned tag)\n")
    print("| method | " + " | ".join(corpora) + " | mean |")
    print("|---|" + "---:|" * (len(corpora) + 1))
    for m in methods:
        cells = [f"{results[c][m]['all']['P@1']:.3f} / {results[c][m]['all']['F1@3']:.3f}"
                 for c in corpora]  # fmt: skip
        p = np.mean([results[c][m]["all"]["P@1"] for c in corpora])
        f = np.mean([results[c][m]["all"]["F1@3"] for c in corpora])
        print(f"| {m} | " + " | ".join(cells) + f" | {p:.3f} / {f:.3f} |")
    print("\n### Cold posts (none of their tags named in their text): P@1 / F1@3\n")
    print("| method | " + " | ".join(f"{c} (n={int(results[c][methods[0]]['n_cold'])})"
                                   for c in corpora) + " | mean |")  # fmt: skip
    print("|---|" + "---:|" * (len(corpora) + 1))
    for m in methods:
        cells = [f"{results[c][m]['cold']['P@1']:.3f} / {results[c][m]['cold']['F1@3']:.3f}"
                 for c in corpora]  # fmt: skip
        p = np.mean([results[c][m]["cold"]["P@1"] for c in corpora])
        print(f"| {m} | " + " | ".join(cells) + f" | {p:.3f} |")
    print("\n### Source hidden in the test posts (replaced by an unseen value): P@1 / F1@3\n")
    print("| method | " + " | ".join(corpora) + " |")
    print("|---|" + "---:|" * len(corpora))
    for m in methods:
        cells = [f"{results[c][m]['hidden']['P@1']:.3f} / {results[c][m]['hidden']['F1@3']:.3f}"
                 for c in corpora]  # fmt: skip
        print(f"| {m} | " + " | ".join(cells) + " |")
    models = [m for m in methods if "thr" in results[corpora[0]][m]]
    print(
        f"\n### Suggestions at the default threshold (global, lowest reaching precision "
        f"{PRECISION_TARGET} on out-of-fold scores; at most 5 per post): "
        "threshold, precision, recall, suggestions/post\n"
    )
    print("| method | " + " | ".join(corpora) + " |")
    print("|---|" + "---|" * len(corpora))
    for m in models:
        cells = [
            f"{results[c][m]['thr']:.2f}: P {results[c][m]['prec']:.2f} R "
            f"{results[c][m]['rec']:.2f} ({results[c][m]['per_post']:.1f})"
            for c in corpora
        ]
        print(f"| {m} | " + " | ".join(cells) + " |")
    print("\n### Meta-model fit CPU seconds / training rows / candidate recall\n")
    for m in models:
        print(f"- {m}: " + "; ".join(
            f"{c} {results[c][m]['fit_s']:.0f}s {int(results[c][m]['rows'])} rows "
            f"cand-recall {results[c][m]['cand_recall']:.3f}" for c in corpora))  # fmt: skip
    if len(corpora) > 1 and len(models) > 1:
        print("\n### Leave-one-corpus-out: design chosen on the other corpora's mean P@1+F1@3\n")
        print("| held out | chosen on the others | P@1 | F1@3 | best baseline P@1 / F1@3 |")
        print("|---|---|---:|---:|---:|")
        base = [m for m in methods if m not in models]
        for c in corpora:
            others = [o for o in corpora if o != c]

            def score(m, others=others):
                return np.mean([results[o][m]["all"]["P@1"] + results[o][m]["all"]["F1@3"]
                                for o in others])  # fmt: skip

            best = max(models, key=score)
            bp = max(results[c][b]["all"]["P@1"] for b in base if not b.startswith("own"))
            bf = max(results[c][b]["all"]["F1@3"] for b in base if not b.startswith("own"))
            r = results[c][best]["all"]
            print(f"| {c} | {best} | {r['P@1']:.3f} | {r['F1@3']:.3f} | {bp:.3f} / {bf:.3f} |")


def threshold_study(names, split, cache: Path, config="design (gbc, lifts, dropout 0.3)"):
    """Test precision / recall per corpus for a range of out-of-fold precision targets."""
    slug = "".join(ch if ch.isalnum() else "_" for ch in config)
    rows = {}
    for c in names:
        d = dict(np.load(cache / f"{c}-{split}-0.npz"))
        sc = np.load(cache / f"scores-{c}-{split}-0-{slug}.npz")
        rows[c] = (d, sc)
    print(
        f"\n### Threshold rule: lowest global threshold reaching target precision on the "
        f"out-of-fold scores ({config}); test precision / recall (threshold)\n"
    )
    print("| OOF target | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for target in (0.80, 0.85, 0.88, 0.90, 0.92, 0.94, 0.96):
        cells = []
        for c in names:
            d, sc = rows[c]
            t = pick_threshold(sc["Str"], d["Ytr"], target)
            p, r, per = suggest_pr(sc["S"], d["Yte"], t)
            cells.append(f"P {p:.2f} R {r:.2f} ({t:.2f})")
        print(f"| {target:.2f} | " + " | ".join(cells) + " |")
    print("\nTest precision / recall at fixed thresholds:\n")
    print("| threshold | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        cells = [
            "P {:.2f} R {:.2f} / OOF P {:.2f}".format(
                *suggest_pr(rows[c][1]["S"], rows[c][0]["Yte"], t)[:2],
                suggest_pr(rows[c][1]["Str"], rows[c][0]["Ytr"], t)[0],
            )
            for c in names
        ]
        print(f"| {t:.2f} | " + " | ".join(cells) + " |")
