"""Tuning grids for searchkit's ranking constants, on the real search path.

Usage::

    python benchmarks/ir_tune.py ../shared/ir/cranfield [--part ranking|analysis]

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
from searchkit.search.scoring import WeightedBM25F  # noqa: E402
from searchkit.search.searcher import open_searcher  # noqa: E402


def run(coll, index_dir, ids, *, B=None, K1=None, weights=None, coord=None, group=None):
    weighting = WeightedBM25F(
        B=schema.BM25_B if B is None else B,
        K1=schema.BM25_K1 if K1 is None else K1,
        weights=weights,
    )
    with open_searcher(index_dir, weighting=weighting) as s:
        s.coord = schema.COORD if coord is None else coord
        if group is not None:
            from searchkit.search import query

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
    show(
        "whoosh OrGroup.factory(0.9)", run(coll, index_dir, ids, group=qparser.OrGroup.factory(0.9))
    )
    for c in (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 16.0):
        show(f"COORD={c}", run(coll, index_dir, ids, coord=c))
    for b in (0.3, 0.5, 0.75, 0.9):
        for k1 in (0.6, 0.9, 1.2, 1.6, 2.0):
            show(f"B={b} K1={k1}", run(coll, index_dir, ids, B=b, K1=k1))
    base = dict(schema.FIELD_WEIGHTS)
    for title in (1.0, 1.5, 2.0, 3.0, 4.0, 6.0):
        w = {**base, "title": title}
        show(
            f"title weight {title} (summary {base['summary']})",
            run(coll, index_dir, ids, weights=w),
        )


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


class RobertsonIDF(WeightedBM25F):
    """BM25's own idf, log(1 + (N - df + 0.5) / (df + 0.5)), as Lucene uses,
    instead of Whoosh's log(N / (df + 1)) + 1 (which never drops below 1, so
    frequent words like "what" or "flow" keep a full point of weight)."""

    def idf(self, searcher, fieldname, text):
        import math

        df = searcher.doc_frequency(fieldname, text)
        n = searcher.doc_count_all()
        return math.log(1 + (n - df + 0.5) / (df + 0.5))


def tune_qtf(coll, tmp: Path) -> None:
    from searchkit.search.query import WordsOr

    index_dir, ids = ir_eval.build_index(coll, tmp)
    WordsOr.QTF = True
    for c in (0.5, 1.0, 2.0):
        show(f"query tf, COORD={c}", run(coll, index_dir, ids, coord=c))
    for title in (1.5, 2.0, 3.0):
        w = {**schema.FIELD_WEIGHTS, "title": title}
        show(f"query tf, title weight {title}", run(coll, index_dir, ids, weights=w))


def tune_grid(coll, tmp: Path, args) -> None:
    """Every combination of the listed values (title weight, B, K1, COORD, query tf)."""
    import itertools

    from searchkit.search.query import WordsOr

    index_dir, ids = ir_eval.build_index(coll, tmp)
    grid = itertools.product(args.title, args.b, args.k1, args.coord, args.qtf)
    for title, b, k1, coord, qtf in grid:
        WordsOr.QTF = bool(qtf)
        w = {**schema.FIELD_WEIGHTS, "title": title}
        m = run(coll, index_dir, ids, B=b, K1=k1, weights=w, coord=coord)
        show(f"title={title} B={b} K1={k1} COORD={coord} qtf={qtf}", m)


def tune_phrase(coll, tmp: Path, args) -> None:
    """Proximity: adjacent query words found within `slop` positions of each
    other add a phrase score (times `boost`), on top of the coordinated words.
    Not part of the shipped ranking: a client with per-word impacts only
    cannot reproduce it. Measured to know what that costs."""
    from whoosh import query as Q

    from searchkit.schema import TEXT_FIELD_NAMES, analyze
    from searchkit.search import query as sq

    index_dir, ids = ir_eval.build_index(coll, tmp)
    w = {**schema.FIELD_WEIGHTS, "title": args.title[0]}
    weighting = WeightedBM25F(B=args.b[0], K1=args.k1[0], weights=w)
    for slop, boost in ((1, 0.5), (1, 1.0), (3, 0.5), (3, 1.0), (8, 1.0)):
        with open_searcher(index_dir, weighting=weighting) as s:

            def parse(text, syntax=True, s=s, slop=slop, boost=boost):
                parsed = sq.parse_query(text, s.schema, syntax=False)
                terms = analyze(sq.plain_words(text))
                pairs = list(dict.fromkeys(zip(terms, terms[1:], strict=False)))
                phrases = [
                    Q.Phrase(f, list(p), slop=slop, boost=boost)
                    for p in pairs
                    for f in TEXT_FIELD_NAMES
                ]
                if parsed.scoring is not None and phrases:
                    parsed.scoring = Q.Or([parsed.scoring, *phrases])
                return parsed

            s.parse = parse  # type: ignore[method-assign]
            m = ir_eval.evaluate(ir_eval.searchkit_run(s, coll, ids), coll.qrels)
        show(f"+ word pairs within {slop}, boost {boost}", m)


def tune_tier(coll, tmp: Path, args) -> None:
    from searchkit.search import coord

    index_dir, ids = ir_eval.build_index(coll, tmp)
    for tier in (False, True):
        coord.ALL_WORDS_FIRST = tier
        show(f"all words first: {tier}", run(coll, index_dir, ids))


def strip_titles(coll):
    """Cranfield texts start by repeating the title; blog summaries do not."""
    n = 0
    for doc_id, (title, text) in coll.docs.items():
        if title and text.startswith(title):
            coll.docs[doc_id] = (title, text[len(title) :].lstrip(" ."))
            n += 1
    print(f"stripped the title from the start of {n} texts", file=sys.stderr)


def tune_extra(coll, tmp: Path) -> None:
    index_dir, ids = ir_eval.build_index(coll, tmp)

    def idf_run(**kw):
        w = RobertsonIDF(B=kw.pop("B", schema.BM25_B), K1=kw.pop("K1", schema.BM25_K1))
        with open_searcher(index_dir, weighting=w) as s:
            s.coord = kw.pop("coord", schema.COORD)
            return ir_eval.evaluate(ir_eval.searchkit_run(s, coll, ids), coll.qrels)

    show("robertson idf", idf_run())
    for c in (0.25, 1.0, 2.0):
        show(f"robertson idf COORD={c}", idf_run(coord=c))
    for b, k1 in ((0.75, 1.6), (0.75, 2.0), (0.6, 1.2), (0.9, 1.2)):
        show(f"robertson idf B={b} K1={k1}", idf_run(B=b, K1=k1))
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    (tmp / "sk").mkdir()
    orig = schema.FoldStopStemFilter.__init__

    def init(self, stoplist=None, minsize=schema.STOP_MINSIZE):
        orig(self, stoplist=schema.STOPWORDS | ENGLISH_STOP_WORDS, minsize=minsize)

    schema.FoldStopStemFilter.__init__ = init
    index_dir, ids = ir_eval.build_index(coll, tmp / "sk")
    show("+ sklearn stop words", run(coll, index_dir, ids))
    from searchkit.search.query import WordsOr

    WordsOr.QTF = True
    show("+ sklearn stop words, query tf", run(coll, index_dir, ids))
    WordsOr.QTF = False
    show("+ sklearn stop words, robertson idf", idf_run())


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
    parts = ["ranking", "analysis", "extra", "qtf", "grid", "phrase", "tier"]
    ap.add_argument("--part", choices=parts, default="ranking")
    floats = lambda text: [float(x) for x in text.split(",")]  # noqa: E731
    ap.add_argument("--title", type=floats, default=[schema.FIELD_WEIGHTS["title"]])
    ap.add_argument("--b", type=floats, default=[schema.BM25_B])
    ap.add_argument("--k1", type=floats, default=[schema.BM25_K1])
    ap.add_argument("--coord", type=floats, default=[schema.COORD])
    ap.add_argument("--qtf", type=floats, default=[float(schema.QUERY_TF)])
    ap.add_argument("--strip-title", action="store_true", help="drop the title from texts")
    args = ap.parse_args()
    if not args.collection.exists():
        print(f"skipped: {args.collection} not found", file=sys.stderr)
        return 0
    coll = ir_eval.read_collection(args.collection)
    if args.strip_title:
        strip_titles(coll)
    with tempfile.TemporaryDirectory(prefix="ir_tune_") as tmp:
        if args.part in ("grid", "phrase", "tier"):
            fn = {"grid": tune_grid, "phrase": tune_phrase, "tier": tune_tier}[args.part]
            fn(coll, Path(tmp), args)
            return 0
        parts = {
            "ranking": tune_ranking,
            "analysis": tune_analysis,
            "extra": tune_extra,
            "qtf": tune_qtf,
        }
        parts[args.part](coll, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
