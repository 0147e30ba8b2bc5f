"""The index directory: generations, the writer lock and the manifest.

Whoosh updates an index by writing several files, which is not crash-safe on
its own (whoosh-community/whoosh#323). So every update happens in a fresh
*generation* directory (``gen-000042/``) that starts as a hard-link copy of
the current one, and the one-line ``CURRENT`` file is switched to it with an
atomic rename only once it is complete. A crash, ``kill -9`` or Ctrl-C at any
point leaves ``CURRENT`` naming the previous, intact generation; unfinished
generations are removed by the next writer.

Opening a Whoosh index unpickles its table of contents, so an index is a
local cache rebuilt from the posts, never a file to accept from elsewhere.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import IndexLocked, IndexMissing

CURRENT = "CURRENT"
LOCK = ".lock"
MANIFEST = "searchkit-manifest.json"
GEN_PREFIX = "gen-"


@dataclass
class Entry:
    """What the index knows about one file, to tell cheaply whether it changed."""

    mtime_ns: int
    size: int
    fingerprint: str
    error: str = ""  # the file could not be read: reported again every run
    warnings: list[str] = field(default_factory=list)
    draft: bool = False

    def to_json(self) -> list:
        return [self.mtime_ns, self.size, self.fingerprint, self.error, self.warnings, self.draft]

    @classmethod
    def from_json(cls, row: list) -> Entry:
        return cls(*row)


@dataclass
class Manifest:
    """Per-index metadata stored beside the Whoosh files of a generation."""

    schema_version: int
    searchkit_version: str
    entries: dict[str, Entry] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "schema_version": self.schema_version,
            "searchkit_version": self.searchkit_version,
            "entries": {k: e.to_json() for k, e in self.entries.items()},
        }

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        return cls(
            schema_version=data["schema_version"],
            searchkit_version=data["searchkit_version"],
            entries={k: Entry.from_json(v) for k, v in data["entries"].items()},
        )


def current_generation(index_dir: Path) -> Path | None:
    """The directory of the live generation, or None if there is no index."""
    try:
        name = (Path(index_dir) / CURRENT).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    gen = Path(index_dir) / name
    return gen if name.startswith(GEN_PREFIX) and gen.is_dir() else None


def require_generation(index_dir: Path) -> Path:
    gen = current_generation(index_dir)
    if gen is None:
        raise IndexMissing(f"no index in {index_dir}; run 'searchkit index' first")
    return gen


def read_manifest(gen: Path | None) -> Manifest | None:
    if gen is None:
        return None
    try:
        data = json.loads((gen / MANIFEST).read_text(encoding="utf-8"))
        return Manifest.from_json(data)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_json_atomic(path: Path, data: object) -> None:
    """Write JSON to ``path`` so that readers see the old or the new file, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, separators=(",", ":"), ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def new_generation(index_dir: Path, base: Path | None) -> Path:
    """Create the next generation directory, a hard-link copy of ``base`` if given.

    Whoosh never rewrites a file once written (new segments and a new TOC
    are new files), so hard links are safe and make the copy almost free.
    """
    index_dir = Path(index_dir)
    numbers = [
        int(p.name[len(GEN_PREFIX) :])
        for p in index_dir.glob(f"{GEN_PREFIX}*")
        if p.name[len(GEN_PREFIX) :].isdigit()
    ]
    gen = index_dir / f"{GEN_PREFIX}{max(numbers, default=0) + 1:06d}"
    gen.mkdir()
    if base is not None:
        for src in base.iterdir():
            if src.name == MANIFEST or not src.is_file():
                continue
            try:
                os.link(src, gen / src.name)
            except OSError:
                shutil.copy2(src, gen / src.name)
    crash_point("copied")
    return gen


def publish(index_dir: Path, gen: Path) -> None:
    """Make ``gen`` the live generation (atomic), then remove the others."""
    _fsync_dir(gen)
    crash_point("publishing")
    tmp = Path(index_dir) / f".{CURRENT}.tmp"
    tmp.write_text(gen.name + "\n", encoding="utf-8")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, Path(index_dir) / CURRENT)
    _fsync_dir(Path(index_dir))
    crash_point("published")
    remove_stale_generations(index_dir)


def remove_stale_generations(index_dir: Path) -> None:
    """Delete every generation but the live one (call with the lock held).

    A query that still has an old generation open keeps reading it: on
    POSIX, removed files stay readable while open.
    """
    live = current_generation(index_dir)
    for gen in Path(index_dir).glob(f"{GEN_PREFIX}*"):
        if gen != live:
            shutil.rmtree(gen, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def crash_point(stage: str) -> None:
    """Kill this process at ``stage`` when SEARCHKIT_CRASH_AT names it.

    The crash-safety tests use it to stop a build at exact points between
    the steps that must be atomic; unset, it costs one dictionary lookup.
    """
    if os.environ.get("SEARCHKIT_CRASH_AT") == stage:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


@contextlib.contextmanager
def writer_lock(index_dir: Path, wait: float = 30.0) -> Iterator[None]:
    """Hold the index's writer lock; wait up to ``wait`` seconds for it.

    An OS file lock (flock) is released by the kernel when its holder dies,
    so a killed run never leaves a stale lock behind.
    """
    import fcntl

    Path(index_dir).mkdir(parents=True, exist_ok=True)
    fd = os.open(Path(index_dir) / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexLocked(
                        f"another searchkit process is updating {index_dir}; "
                        f"gave up after waiting {wait:g} s"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing releases the lock
