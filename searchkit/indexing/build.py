"""Building and updating the index from a content folder.

`update_index` is incremental: it re-reads only files whose size or mtime
changed, re-indexes only those whose content fingerprint changed, removes
deleted posts, and writes the result as a new generation (see `store`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from searchkit import __version__
from searchkit.errors import SearchkitError
from searchkit.schema import SCHEMA_VERSION, TEXT_FIELD_NAMES, build_schema, indexed_texts
from searchkit.site.posts import (
    Post,
    Problem,
    ProblemsMixin,
    read_post,
    scan_posts,
    skipped_summary,
)
from searchkit.site.siteconfig import Site, open_site
from searchkit.whoosh_internals import (
    cancel_workers,
    end_workers,
    fast_write_lengths,
    start_workers,
)

from . import store

Progress = Callable[[int], None]

# Adding at least this many posts spreads the work over the CPUs (Whoosh's
# multi-process writer, one segment per worker, no merge at the end: merging
# the workers' segments is what made it no faster on 2 cores). Worker start-up
# costs ~0.1 s, a 1,000-post build takes ~6 s in one process.
PARALLEL_MIN_POSTS = 1000
# Whoosh's in-memory posting pool per writer process (MB) before it spills
# sorted runs to disk.
POOL_MB = 256
# At most this many posts per writer process before its segment is committed
# and a new one begun, so that the posting pool (POOL_MB) never spills sorted
# runs to disk, which Whoosh then merges slowly. One process indexing 10,000
# linkblog posts: 82 s CPU in one segment, 47 s in segments of 4,000 (75 s in
# segments of 8,000: the pool spilled). The pool holds ~34 MB a linkblog
# post-thousand, so 5,000 fit; chunks are of equal size (`_chunk`), so 10,000
# posts on 2 CPUs are one chunk: no commit that waits for the workers midway.
CHUNK_PER_PROC = 5000


@dataclass
class IndexReport(ProblemsMixin):
    """What one `update_index` run did."""

    indexed: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    rebuilt: str = ""  # why the index was rebuilt from scratch, if it was
    site: str = ""  # which site configuration was read ('' for a bare content folder)
    skipped: str = ""  # "skipped 12 .org files ..." ('' if none)

    @property
    def changed(self) -> bool:
        return bool(self.indexed or self.updated or self.removed)

    def summary(self) -> str:
        line = (
            f"indexed {self.indexed}, updated {self.updated}, removed {self.removed}, "
            f"unchanged {self.unchanged}, warnings {len(self.warnings)}, "
            f"errors {len(self.errors)}"
        )
        return f"{line}; {self.skipped}" if self.skipped else line


def update_index(
    content_dir: Path | str | Site,
    index_dir: Path | str,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
    wait: float = 30.0,
) -> IndexReport:
    """Bring the index in ``index_dir`` up to date with ``content_dir``.

    ``content_dir`` is a content folder (its site's Hugo or Jekyll
    configuration is looked up beside it) or a `Site`. ``on_start(n)`` is
    told how many units of work there are (two a post to read: one when it
    is read, one when the writer has committed it, so the count ends when
    the work does); ``progress(k)`` is called after each. Holds the writer
    lock for the whole run.
    """
    site, index_dir = open_site(content_dir), Path(index_dir)
    with store.writer_lock(index_dir, wait=wait):
        return _update_locked(site, index_dir, rebuild, progress, on_start)


def _update_locked(site: Site, index_dir, rebuild, progress, on_start) -> IndexReport:
    report = IndexReport()
    content_dir, rules = Path(site.content), site.rules
    rules_key = site.rules_key()
    if site.config_files:
        report.site = site.describe()
    store.remove_stale_generations(index_dir)  # left over from a killed run
    base = store.current_generation(index_dir)
    old = store.read_manifest(base)
    if rebuild:
        report.rebuilt = "--rebuild"
    elif base is None:
        pass  # a first build, nothing to announce
    elif old is None:
        report.rebuilt = "the index has no readable manifest"
    elif old.schema_version != SCHEMA_VERSION:
        report.rebuilt = (
            f"the index has schema version {old.schema_version}, "
            f"this searchkit uses {SCHEMA_VERSION}"
        )
    elif old.site_rules != rules_key:
        report.rebuilt = "the site's configuration reads posts differently"
    elif reason := _damage(base, old):
        report.rebuilt = reason
    if report.rebuilt:
        base, old = None, None
    old_entries = old.entries if old else {}

    skipped: dict[str, int] = {}
    files = scan_posts(content_dir, skipped)
    report.skipped = skipped_summary(skipped)
    manifest = store.Manifest(SCHEMA_VERSION, __version__)
    manifest.site_digest, manifest.site_rules = site.config_digest(), rules_key
    if base is not None:
        store.ensure_readers_file(base)
        # verified by _damage; an older manifest without them gets them now
        manifest.files = old.files or store.checksum_files(base)
    removed = [pid for pid in old_entries if pid not in files]
    todo = [
        pid
        for pid, stat in files.items()
        if pid not in old_entries or (old_entries[pid].mtime_ns, old_entries[pid].size) != stat
    ]
    if on_start:
        on_start(2 * len(todo))
    todo_set = set(todo)
    # Posts go to the new generation's writer as they are read, so that its
    # worker processes index while this one reads and parses: reading 10,000
    # posts takes this process ~9 s CPU, which no longer delays the workers.
    new = _NewGeneration(index_dir, base, adding=len(todo), progress=progress)
    adds = 0
    try:
        for pid in removed:
            if not old_entries[pid].error:
                new.delete(pid)
        for pid, (mtime, size) in files.items():
            if pid not in todo_set:
                manifest.entries[pid] = old_entries[pid]
                report.unchanged += 1
                continue
            post, problems = read_post(content_dir / pid, content_dir, rules)
            if progress:
                progress(1)
            prev = old_entries.get(pid)
            entry = store.Entry(mtime, size, post.fingerprint if post else "")
            entry.warnings = [p.message for p in problems if p.severity == "warning"]
            entry.error = next((p.message for p in problems if p.severity == "error"), "")
            entry.draft = bool(post and post.draft)
            manifest.entries[pid] = entry
            was_indexed = prev is not None and not prev.error
            if post is None:
                if was_indexed:
                    new.delete(pid)
                new.skipped(1)
                continue
            if was_indexed and prev.fingerprint == post.fingerprint:
                report.unchanged += 1  # touched, not changed
                new.skipped(1)
                continue
            if was_indexed:
                new.delete(pid)
                report.updated += 1
            else:
                report.indexed += 1
            new.add(post)
            adds += 1
            if adds == len(todo) // 2 + 1:
                store.crash_point("adding")
        report.removed = sum(1 for pid in removed if not old_entries[pid].error)
        for pid, entry in sorted(manifest.entries.items()):
            if entry.error:
                report.problems.append(Problem(pid, entry.error))
            report.problems.extend(Problem(pid, w, "warning") for w in entry.warnings)

        if base is not None and not new.opened:
            # Nothing to re-index; the manifest still records new mtimes (and an
            # index written before stamps existed gets one).
            if (
                manifest.entries != old_entries
                or manifest.site_digest != old.site_digest
                or manifest.files != old.files
                or not store.stamp_matches(base, SCHEMA_VERSION, files, manifest.site_digest)
            ):
                store.write_manifest(base, manifest)
            return report
        new.commit(manifest)
    except BaseException:
        new.cancel()
        raise
    return report


def _damage(gen: Path, manifest: store.Manifest) -> str:
    """Why the live generation must be rebuilt although its manifest is current ('' if not).

    Its Whoosh files against the manifest's checksums (1,638 posts, 12 MB:
    ~15 ms), and its table of contents against what an index may unpickle
    (`safe_pickle.check_toc`, without importing Whoosh).
    """
    from .safe_pickle import UnsafeIndex, check_toc

    try:
        reason = store.damage(gen, manifest.files, checksums=True)
        if reason:
            return f"the index is damaged: {reason}"
        tocs = sorted(gen.glob("_MAIN_*.toc"))
        if not tocs:
            return "the index has no table of contents"
        for toc in tocs:
            check_toc(toc)
    except UnsafeIndex as exc:
        return f"the index is unsafe: {exc}"
    except (OSError, ValueError) as exc:
        return f"the index is damaged: {exc}"
    return ""


class _NewGeneration:
    """The next generation and its Whoosh writer, opened at the first change.

    After each chunk of posts (`_chunk`: at most `CHUNK_PER_PROC` a process)
    the writer commits (no merge) and a new one starts, so that no posting
    pool outgrows `POOL_MB`. That commit runs in a thread: while the worker
    processes finish their segments, this process goes on reading posts,
    which wait in a queue for the next writer (at 50,000 posts the workers'
    four mid-build finishes had kept it idle).
    """

    def __init__(self, index_dir: Path, base: Path | None, adding: int, progress=None):
        self.index_dir, self.base, self.adding = index_dir, base, adding
        self.progress = progress
        self.committed = 0  # posts added before the last writer commit
        self.gen: Path | None = None
        self.ix = self.writer = None
        self.workers: list = []
        self.added = 0
        self.chunk_end = 0  # commit the writer when `added` reaches this
        self._queue: deque[tuple[str, object]] = deque()  # ("add", doc) / ("delete", path)
        self._committing: threading.Thread | None = None
        self._commit_error: BaseException | None = None
        self._committing_writer = None

    @property
    def opened(self) -> bool:
        return self.gen is not None

    def _writer(self):
        from whoosh import index as whoosh_index

        from .safe_pickle import open_index

        if self.writer is not None:
            return self.writer
        fast_write_lengths()
        if self.gen is None:
            self.gen = store.new_generation(self.index_dir, self.base)
            if self.base is None:
                self.ix = whoosh_index.create_in(str(self.gen), build_schema())
            else:
                self.ix = open_index(self.gen)
        # compound=False: Whoosh opens a compound segment by copying each of
        # its parts out of an mmap into memory (10k posts: 10-35 ms per query
        # process); separate files open in 3-4 ms and are read on demand.
        procs = worker_processes(self.adding - self.added)
        fork = _fork_option() if procs > 1 else None
        if fork is not None:
            self.writer = self.ix.writer(
                procs=procs, multisegment=True, limitmb=POOL_MB, compound=False, **fork
            )
            start_workers(self.writer, procs)
        else:
            procs = 1
            self.writer = self.ix.writer(limitmb=POOL_MB, compound=False)
        self.workers = getattr(self.writer, "tasks", [])
        self.chunk_end = self.added + _chunk(self.adding - self.added, procs)
        return self.writer

    def delete(self, pid: str) -> None:
        self._queue.append(("delete", pid))
        self._pump()

    def add(self, post: Post) -> None:
        self._queue.append(("add", document(post)))
        self._pump()

    def _pump(self, wait: bool = False) -> None:
        """Hand queued changes to a writer, unless a chunk's commit still runs."""
        while self._queue:
            if self._committing is not None:
                # At most a chunk of posts waits in memory for the next writer.
                if not wait and self._committing.is_alive() and len(self._queue) < CHUNK_PER_PROC:
                    return
                self._join_commit()
            kind, item = self._queue.popleft()
            if kind == "delete":
                self._writer().delete_by_term("path", item)
                continue
            self._writer().add_document(**item)
            self.added += 1
            if self.added % 100 == 0 and any(w.exitcode not in (None, 0) for w in self.workers):
                raise SearchkitError("an indexing worker process failed; the index is unchanged")
            if self.added >= self.chunk_end and self.added < self.adding:
                self._start_commit()

    def skipped(self, n: int) -> None:
        """Posts read that need no indexing: their second unit of progress is done."""
        if self.progress:
            self.progress(n)

    def _start_commit(self) -> None:
        writer, self.writer, self.workers = self.writer, None, []
        self._committing_writer = writer

        def run() -> None:
            try:
                writer.commit(merge=False)
            except BaseException as exc:  # re-raised by the main thread
                self._commit_error = exc
                with contextlib.suppress(Exception):
                    cancel_workers(writer)  # closes its files

        self._committing = threading.Thread(target=run, name="searchkit-commit", daemon=True)
        self._committing.start()

    def _join_commit(self) -> None:
        thread, self._committing = self._committing, None
        if thread is None:
            return
        thread.join()
        self._committing_writer = None
        error, self._commit_error = self._commit_error, None
        if error is not None:
            raise error
        self._committed()

    def _committed(self) -> None:
        # The commit waits for the worker processes and merges their
        # segments: most of a rebuild's time after the last post is read.
        if self.progress and self.added > self.committed:
            self.progress(self.added - self.committed)
        self.committed = self.added

    def _commit_writer(self, merge: bool) -> None:
        writer, self.writer, self.workers = self.writer, None, []
        writer.commit(merge=merge)
        self._committed()

    def commit(self, manifest: store.Manifest) -> None:
        """Write the generation (even an empty first one) and make it live."""
        self._pump(wait=True)
        self._join_commit()
        self._writer()
        try:
            self._commit_writer(merge=self.base is not None)
        finally:
            self.ix.close()
        store.crash_point("committed")
        _check_count(self.gen, manifest)
        manifest.files = store.checksum_files(self.gen, known=manifest.files)
        store.write_manifest(self.gen, manifest)
        store.publish(self.index_dir, self.gen)

    def cancel(self) -> None:
        try:
            if self._committing is not None:
                # Its commit then ends without their segments, in a generation
                # that is never published (and removed by the next run).
                end_workers(self._committing_writer)
                self._committing.join(30)
            if self.writer is not None:
                cancel_workers(self.writer)
        finally:
            self.writer = self._committing = self._committing_writer = None
            if self.ix is not None:
                self.ix.close()


