"""Progress bars on a terminal's stderr for the commands that can take seconds.

Library functions take a ``progress(done, total)`` callback (absolute
counts, any unit) and know nothing about terminals; a `Bar` turns those
calls into a click progress bar when stderr is a terminal and ``-q`` was
not given, and into nothing otherwise (piped output stays clean).
"""

from __future__ import annotations

import sys
from typing import IO

import click


class Bar:
    """A bar labelled ``label``, shown only on a terminal; use as a context manager."""

    def __init__(self, label: str, *, enabled: bool = True, file: IO[str] | None = None):
        self.file = file or sys.stderr
        self.enabled = enabled and self.file.isatty()
        self.label = label
        self._bar = None
        self._done = 0

    def __call__(self, done: int, total: int) -> None:
        """Absolute progress: ``done`` of ``total`` units."""
        if not self.enabled or total <= 0:
            return
        if self._bar is None or self._bar.length != total:
            self.close()
            self._bar = click.progressbar(length=total, label=self.label, file=self.file)
            self._bar.__enter__()
            self._done = 0
        self._bar.update(max(0, done - self._done))
        self._done = max(done, self._done)

    def start(self, total: int) -> None:
        """Incremental use: the total first, then `step` calls."""
        self._total = total
        self._done = 0
        if total:
            self(0, total)

    def step(self, n: int = 1) -> None:
        self(self._done + n, getattr(self, "_total", 0))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class IndexProgress(Bar):
    """The hooks `update_index` takes (``on_start``, ``progress``), as a bar."""

    # Fewer posts index in well under two seconds: no bar.
    MIN_POSTS = 200

    def __init__(self, enabled: bool = True, file: IO[str] | None = None):
        super().__init__("indexing", enabled=enabled, file=file)

    def options(self) -> dict:
        return {"on_start": self._on_start, "progress": self.step}

    def _on_start(self, total: int) -> None:
        # `update_index` counts two units a post: read, then committed.
        self.start(total if total >= 2 * self.MIN_POSTS else 0)
