"""Reading a site: its configuration, its content folder's posts, their text, ids and URLs."""

from searchkit._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "Post": ".posts",
        "Problem": ".posts",
        "LoadResult": ".posts",
        "load_posts": ".posts",
        "read_post": ".posts",
        "parse_post": ".posts",
        "scan_posts": ".posts",
        "iter_post_files": ".posts",
        "post_id": ".paths",
        "resolve_post": ".paths",
        "post_url": ".urls",
        "Site": ".siteconfig",
        "ReadRules": ".siteconfig",
        "open_site": ".siteconfig",
        "discover_site": ".siteconfig",
        "is_safe_url": ".urls",
    },
)
