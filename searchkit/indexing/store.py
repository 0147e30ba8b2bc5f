"""The index directory: generations, the writer lock and the manifest.

Whoosh updates an index by writing several files, which is not crash-safe on
its own (whoosh-community/whoosh#323). So every update happens in a fresh
*generation* directory (``gen-000042/``) that starts as a hard-link copy of
the current one, and the one-line ``CURRENT`` file is switched to it with an
atomic rename only once it is complete. A crash, ``kill -9`` or Ctrl-C at any
point leaves ``CURRENT`` naming the previous, intact generation; unfinished
generations are removed by the next writer.

A reader holds a shared flock on its generation's ``READERS`` file for as
long as it searches (`ReaderLease`); a writer removes an old generation only
when it can lock that file exclusively, so a long-lived searcher keeps
reading complete files; a later run collects the generation.

The manifest records each Whoosh file's size and CRC-32: a query compares
the sizes (recorded in the small stamp too), `searchkit index` the checksums,
and rebuilds a damaged index. Opening an index unpickles Whoosh's table of
contents, which `safe_pickle` restricts to what a searchkit index holds.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from searchkit.atomic import fsync_dir, write_atomic
from searchkit.errors import IndexDamaged, IndexLocked, IndexMissing

CURRENT = "CURRENT"
LOCK = ".lock"
MANIFEST = "searchkit-manifest.json"
STAMP = "searchkit-stamp.json"
READERS = "searchkit-readers.lock"
GEN_PREFIX = "gen-"
# Files of a generation that are searchkit's own, not Whoosh's.
OWN_FILES = frozenset([MANIFEST, STAMP, READERS])


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
    # The site's configuration when the posts were read: a digest of its files
    # (compared by every freshness check) and the reading rules they gave.
    site_digest: str = ""
    site_rules: str = ""
    # Whoosh file name -> [size, CRC-32] (empty in manifests older than this)
    files: dict[str, list[int]] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "schema_version": self.schema_version,
            "searchkit_version": self.searchkit_version,
            "site": [self.site_digest, self.site_rules],
            "entries": {k: e.to_json() for k, e in self.entries.items()},
            "files": self.files,
        }

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        digest, rules = data.get("site") or ("", "")
        return cls(
            schema_version=data["schema_version"],
            searchkit_version=data["searchkit_version"],
            entries={k: Entry.from_json(v) for k, v in data["entries"].items()},
            site_digest=digest,
            site_rules=rules,
            files={k: list(v) for k, v in data.get("files", {}).items()},
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
        data = json.loads((gen / MANIFEST).read_bytes().decode("utf-8", "surrogatepass"))
        return Manifest.from_json(data)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_manifest(gen: Path, manifest: Manifest) -> None:
    """Write ``gen``'s manifest, then its stamp (see `stamp_matches`)."""
    path = Path(gen) / MANIFEST
    write_json_atomic(path, manifest.to_json())
    st = path.stat()
    stamp = {
        "schema_version": manifest.schema_version,
        "site": manifest.site_digest,
        "files": files_digest({k: (e.mtime_ns, e.size) for k, e in manifest.entries.items()}),
        "manifest": [st.st_mtime_ns, st.st_size, st.st_ino],
        "sizes": {name: size for name, (size, _) in manifest.files.items()},
    }
    write_json_atomic(Path(gen) / STAMP, stamp)


def whoosh_files(gen: Path) -> list[str]:
    """The names of the Whoosh files that make up ``gen`` (not its lock file)."""
    return sorted(
        p.name
        for p in Path(gen).iterdir()
        if p.name.startswith(("MAIN_", "_MAIN_")) and p.name != "MAIN_WRITELOCK"
    )


def checksum(path: Path) -> list[int]:
    """[size, CRC-32] of the file at ``path`` (zlib: ~1 GB/s, 12 ms for 1,638 posts)."""
    import zlib

    crc = size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
    return [size, crc]


def checksum_files(gen: Path, known: Mapping[str, list[int]] | None = None) -> dict:
    """[size, CRC-32] of every Whoosh file in ``gen``; ``known`` ones are not read again.

    Whoosh never rewrites a file, and a new generation hard-links the files
    of its base, so the base's verified checksums hold for them.
    """
    known = known or {}
    out = {}
    for name in whoosh_files(gen):
        if name in known and (Path(gen) / name).stat().st_size == known[name][0]:
            out[name] = list(known[name])
        else:
            out[name] = checksum(Path(gen) / name)
    return out


