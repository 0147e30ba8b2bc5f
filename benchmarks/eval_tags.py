"""Tag model evaluation on a corpus, with optional floors (exit 1 when missed).

Usage: python benchmarks/eval_tags.py CORPUS_DIR [--split time|kfold|both]
                                      [--min-p1 0.76 --min-f1 0.49]
Skips (exit 0, with a message) when the corpus is absent. The floors apply to
the time split, the figure the issue sets (scottlowe: P@1 >= 0.76, F1@3 >= 0.49).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--split", choices=["time", "kfold", "both"], default="both")
    ap.add_argument("--min-p1", type=float)
    ap.add_argument("--min-f1", type=float)
    args = ap.parse_args()
    if not args.corpus.is_dir():
        print(f"skipped: corpus not found: {args.corpus}")
        return 0
    from searchkit.site.posts import load_posts
    from searchkit.tagging.evaluate import evaluate, format_result

    posts = load_posts(args.corpus).posts
    failed = False
    for split in ("time", "kfold") if args.split == "both" else (args.split,):
        result = evaluate(posts, split=split, log=lambda m: print(m, file=sys.stderr))
        print(format_result(result))
        row = result.rows["searchkit model"]
        if split == "time":
            for name, floor in (("P@1", args.min_p1), ("F1@3", args.min_f1)):
                if floor is not None and row[name] < floor:
                    print(f"FLOOR MISSED: {name} {row[name]:.3f} < {floor}")
                    failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
