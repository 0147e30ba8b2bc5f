"""Related posts: the posts most like a given post (more-like-this).

The post's own words are weighted like the ranking weights them (field
weight x occurrences x idf); its most distinctive words become a query of
coordinated words, so a post sharing more of them ranks higher, scored by
the same BM25F as `searchkit query`.
"""

from __future__ import annotations

import math
from collections import Counter

from whoosh import query as Q

from searchkit.errors import QueryError
from searchkit.schema import FIELD_WEIGHTS, TEXT_FIELD_NAMES, analyze, indexed_texts

from .coord import WordsOr
from .query import ParsedQuery
from .wordterm import WordTerm

# Key words taken from the post. Share of the top 5 related posts that have
# a tag in common with the post (tags are not in the text, so an independent
# check), mean over four tag corpora (benchmarks/eval_related.py, 2026-12-01,
# each word one true-BM25F clause): 25 words 0.771, 50 0.785, 100 0.788 (two
# times slower); left out one corpus at a time, 100 or 50 is chosen (flat);
# per-field clauses, as before, 25 words: 0.761; TF-IDF cosine: 0.809.
KEY_TERMS = 50
# Each key word's clause is boosted by (its weight / the top word's) ** this:
# the words that characterise the post most count most (Lucene's
# MoreLikeThis boosts by weight too). Same measure, 50 words: exponent 0
# (no boost) 0.785, 0.25 0.808, 0.5 0.808, 0.75 0.803, 1 0.792; every corpus
# chooses 0.5 when left out (leave-one-out mean 0.808).
KEY_TERM_BOOST = 0.5


def key_terms(searcher, stored: dict, count: int = KEY_TERMS) -> list[tuple[str, float]]:
    """The ``count`` terms that best characterise a post with their weights,
    most telling first."""
    reader = searcher.reader()
    n_docs = max(reader.doc_count(), 1)
    weights: Counter[str] = Counter()
    texts = indexed_texts({name: stored.get(name) or "" for name in TEXT_FIELD_NAMES})
    for name, text in texts.items():
        for term, tf in Counter(analyze(text)).items():
            weights[term] += FIELD_WEIGHTS[name] * tf
    scored = []
    for term, w in weights.items():
        df = max(reader.doc_frequency(f, term) for f in TEXT_FIELD_NAMES)
        if df < 2:  # only in this post: cannot relate it to another
            continue
        scored.append((-w * (math.log(n_docs / (df + 1)) + 1), term))
    return [(t, -score) for score, t in sorted(scored)[:count]]


def related_query(searcher, post_id: str, count: int | None = None) -> ParsedQuery:
    """The query that finds posts like ``post_id`` (which it excludes)."""
    docnum = searcher.document_number(path=post_id)
    if docnum is None:
        raise QueryError(f"no post {post_id!r} in the index (is the path right?)")
    stored = searcher.stored_fields(docnum)
    terms = key_terms(searcher, stored, count or KEY_TERMS)
    top = terms[0][1] if terms else 1.0
    clauses = [  # each scored as `query` scores a word
        WordTerm(t, TEXT_FIELD_NAMES, boost=(w / top) ** KEY_TERM_BOOST) for t, w in terms
    ]
    scoring = WordsOr(clauses) if len(clauses) > 1 else (clauses[0] if clauses else None)
    return ParsedQuery(
        text=" ".join(t for t, _ in terms),
        scoring=scoring or Q.NullQuery,
        exclude=[Q.Term("path", post_id)],
    )