def worker_processes(adding: int) -> int:
    """How many worker processes to add (or export) ``adding`` posts with (1: no workers).

    ``SEARCHKIT_PROCS`` overrides the CPU count (benchmarks compare with 1).
    """
    if adding < PARALLEL_MIN_POSTS:
        return 1
    try:
        cpus = int(os.environ["SEARCHKIT_PROCS"])
    except (KeyError, ValueError):
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
        cpus = cpus or os.cpu_count() or 1
    return max(1, cpus)


def _chunk(adding: int, procs: int) -> int:
    """How many of ``adding`` posts the next writer of ``procs`` processes takes.

    Chunks of equal size, none over `CHUNK_PER_PROC` a process: 10,000 posts
    on 2 CPUs with 4,000 a process were 8,000 and a short tail of 2,000, a
    second wait for the workers to finish their segments.
    """
    per_chunk = CHUNK_PER_PROC * procs
    chunks = max(1, -(-adding // per_chunk))
    return -(-adding // chunks)


def _fork_option() -> dict | None:
    """How to ask Whoosh's multi-process writer for fork()ed workers; None: no fork.

    Forked workers are what `store` prepares for (they drop the writer lock
    and die with their parent). whoosh 2.7 always forks and takes no option.
    """
    import multiprocessing
    from inspect import signature

    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    from whoosh.multiproc import MpWriter

    return {"start_method": "fork"} if "start_method" in signature(MpWriter).parameters else {}


def _check_count(gen, manifest) -> None:
    """Refuse to publish a generation that lacks posts the manifest lists.

    Whoosh's multi-process writer drops a worker's segment silently if the
    worker died; this makes that an error before the generation goes live.
    """
    from .safe_pickle import open_index

    expected = sum(1 for e in manifest.entries.values() if not e.error)
    ix = open_index(gen)
    try:
        found = ix.doc_count()
    finally:
        ix.close()
    if found != expected:
        raise SearchkitError(
            f"the new index holds {found} posts instead of {expected}; "
            "the previous index is unchanged (run 'searchkit index' again)"
        )


def document(post: Post) -> dict:
    """The Whoosh document for ``post``."""
    doc: dict = {
        "path": post.id,
        "tags": ",".join(post.tags),
        "source": post.source,
        "post_kind": post.post_kind,
        "draft": post.draft,
        "url": post.url,
        "external_url": post.external_url,
        "slug": str(post.fields.get("slug") or ""),
        "local_date": post.date.isoformat() if post.date else "",
        "fingerprint": post.fingerprint,
    }
    doc.update(indexed_texts({name: post.text(name) for name in TEXT_FIELD_NAMES}))
    if doc["summary"] != post.summary:  # stored whole for snippets
        doc["_stored_summary"] = post.summary
    if post.date is not None:
        doc["date"] = post.date.astimezone(dt.UTC).replace(tzinfo=None)
    return {k: v for k, v in doc.items() if v != "" or k.startswith("_stored")}
