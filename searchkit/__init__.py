"""searchkit: full-text search, tag suggestions and client-side export for a static site's posts."""

__version__ = "0.1.0"

from searchkit._lazy_whoosh import install as _defer_whoosh_morphology

_defer_whoosh_morphology()
