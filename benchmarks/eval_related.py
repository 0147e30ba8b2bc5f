"""Related posts: how often `searchkit related` finds posts that share a tag.

Usage::

    python benchmarks/eval_related.py ../shared/corpora [--posts 300] [--key-terms N] [--boost X]
                                       [--weights schema|old]

Indexes each tagged corpus under CORPORA (scottlowe, digitalgov, rubenerd,
linkblog; skipped with a message when absent) into a temporary folder, takes
``--posts`` tagged posts (seeded), and scores the top 5 related posts of
each by the share that have a tag in common with it (tags are not in the
text, so this is an independent check). Beside it, in the same run, a
reference: TF-IDF cosine nearest neighbours over the same four text fields
(scikit-learn, sublinear tf, English stop words). Prints each corpus and the
mean. ``--weights old`` chooses the key words with the second weight set
searchkit had before one set served all (2 / 1.75 / 1.5 / 0.5).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from searchkit import schema as S  # noqa: E402
from searchkit.indexing.build import update_index  # noqa: E402
from searchkit.search.searcher import open_searcher  # noqa: E402
from searchkit.site.posts import load_posts  # noqa: E402

CORPORA = ("scottlowe", "digitalgov", "rubenerd", "linkblog")
WEIGHTS = {"old": {"title": 2.0, "tldr": 1.75, "summary": 1.5, "body": 0.5}}
TOP = 5


def shares_tag(tags: dict[str, set[str]], post: str, others: list[str]) -> list[bool]:
    return [bool(tags[post] & tags.get(o, set())) for o in others]


def reference(posts, sample: list[str]) -> dict[str, list[str]]:
    """TF-IDF cosine: the TOP nearest posts of each sampled post."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    ids = [p.id for p in posts]
    texts = [" ".join(p.text(f) or "" for f in S.TEXT_FIELD_NAMES) for p in posts]
    matrix = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=2).fit_transform(texts)
    row = {pid: i for i, pid in enumerate(ids)}
    out = {}
    for pid in sample:
        sims = (matrix @ matrix[row[pid]].T).toarray().ravel()
        sims[row[pid]] = -1.0
        best = sorted(range(len(ids)), key=lambda i: (-sims[i], ids[i]))[:TOP]
        out[pid] = [ids[i] for i in best]
    return out


def evaluate(corpus: Path, n: int, seed: int = 1) -> tuple[float, float, float]:
    posts = [p for p in load_posts(corpus).posts if not p.draft]
    tags = {p.id: {t.lower() for t in p.tags} for p in posts}
    tagged = sorted(p.id for p in posts if p.tags)
    sample = random.Random(seed).sample(tagged, min(n, len(tagged)))
    with tempfile.TemporaryDirectory() as tmp:
        update_index(corpus, Path(tmp) / "index")
        start = time.perf_counter()
        with open_searcher(Path(tmp) / "index") as s:
            found = {pid: [h.path for h in s.related(pid, limit=TOP).hits] for pid in sample}
        ms = (time.perf_counter() - start) * 1000 / len(sample)
    ours = [x for pid in sample for x in shares_tag(tags, pid, found[pid])]
    ref = reference(posts, sample)
    theirs = [x for pid in sample for x in shares_tag(tags, pid, ref[pid])]
    return sum(ours) / max(len(ours), 1), sum(theirs) / max(len(theirs), 1), ms


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpora", type=Path, help="folder holding the tag corpora")
    ap.add_argument("--posts", type=int, default=300)
    ap.add_argument("--weights", choices=("schema", *WEIGHTS), default="schema")
    ap.add_argument("--key-terms", type=int, help="key words a related query takes")
    ap.add_argument("--boost", type=float, help="exponent of the key words' boosts")
    args = ap.parse_args()
    from searchkit.search import related

    if args.key_terms:
        related.KEY_TERMS = args.key_terms
    if args.boost is not None:
        related.KEY_TERM_BOOST = args.boost
    weights = S.FIELD_WEIGHTS
    if args.weights != "schema":  # the key words only, as before 2026-12-01
        related.FIELD_WEIGHTS = weights = WEIGHTS[args.weights]
    print(f"related posts sharing a tag, top {TOP}, key words weighted {weights}")
    rows = []
    for name in CORPORA:
        corpus = args.corpora / name
        if not corpus.is_dir():
            print(f"{name}: not found at {corpus} (skipping)")
            continue
        ours, ref, ms = evaluate(corpus, args.posts)
        rows.append((ours, ref))
        print(f"{name:11} searchkit {ours:.3f}  TF-IDF cosine {ref:.3f}  ({ms:.1f} ms a post)")
    if not rows:
        print("no corpus found (skipping)")
        return 0
    print(f"{'mean':11} searchkit {statistics.mean(r[0] for r in rows):.3f}  "
          f"TF-IDF cosine {statistics.mean(r[1] for r in rows):.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
