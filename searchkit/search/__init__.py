"""Searching the index: the query language, BM25F ranking, snippets, spelling, related posts.

Python API::

    from searchkit.search import open_searcher, search_site

    result = search_site("content", "index", "gitops", limit=5)  # updates the index first
    with open_searcher("index") as s:  # the index as it is
        for hit in s.search("gitops", tags=["kubernetes"]).hits:
            print(hit.score, hit.path, hit.title)
"""

from searchkit._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "open_searcher": ".searcher",
        "Searcher": ".searcher",
        "Hit": ".searcher",
        "SearchResult": ".searcher",
        "search_site": ".fresh",
        "parse_query": ".query",
        "ParsedQuery": ".query",
        "parse_day": ".dates",
    },
)
