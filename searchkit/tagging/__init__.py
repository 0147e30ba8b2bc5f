"""Tag suggestions: train on the tagged posts, suggest, apply, review and evaluate."""

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
        "review": ".review",
        "ReviewReport": ".review",
        "plan_change": ".apply",
        "write_change": ".apply",
        "evaluate": ".evaluate",
        "vocabulary_report": ".vocabulary",
    },
)
