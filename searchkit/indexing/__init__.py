"""Building the index from the posts and keeping it up to date (generations, lock, freshness)."""

from searchkit._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "update_index": ".build",
        "IndexReport": ".build",
        "refresh": ".freshness",
        "stale_reason": ".freshness",
        "check": ".freshness",
        "Freshness": ".freshness",
    },
)
