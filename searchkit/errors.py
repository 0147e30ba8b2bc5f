"""Error types the library raises; the CLI turns them into messages and exit codes."""

from __future__ import annotations


class SearchkitError(Exception):
    """Base for every error searchkit reports to a person (exit code 2)."""


class ContentError(SearchkitError):
    """A post cannot be read; the message says why."""


class ConfigError(SearchkitError):
    """``searchkit.toml`` or an option is invalid."""


class IndexMissing(SearchkitError):
    """There is no index where one was expected."""


class IndexDamaged(SearchkitError):
    """Index files are missing, truncated or do not match their checksums."""


class IndexLocked(SearchkitError):
    """Another process is writing the index."""


class QueryError(SearchkitError):
    """A query cannot be parsed or run."""


class ModelError(SearchkitError):
    """The tag model cannot be trained, loaded or used."""


class ExportError(SearchkitError):
    """The client-side index cannot be written."""