def damage(gen: Path, files: Mapping[str, list[int]], *, checksums: bool) -> str:
    """Why ``gen``'s Whoosh files differ from ``files`` ('' if they do not).

    Sizes only (a stat a file) unless ``checksums``. A manifest without
    ``files`` (older searchkit) cannot be checked and passes.
    """
    if not files:
        return ""
    present = set(whoosh_files(gen))
    for name, (size, crc) in sorted(files.items()):
        path = Path(gen) / name
        if name not in present:
            return f"{name} is missing"
        have = path.stat().st_size
        if have != size:
            return f"{name} has {have} bytes instead of {size}"
        if checksums and checksum(path)[1] != crc:
            return f"{name} does not match its checksum"
    extra = sorted(present - set(files))
    return f"{extra[0]} does not belong to it" if extra else ""


def check_sizes(gen: Path) -> None:
    """Raise `IndexDamaged` if a Whoosh file of ``gen`` is missing or resized (cheap).

    The sizes come from the stamp (a few hundred bytes), not the manifest.
    """
    try:
        sizes = json.loads((Path(gen) / STAMP).read_text(encoding="utf-8")).get("sizes")
    except (OSError, ValueError, AttributeError):
        return  # no stamp: the freshness check then reads the manifest
    if isinstance(sizes, dict):
        reason = damage(gen, {k: [v, 0] for k, v in sizes.items()}, checksums=False)
        if reason:
            raise damaged(gen, reason)


def damaged(gen: Path, reason: str) -> IndexDamaged:
    return IndexDamaged(f"the index in {gen} is damaged ({reason}); 'searchkit index' rebuilds it")


def files_digest(files: Mapping[str, tuple[int, int]]) -> str:
    """A digest of post ids with their (mtime_ns, size), in the mapping's order.

    The indexer writes manifests in scan order, so a caller passes a fresh
    scan as it comes; another order only gives another digest (the caller
    then reads the manifest), never a wrong answer. Ids joined by NUL (which
    no file name holds) and the numbers as one int64 array: 5 ms for 10,000
    posts, against 15 ms for formatting each row as text.
    """
    from array import array

    try:  # hashlib.blake2b itself, without hashlib loading OpenSSL (4 ms)
        from _blake2 import blake2b
    except ImportError:
        from hashlib import blake2b
    digest = blake2b(digest_size=16)
    digest.update("\0".join(files).encode("utf-8", "surrogatepass"))
    digest.update(array("q", [n for stat in files.values() for n in stat]).tobytes())
    return digest.hexdigest()


def stamp_version(
    gen: Path | None, files: Mapping[str, tuple[int, int]], site_digest: str | None = None
) -> int | None:
    """The schema version in ``gen``'s stamp if its manifest lists exactly ``files``
    (and was read with the site configuration ``site_digest``, when given).

    The stamp is a small file beside the manifest holding a digest of its
    file list (ids, mtimes, sizes), so that the freshness check of every query
    need not load a manifest of 10,000 entries (0.06-0.1 s). It counts only
    for the exact manifest file it was written with (mtime, size, inode);
    otherwise, or when it is missing, this returns None and the caller reads
    the manifest.
    """
    if gen is None:
        return None
    try:
        stamp = json.loads((Path(gen) / STAMP).read_text(encoding="utf-8"))
        st = (Path(gen) / MANIFEST).stat()
    except (OSError, ValueError):
        return None
    if (
        isinstance(stamp, dict)
        and stamp.get("manifest") == [st.st_mtime_ns, st.st_size, st.st_ino]
        and stamp.get("files") == files_digest(files)
        and (site_digest is None or stamp.get("site", "") == site_digest)
    ):
        return stamp.get("schema_version")
    return None


def stamp_matches(
    gen: Path | None, schema_version: int, files: Mapping[str, tuple[int, int]],
    site_digest: str | None = None,
) -> bool:  # fmt: skip
    """True if ``gen``'s stamp says its manifest lists exactly ``files``."""
    return stamp_version(gen, files, site_digest) == schema_version


