"""Tuning grids for searchkit's ranking constants, on the real search path.

Usage::

    PYTHONPATH=. python benchmarks/ir_tune.py /work/shared/ir/cranfield [--part ranking|analysis]

``ranking`` indexes once and re-scores with other B/K1, field weights and
coordination (COORD): those only affect the searcher. ``analysis`` re-indexes
once per analyser variant (stemming, stop words). Each line is one full run of
every query through `Searcher.search(..., syntax=False)`, scored like
`ir_eval.py`. The chosen values and their figures are recorded in
`searchkit/schema.py`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ir_eval  # noqa: E402

from searchkit import schema  # noqa: E402
from searchkit.scoring import WeightedBM25F  # noqa: E402
from searchkit.search import open_searcher  # noqa: E402


def run(coll, index_dir, ids, *, B=None, K1=None, weights=None, coord=None, group=None):
    weighting = WeightedBM25F(
        B=schema.BM25_B if B is None else B,
        K1=schema.BM25_K1 if K1 is None else K1,
        weights=weights,
    )
    with open_searcher(index_dir, weighting=weighting) as s:
        s.coord = schema.COORD if coord is None else coord
        if group is not None:
            from searchkit import query

            parse = s.parse
            s.parse = lambda text, syntax=True: query.parse_query(  # type: ignore[method-assign]
                text, s.schema, syntax=syntax, group=group
            )
            del parse
        return ir_eval.evaluate(ir_eval.searchkit_run(s, coll, ids), coll.qrels)


def show(label: str, m: dict) -> None:
    print(ir_eval.row(label, m), flush=True)


def tune_ranking(coll, tmp: Path) -> None:
    from whoosh import qparser

    index_dir, ids = ir_eval.build_index(coll, tmp)
    show("shipped constants", run(coll, index_dir, ids))
    show("whoosh OrGroup.factory(0.9)", run(coll, index_dir, ids, group=qparser.OrGroup.factory(0.9)))
    for c in (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 16.0):
        show(f"COORD={c}", run(coll, index_dir, ids, coord=c))
    for b in (0.3, 0.5, 0.75, 0.9):
        for k1 in (0.6, 0.9, 1.2, 1.6, 2.0):
            show(f"B={b} K1={k1}", run(coll, index_dir, ids, B=b, K1=k1))
    base = dict(schema.FIELD_WEIGHTS)
    for title in (1.0, 1.5, 2.0, 3.0, 4.0, 6.0):
        w = {**base, "title": title}
        show(f"title weight {title} (summary {base['summary']})", run(coll, index_dir, ids, weights=w))


def tune_analysis(coll, tmp: Path) -> None:
    variants = {
        "stem + whoosh stop words (shipped)": None,
        "no stemming": lambda self, w: _nostem(self, w),
        "no stop words": lambda self, w: _nostop(self, w),
    }
    original = schema.FoldStopStemFilter.term
    for n, (label, term) in enumerate(variants.items()):
        schema.FoldStopStemFilter.term = term or original
        schema._ANALYZER = schema.analyzer()
        (tmp / str(n)).mkdir()
        index_dir, ids = ir_eval.build_index(coll, tmp / str(n))
        show(label, run(coll, index_dir, ids))
    schema.FoldStopStemFilter.term = original


def _nostem(self, word):
    folded = self.fold(word)
    return None if len(folded) < self.min or folded in self.stops else folded


def _nostop(self, word):
    from whoosh.lang.porter import stem

    folded = self.fold(word)
    return None if len(folded) < self.min else stem(folded)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("collection", type=Path)
    ap.add_argument("--part", choices=["ranking", "analysis"], default="ranking")
    args = ap.parse_args()
    if not args.collection.exists():
        print(f"skipped: {args.collection} not found", file=sys.stderr)
        return 0
    coll = ir_eval.read_collection(args.collection)
    with tempfile.TemporaryDirectory(prefix="ir_tune_") as tmp:
        (tune_ranking if args.part == "ranking" else tune_analysis)(coll, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
