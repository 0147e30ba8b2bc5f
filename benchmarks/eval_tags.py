"""Tag model evaluation over several corpora: per corpus, mean, and the issue-11 floors.

Usage: python benchmarks/eval_tags.py CORPUS_DIR [CORPUS_DIR ...] [--split time|kfold|both]
                                      [--floors] [--tables]
Each corpus is evaluated as `searchkit tags eval --hide source` does it: the
model beside in-run text baselines (most frequent, tag name in text, TF-IDF +
linear SVM as Annif's `svc`, TF-IDF tag centroid as Annif's `tfidf`, TF-IDF
k-NN), cold posts (none of their tags named in their text), the test posts
with `source` hidden, and what the default threshold shows (precision and
recall of up to 5 suggestions a post). ``--floors`` exits 1 when a time-split
floor of issue 11 is missed: P@1 and F1@3 >= the best baseline's + 0.02,
precision at the default threshold >= 0.80, and with `source` hidden P@1 >=
the linear SVM's. A corpus folder that is absent is skipped with a message.
Run with OMP_NUM_THREADS=1 on a shared machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MODEL = "searchkit model"
HIDDEN = "searchkit model, source hidden"
SVM = "TF-IDF + linear SVM"
BASELINES = ("most frequent tags", "tag name in text", SVM, "TF-IDF tag centroid",
             "TF-IDF k-NN (k=10)")  # fmt: skip
MARGIN, MIN_PRECISION = 0.02, 0.80


def summary(split: str, results: dict) -> tuple[str, list[str]]:
    """A Markdown table over corpora (and their mean), and the floors missed."""
    head = (
        f"### {split} split: ranked P@1 / F1@3 (test posts with a learned tag)\n\n"
        "| corpus | searchkit | best baseline (which) | cold posts | source hidden | "
        "SVM, source hidden | precision / recall at default threshold | seconds |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    lines, missed, cols = [head], [], []
    for name, (r, secs) in results.items():
        rows = r.rows
        m, h = rows[MODEL], rows[HIDDEN]
        best = max(BASELINES, key=lambda b: rows[b]["P@1"] + rows[b]["F1@3"])
        bp = max(rows[b]["P@1"] for b in BASELINES)
        bf = max(rows[b]["F1@3"] for b in BASELINES)
        cold = rows[f"{MODEL} (cold posts)"]
        svm_hidden = rows[SVM]["P@1"]  # text only: hiding the source changes nothing
        cols.append([m["P@1"], m["F1@3"], bp, bf, cold["P@1"], h["P@1"], m["precision"],
                     m["recall"]])  # fmt: skip
        lines.append(
            f"| {name} (n={r.n_test}, cold {r.n_cold}) | {m['P@1']:.3f} / {m['F1@3']:.3f} | "
            f"{rows[best]['P@1']:.3f} / {rows[best]['F1@3']:.3f} ({best}) | "
            f"{cold['P@1']:.3f} / {cold['F1@3']:.3f} | {h['P@1']:.3f} / {h['F1@3']:.3f} | "
            f"{svm_hidden:.3f} | {m['precision']:.2f} / {m['recall']:.2f} | {secs:.0f} |"
        )
        if split == "time":
            for metric, floor in (("P@1", bp + MARGIN), ("F1@3", bf + MARGIN)):
                if m[metric] < floor:
                    missed.append(f"{name}: {metric} {m[metric]:.3f} < best baseline + 0.02 "
                                  f"({floor:.3f})")  # fmt: skip
            if m["precision"] < MIN_PRECISION:
                missed.append(f"{name}: precision {m['precision']:.2f} < {MIN_PRECISION}")
            if h["P@1"] < svm_hidden:
                missed.append(f"{name}: source hidden P@1 {h['P@1']:.3f} < SVM {svm_hidden:.3f}")
    if len(results) > 1:
        a = np.mean(cols, axis=0)
        lines.append(
            f"| mean | {a[0]:.3f} / {a[1]:.3f} | best P@1 {a[2]:.3f}, best F1@3 {a[3]:.3f} | "
            f"{a[4]:.3f} | {a[5]:.3f} | | {a[6]:.2f} / {a[7]:.2f} | |"
        )
    return "\n".join(lines) + "\n", missed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpora", type=Path, nargs="+")
    ap.add_argument("--split", choices=["time", "kfold", "both"], default="time")
    ap.add_argument("--floors", action="store_true", help="exit 1 when a floor is missed")
    ap.add_argument("--tables", action="store_true", help="also print each corpus's full table")
    args = ap.parse_args()
    from searchkit.site.posts import load_posts
    from searchkit.tagging.evaluate import evaluate, format_result

    present = [c for c in args.corpora if c.is_dir()]
    for c in args.corpora:
        if not c.is_dir():
            print(f"skipped: corpus not found: {c}")
    missed: list[str] = []
    for split in ("time", "kfold") if args.split == "both" else (args.split,):
        results = {}
        for corpus in present:
            posts = load_posts(corpus).posts
            t0 = time.perf_counter()
            r = evaluate(posts, split=split, hide=("source",),
                         log=lambda m: print(m, file=sys.stderr))  # fmt: skip
            results[corpus.name] = (r, time.perf_counter() - t0)
            print(f"{corpus.name} {split}: done", file=sys.stderr, flush=True)
            if args.tables:
                print(f"## {corpus.name}\n\n{format_result(r, per_tag_rows=10)}")
        if results:
            text, miss = summary(split, results)
            print(text)
            missed += miss
    for m in missed:
        print(f"FLOOR MISSED: {m}")
    return 1 if args.floors and missed else 0


if __name__ == "__main__":
    sys.exit(main())