def write_json_atomic(path: Path, data: object) -> None:
    """Write JSON to ``path`` so that readers see the old or the new file, never half."""
    # surrogatepass: a file name that is not UTF-8 (kept by the scan as lone
    # surrogates, reported as an error) must not stop the manifest. dumps,
    # not dump: json.dump streams through the pure-Python encoder, 5x slower
    # on a manifest of 10,000 posts.
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    write_atomic(path, text.encode("utf-8", "surrogatepass"))


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
    (gen / READERS).touch()  # its own, never a link: each generation is leased alone
    if base is not None:
        for src in base.iterdir():
            if src.name in OWN_FILES or not src.is_file():
                continue
            try:
                os.link(src, gen / src.name)
            except OSError:
                shutil.copy2(src, gen / src.name)
    crash_point("copied")
    return gen


def publish(index_dir: Path, gen: Path) -> None:
    """Make ``gen`` the live generation (atomic), then remove the others."""
    fsync_dir(gen)
    crash_point("publishing")
    write_atomic(Path(index_dir) / CURRENT, (gen.name + "\n").encode())
    crash_point("published")
    remove_stale_generations(index_dir)


def remove_stale_generations(index_dir: Path) -> None:
    """Delete every generation but the live one that no reader holds (writer lock held).

    A generation a reader holds (see `ReaderLease`) stays for a later run:
    Whoosh opens some files only when first needed, so removing it under an
    open searcher would break that searcher's next query.
    """
    import fcntl

    live = current_generation(index_dir)
    for gen in Path(index_dir).glob(f"{GEN_PREFIX}*"):
        if gen == live or not gen.is_dir():
            continue
        try:
            fd = os.open(gen / READERS, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            shutil.rmtree(gen, ignore_errors=True)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue  # a reader holds it
        try:
            # The lock file goes first: a reader that opened it before is
            # waiting for this lock and then sees it unlinked (`ReaderLease`).
            (gen / READERS).unlink(missing_ok=True)
            shutil.rmtree(gen, ignore_errors=True)
        finally:
            os.close(fd)


class ReaderLease:
    """A shared lock on the live generation, held while a searcher reads it.

    Readers never create the lock file (`new_generation` does), so one
    cannot appear in a generation being removed; a reader whose file was
    unlinked while it waited for the lock tries the new live generation.
    A generation written before leases existed has no file: it is read
    without one (the next `searchkit index` gives it one).
    """

    def __init__(self, index_dir: Path | str):
        import fcntl

        index_dir = Path(index_dir)
        self.fd: int | None = None
        for _ in range(50):
            gen = require_generation(index_dir)
            path = gen / READERS
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                if current_generation(index_dir) == gen:
                    self.generation = gen  # an older index: no lease to take
                    return
                continue
            fcntl.flock(fd, fcntl.LOCK_SH)
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self.generation, self.fd = gen, fd
                return
            os.close(fd)  # removed while we waited: the live one is newer
        raise IndexLocked(f"the index in {index_dir} keeps changing; try again")

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __del__(self):
        self.release()


def ensure_readers_file(gen: Path) -> None:
    """Give a generation written before leases existed its lock file (writer lock held)."""
    path = Path(gen) / READERS
    if not path.exists():
        path.touch()


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
    fd = os.open(Path(index_dir) / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    _HELD_LOCKS[fd] = os.getpid()
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
        _HELD_LOCKS.pop(fd, None)
        os.close(fd)  # closing releases the lock


# Lock descriptors this process holds. A forked child (the indexer's worker
# processes) closes its copies at once: an flock lasts while any copy is
# open, so a worker outliving a killed parent would otherwise keep the index
# locked. On Linux the worker is also killed when its parent dies, instead of
# waiting for work forever.
_HELD_LOCKS: dict[int, int] = {}  # descriptor -> pid of the process holding it


def _after_fork_in_child() -> None:
    if not _HELD_LOCKS:
        return
    owners = set(_HELD_LOCKS.values())
    for fd in list(_HELD_LOCKS):
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD_LOCKS.clear()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes
            import signal

            PR_SET_PDEATHSIG = 1
            ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() not in owners:  # the parent died before prctl
                os._exit(1)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
