"""Is the index up to date with the content folder? And `refresh` when it is not.

One check (`check`) answers it: a scan of the content folder (ids, mtimes,
sizes) against the live generation's stamp, then its manifest. It needs no
Whoosh, so a query can run it in a forked child (`check_in_background`)
while the parent imports Whoosh and searches; `searchkit.search.search_site`
does that.

A query asks for the quick check (``quick=True``): once a full check found
the index fresh, it records every folder's mtime (`FOLDERS`, in the index
folder), and while none has changed and that full check is recent
(`FULL_CHECK_SECONDS`) the answer stands without statting a post. Adding,
removing or renaming a file changes its folder's mtime (editors that save
through a temporary file and git do that too); an edit written in place
does not, and is seen by the next full check (docs/design.md, "Freshness").
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import store

if TYPE_CHECKING:
    from searchkit.site.siteconfig import Site

    from .build import IndexReport

Log = Callable[[str], None]

# The quick check's record: folder mtimes seen by the last full check that
# found the index fresh, and what that check compared.
FOLDERS = "searchkit-folders.json"
# A query makes a full check when the last one is older than this. At 50,000
# posts a full check stats every file (~0.5 s of one core here), so a minute
# keeps that to one query in many while an edit written in place is seen soon.
FULL_CHECK_SECONDS = 60.0
# Sites up to this many posts get the full check on every query: at 2,000
# posts it takes ~20 ms in the forked child, less than the parent's Whoosh
# import it runs beside, so it costs nothing and misses no in-place edit.
ALWAYS_FULL_POSTS = 2000
# A folder whose mtime is this close to the scan may change again within the
# file system's timestamp granularity (up to 2 s on FAT) without its mtime
# moving; it is recorded as unknown, so the next query checks in full.
RACY_NS = 2_000_000_000


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


def check(
    content_dir: Path | str | Site, index_dir: Path | str, *, quick: bool = False
) -> Freshness:
    """Compare ``content_dir`` with the live generation in ``index_dir`` (no Whoosh needed).

    ``quick``: trust the folder record of a recent full check while no folder's
    mtime changed (see the module's docstring); otherwise stat every post.
    """
    from searchkit.site.siteconfig import open_site

    known = quick_check(content_dir, index_dir) if quick else None
    if known is not None:
        return known
    gen = store.current_generation(Path(index_dir))
    if gen is None:
        return Freshness(None, None, "no index yet")
    site = open_site(content_dir)
    digest = site.config_digest()
    key = _record_key(gen, site.content, digest)
    return _full_check(gen, site.content, digest, Path(index_dir), key)


def quick_check(content_dir: Path | str | Site, index_dir: Path | str) -> Freshness | None:
    """The quick check's answer if the folder record vouches for the index, else None.

    It reads the record and stats the folders in it; nothing else.
    """
    from searchkit.site.siteconfig import open_site

    gen = store.current_generation(Path(index_dir))
    if gen is None:
        return None
    site = open_site(content_dir)
    key = _record_key(gen, site.content, site.config_digest())
    version = None if key is None else _quick_version(Path(index_dir), key, site.content)
    return None if version is None else Freshness(gen.name, version, "")


def _full_check(
    gen: Path, content: Path, digest: str, index_dir: Path, key: list | None
) -> Freshness:
    started = time.time_ns()
    folders: dict[str, int] = {}
    files = _scan(content, folders)
    fresh = _compare(gen, files, digest)
    if key is not None and not fresh.reason:
        _write_record(index_dir, key, fresh.schema_version, started, folders, len(files))
    return fresh


def _scan(content: Path, folders: dict[str, int]) -> dict[str, tuple[int, int]]:
    from searchkit.site.posts import scan_posts

    return scan_posts(content, folders=folders)


def _compare(gen: Path, files: dict[str, tuple[int, int]], digest: str) -> Freshness:
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


def _record_key(gen: Path, content: Path, digest: str) -> list | None:
    """What a folder record is valid for: this generation's exact manifest, this
    content folder, this site configuration (None if the manifest is missing)."""
    try:
        st = (gen / store.MANIFEST).stat()
    except OSError:
        return None
    return [gen.name, st.st_mtime_ns, st.st_size, st.st_ino, os.path.abspath(content), digest]


def _quick_version(index_dir: Path, key: list, content: Path) -> int | None:
    """The schema version if the folder record vouches for the index, else None."""
    try:
        record = json.loads((index_dir / FOLDERS).read_bytes().decode("utf-8", "surrogatepass"))
        if record["key"] != key or not isinstance(record["folders"], dict):
            return None
        if record["posts"] <= ALWAYS_FULL_POSTS:
            return None
        if not 0 <= time.time_ns() - record["full_at"] < FULL_CHECK_SECONDS * 1e9:
            return None
        root = os.fspath(content)
        for folder, mtime in record["folders"].items():
            if os.stat(os.path.join(root, folder)).st_mtime_ns != mtime or mtime < 0:
                return None
        return record["schema_version"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_record(
    index_dir: Path, key: list, version: int | None, started: int, folders: dict[str, int],
    posts: int,
) -> None:  # fmt: skip
    from searchkit.atomic import write_atomic

    record = {
        "key": key,
        "schema_version": version,
        "full_at": started,
        "posts": posts,
        "folders": {f: (m if m < started - RACY_NS else -1) for f, m in folders.items()},
    }
    text = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    with contextlib.suppress(OSError):  # a read-only index still answers, checking in full
        write_atomic(index_dir / FOLDERS, text.encode("utf-8", "surrogatepass"), durable=False)


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
    content_dir: Path | str | Site, index_dir: Path | str, *, quick: bool = False
) -> Callable[[], Freshness]:
    """Start `check` in a forked child; returns a function that waits for its answer.

    The full check stats every post (10,000 posts: ~100 ms here), which the
    child does on the other core while the caller imports Whoosh and searches.
    Without fork, when fork fails, or once threads exist (forking then is
    unsafe), it runs here instead. A child that fails answers "unknown",
    which callers treat as stale. With ``quick``, a quick check that vouches
    for the index answers at once, without a child (a few stats).
    """
    known = quick_check(content_dir, index_dir) if quick else None
    if known is not None:
        return lambda: known
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
