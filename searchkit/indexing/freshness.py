"""Is the index up to date with the content folder? And `refresh` when it is not.

One check (`check`) answers it: a scan of the content folder (ids, mtimes,
sizes) against the live generation's stamp, then its manifest. It needs no
Whoosh, so a query can run it in a forked child (`check_in_background`)
while the parent imports Whoosh and searches; `searchkit.search.search_site`
does that.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import store

if TYPE_CHECKING:
    from searchkit.site.siteconfig import Site

    from .build import IndexReport

Log = Callable[[str], None]


@dataclass(frozen=True)
class Freshness:
    """The live generation's name and schema version, and why it is stale ('' if not)."""

    generation: str | None
    schema_version: int | None
    reason: str

    def stale(self, schema_version: int) -> str:
        """Why the index must be updated for a searchkit of ``schema_version`` ('' if not)."""
        if self.reason or self.generation is None:
            return self.reason or "no index yet"
        if self.schema_version != schema_version:
            return "the index was built by another searchkit version"
        return ""


def check(content_dir: Path | str | Site, index_dir: Path | str) -> Freshness:
    """Compare ``content_dir`` with the live generation in ``index_dir`` (no Whoosh needed)."""
    from searchkit.site.posts import scan_posts
    from searchkit.site.siteconfig import open_site

    gen = store.current_generation(Path(index_dir))
    if gen is None:
        return Freshness(None, None, "no index yet")
    site = open_site(content_dir)
    digest = site.config_digest()
    files = scan_posts(site.content)
    version = store.stamp_version(gen, files, digest)
    if version is not None:
        return Freshness(gen.name, version, "")
    manifest = store.read_manifest(gen)
    if manifest is None:
        return Freshness(gen.name, None, "no index yet")
    if manifest.site_digest != digest:
        return Freshness(gen.name, manifest.schema_version, "the site's configuration changed")
    if files.keys() != manifest.entries.keys():
        return Freshness(gen.name, manifest.schema_version, "posts were added or removed")
    for pid, (mtime, size) in files.items():
        entry = manifest.entries[pid]
        if entry.mtime_ns != mtime or entry.size != size:
            return Freshness(gen.name, manifest.schema_version, "posts changed")
    return Freshness(gen.name, manifest.schema_version, "")


def stale_reason(content_dir: Path | str | Site, index_dir: Path | str) -> str:
    """Why the index does not match the content ('' when it does)."""
    from searchkit.schema import SCHEMA_VERSION

    return check(content_dir, index_dir).stale(SCHEMA_VERSION)


def refresh(
    content_dir: Path | str | Site,
    index_dir: Path | str,
    *,
    log: Log | None = None,
    reason: str | None = None,
    **update_options,
) -> IndexReport | None:
    """Update the index if the content changed; the report, or None if it was fresh.

    ``reason`` skips the check when the caller has just made it. ``log`` is
    told why the index is updated and how many posts could not be read.
    ``update_options`` go to `update_index` (progress hooks, ``wait``).
    """
    reason = stale_reason(content_dir, index_dir) if reason is None else reason
    if not reason:
        return None
    from .build import update_index

    if log:
        log(f"updating the index ({reason})")
    report = update_index(content_dir, index_dir, **update_options)
    if log and report.site:
        log(report.site)
    if log and report.skipped:
        log(report.skipped)
    if log and report.errors:
        log(f"{len(report.errors)} post(s) could not be read; 'searchkit index' lists them")
    return report


def check_in_background(
    content_dir: Path | str | Site, index_dir: Path | str
) -> Callable[[], Freshness]:
    """Start `check` in a forked child; returns a function that waits for its answer.

    The check stats every post (10,000 posts: ~100 ms here), which the child
    does on the other core while the caller imports Whoosh and searches.
    Without fork, when fork fails, or once threads exist (forking then is
    unsafe), it runs here instead. A child that fails answers "unknown",
    which callers treat as stale.
    """
    wait = _in_child(lambda: list(_as_row(check(content_dir, index_dir))))

    def answer() -> Freshness:
        row = wait()
        return Freshness(*row) if row else Freshness(None, None, "the freshness check failed")

    return answer


def _as_row(f: Freshness) -> tuple:
    return f.generation, f.schema_version, f.reason


def _in_child(func: Callable[[], list]) -> Callable[[], list | None]:
    import threading

    def here() -> Callable[[], list | None]:
        result = func()
        return lambda: result

    if not hasattr(os, "fork") or threading.active_count() > 1:
        return here()
    try:
        read_end, write_end = os.pipe()
    except OSError:  # out of descriptors
        return here()
    try:
        pid = os.fork()
    except OSError:  # out of processes
        os.close(read_end)
        os.close(write_end)
        return here()
    if pid == 0:  # the child: compute, write, leave without running any cleanup
        status = 1
        try:
            os.close(read_end)
            os.write(write_end, json.dumps(func()).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)

    def wait() -> list | None:
        with os.fdopen(read_end, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(pid, 0)
        return json.loads(data) if status == 0 and data else None

    return wait
