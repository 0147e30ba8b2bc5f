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

# Key words taken from the post. On the 51 sample posts the share of top-5
# related posts that have a tag in common with the post (tags are not in the
# text, so an independent check) was flat from 10 to 100 key terms (0.595 at
# 10 and 15, 0.585 at 25, 0.580 at 40, 0.585 at 100; 0.556 at 5): 25 keeps
# the query short and does not lean on a handful of words.
KEY_TERMS = 25


def key_terms(searcher, stored: dict, count: int = KEY_TERMS) -> list[str]:
    """The ``count`` terms that best characterise a post, most telling first."""
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
    return [t for _, t in sorted(scored)[:count]]


def related_query(searcher, post_id: str, count: int = KEY_TERMS) -> ParsedQuery:
    """The query that finds posts like ``post_id`` (which it excludes)."""
    docnum = searcher.document_number(path=post_id)
    if docnum is None:
        raise QueryError(f"no post {post_id!r} in the index (is the path right?)")
    stored = searcher.stored_fields(docnum)
    terms = key_terms(searcher, stored, count)
    clauses = [Q.Or([Q.Term(f, t) for f in TEXT_FIELD_NAMES]) for t in terms]
    scoring = WordsOr(clauses) if len(clauses) > 1 else (clauses[0] if clauses else None)
    return ParsedQuery(
        text=" ".join(terms),
        scoring=scoring or Q.NullQuery,
        exclude=[Q.Term("path", post_id)],
    )
