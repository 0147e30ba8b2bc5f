"""Building and updating the index from a content folder.

`update_index` is incremental: it re-reads only files whose size or mtime
changed, re-indexes only those whose content fingerprint changed, removes
deleted posts, and writes the result as a new generation (see `store`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__, store
from .content import Post, Problem, iter_post_files, post_id, read_post
from .schema import SCHEMA_VERSION, TEXT_FIELD_NAMES, build_schema

Progress = Callable[[int], None]


@dataclass
class IndexReport:
    """What one `update_index` run did."""

    indexed: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    rebuilt: str = ""  # why the index was rebuilt from scratch, if it was

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def changed(self) -> bool:
        return bool(self.indexed or self.updated or self.removed)

    def summary(self) -> str:
        return (
            f"indexed {self.indexed}, updated {self.updated}, removed {self.removed}, "
            f"unchanged {self.unchanged}, warnings {len(self.warnings)}, "
            f"errors {len(self.errors)}"
        )


def scan(content_dir: Path) -> dict[str, tuple[int, int]]:
    """Post ids under ``content_dir`` with their (mtime_ns, size)."""
    found = {}
    for path in iter_post_files(content_dir):
        try:
            st = path.stat()
        except OSError:
            continue
        found[post_id(path, content_dir)] = (st.st_mtime_ns, st.st_size)
    return found


def stale_reason(content_dir: Path, index_dir: Path) -> str:
    """Why the index does not match the content ('' when it does)."""
    manifest = store.read_manifest(store.current_generation(index_dir))
    if manifest is None:
        return "no index yet"
    if manifest.schema_version != SCHEMA_VERSION:
        return "the index was built by another searchkit version"
    files = scan(content_dir)
    if files.keys() != manifest.entries.keys():
        return "posts were added or removed"
    for pid, (mtime, size) in files.items():
        entry = manifest.entries[pid]
        if entry.mtime_ns != mtime or entry.size != size:
            return "posts changed"
    return ""


def update_index(
    content_dir: Path | str,
    index_dir: Path | str,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
    wait: float = 30.0,
) -> IndexReport:
    """Bring the index in ``index_dir`` up to date with ``content_dir``.

    ``on_start(n)`` is told how many files will be read; ``progress(1)`` is
    called after each. Holds the writer lock for the whole run.
    """
    content_dir, index_dir = Path(content_dir), Path(index_dir)
    with store.writer_lock(index_dir, wait=wait):
        return _update_locked(content_dir, index_dir, rebuild, progress, on_start)


def _update_locked(content_dir, index_dir, rebuild, progress, on_start) -> IndexReport:
    report = IndexReport()
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
    if report.rebuilt:
        base, old = None, None
    old_entries = old.entries if old else {}

    files = scan(content_dir)
    manifest = store.Manifest(SCHEMA_VERSION, __version__)
    to_add: list[Post] = []
    to_delete: list[str] = [pid for pid in old_entries if pid not in files]
    todo = [
        pid
        for pid, stat in files.items()
        if pid not in old_entries or (old_entries[pid].mtime_ns, old_entries[pid].size) != stat
    ]
    if on_start:
        on_start(len(todo))
    todo_set = set(todo)
    for pid, (mtime, size) in files.items():
        if pid not in todo_set:
            manifest.entries[pid] = old_entries[pid]
            report.unchanged += 1
            continue
        post, problems = read_post(content_dir / pid, content_dir)
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
                to_delete.append(pid)
            continue
        if was_indexed and prev.fingerprint == post.fingerprint:
            report.unchanged += 1  # touched, not changed
            continue
        to_add.append(post)
        if was_indexed:
            to_delete.append(pid)
            report.updated += 1
        else:
            report.indexed += 1
    report.removed = sum(1 for pid in to_delete if pid not in files and not old_entries[pid].error)
    for pid, entry in sorted(manifest.entries.items()):
        if entry.error:
            report.problems.append(Problem(pid, entry.error))
        report.problems.extend(Problem(pid, w, "warning") for w in entry.warnings)

    if base is not None and not to_add and not to_delete:
        # Nothing to re-index; the manifest still records new mtimes.
        if manifest.entries != old_entries:
            store.write_json_atomic(base / store.MANIFEST, manifest.to_json())
        return report
    _write_generation(index_dir, base, to_add, to_delete, manifest)
    return report


def _write_generation(index_dir, base, to_add, to_delete, manifest) -> None:
    from whoosh import index as whoosh_index

    gen = store.new_generation(index_dir, base)
    if base is None:
        ix = whoosh_index.create_in(str(gen), build_schema())
    else:
        ix = whoosh_index.open_dir(str(gen))
    writer = ix.writer(limitmb=256)
    try:
        for pid in to_delete:
            writer.delete_by_term("path", pid)
        for i, post in enumerate(to_add):
            writer.add_document(**document(post))
            if i == len(to_add) // 2:
                store.crash_point("adding")
        writer.commit(merge=base is not None)
        store.crash_point("committed")
    except BaseException:
        writer.cancel()
        raise
    finally:
        ix.close()
    store.write_json_atomic(gen / store.MANIFEST, manifest.to_json())
    store.publish(index_dir, gen)


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
        "fingerprint": post.fingerprint,
    }
    for name in TEXT_FIELD_NAMES:
        doc[name] = post.text(name)
    # The tldr is usually the first sentences of the summary: index only the
    # rest of the summary so that text is analysed once (the stored value,
    # shown in snippets, stays whole).
    if post.tldr and post.summary.startswith(post.tldr):
        doc["_stored_summary"] = post.summary
        doc["summary"] = post.summary[len(post.tldr) :]
    if post.date is not None:
        doc["date"] = post.date.astimezone(dt.UTC).replace(tzinfo=None)
    return {k: v for k, v in doc.items() if v != "" or k.startswith("_stored")}


def index_size(index_dir: Path) -> int:
    """Bytes on disk of the live generation."""
    gen = store.current_generation(index_dir)
    return sum(p.stat().st_size for p in gen.iterdir()) if gen else 0
