"""Tag suggestions: train on the tagged posts, suggest, apply, review and evaluate.

No public name here shares its name with a module of the package: importing
``searchkit.tagging.review`` would otherwise replace a function ``review``.
"""

from searchkit._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "train": ".workflow",
        "suggest": ".workflow",
        "fresh_model": ".workflow",
        "PostSuggestions": ".workflow",
        "Suggestion": ".model",
        "TagModel": ".model",
        "ReviewReport": ".review",
        "plan_change": ".apply",
        "write_change": ".apply",
        "vocabulary_report": ".vocabulary",
    },
)
