"""The client-side search index: JSON shards, the JavaScript client, a preview server."""

from searchkit._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "export_site": ".writer",
        "ExportReport": ".writer",
        "serving": ".webserve",
    },
)
