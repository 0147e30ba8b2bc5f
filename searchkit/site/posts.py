"""Reading posts: walk a content folder, parse front matter, normalise into `Post`.

Every problem with a file becomes a `Problem` (an error that skips the post,
or a warning that keeps it) carrying the path and a reason; nothing here
raises for one bad post, so one bad file never stops a run.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from searchkit.errors import ContentError

from .front_matter import split_front_matter
from .normalise import normalise_tags, parse_date, post_fields  # noqa: F401 (re-exported)
from .siteconfig import ReadRules, Site, open_site

MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown")
HTML_SUFFIXES = (".html", ".htm")
# What Hugo renders as pages (gohugo.io/content-management/formats): Markdown
# and HTML are read; the others are counted and named, never dropped silently.
POST_SUFFIXES = MARKDOWN_SUFFIXES + HTML_SUFFIXES
UNREADABLE_SUFFIXES = (".org", ".adoc", ".asciidoc", ".ad", ".rst", ".pandoc", ".pdc")
# Folders of a Jekyll site that never hold posts: its built output (HTML
# pages, now that .html files are posts) and its templates.
NOT_CONTENT = frozenset({"_site", "_layouts", "_includes"})
SECTION_PAGES = tuple("_index" + s for s in POST_SUFFIXES)
BUNDLE_PAGES = tuple("index" + s for s in POST_SUFFIXES)

# A post larger than this is reported rather than indexed: it keeps one
# runaway file (a pasted log, a binary) from taking the indexer's memory.
MAX_POST_BYTES = 8 * 1024 * 1024

_BINARY_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r\f")


@dataclass(frozen=True)
class Problem:
    """Something wrong with one file. ``error`` problems mean it was skipped."""

    path: str
    message: str
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        return f"{self.path}: {self.severity}: {self.message}"


@dataclass
class Post:
    """One post, normalised from its front matter and body."""

    id: str  # path relative to the content root, with forward slashes
    title: str
    date: dt.datetime | None = None
    tags: list[str] = field(default_factory=list)
    source: str = ""
    post_kind: str = ""
    draft: bool = False
    url: str = ""
    external_url: str = ""
    tldr: str = ""
    summary: str = ""
    body: str = ""
    fingerprint: str = ""
    fields: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def path(self) -> str:
        return self.id

    def text(self, name: str) -> str:
        """The value of a full-text field by its schema name."""
        return getattr(self, name)


class ProblemsMixin:
    """``errors`` and ``warnings`` views of a ``problems`` list."""

    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


@dataclass
class LoadResult(ProblemsMixin):
    """Posts read from a folder and the problems met on the way."""

    posts: list[Post] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


# --------------------------------------------------------------------------
# Walking


def iter_post_files(root: Path) -> Iterator[Path]:
    """Post files (Markdown, HTML) under ``root``, in a stable order.

    Hugo rules: ``_index.md`` is a section page (skipped); a folder holding
    ``index.md`` (or ``index.html``) is a leaf bundle whose other files are
    resources, not posts.
    Hidden files and folders are skipped, and a Jekyll site's `_site`, `_layouts`
    and `_includes`.
    """
    root = Path(root)
    for pid, _ in iter_post_entries(root):
        yield root.joinpath(pid)


def iter_post_entries(
    root: Path | str, skipped: dict[str, int] | None = None, folders: dict[str, int] | None = None
) -> Iterator[tuple[str, os.DirEntry]]:
    """`iter_post_files` as (post id, directory entry) pairs, without Path objects.

    The freshness check of every ``searchkit query`` walks the whole folder:
    on 10,000 posts this walk with ``DirEntry.stat`` took 0.1 s where
    ``os.walk`` with a Path per file and ``Path.relative_to`` took 1.1 s.
    Pages in formats searchkit cannot read are counted in ``skipped``, by suffix.
    ``folders`` gets each folder walked ('' for ``root``, else 'a/b/') with its
    mtime_ns, read before the folder is listed (see `searchkit.indexing.freshness`).
    """
    yield from _walk(os.fspath(root), "", skipped, folders, top=True)


def scan_posts(
    root: Path | str, skipped: dict[str, int] | None = None, folders: dict[str, int] | None = None
) -> dict[str, tuple[int, int]]:
    """Post ids under ``root`` with their (mtime_ns, size), in walk order.

    ``skipped`` and ``folders`` are filled as by `iter_post_entries`.
    """
    found = {}
    for pid, entry in iter_post_entries(root, skipped, folders):
        try:
            st = entry.stat()
        except OSError:
            continue
        found[pid] = (st.st_mtime_ns, st.st_size)
    return found


def skipped_summary(skipped: dict[str, int]) -> str:
    """'skipped 12 .org files, 1 .rst file' ('' if none)."""
    parts = [f"{n} {suffix} file{'s' if n != 1 else ''}" for suffix, n in sorted(skipped.items())]
    return "skipped " + ", ".join(parts) + " (a format searchkit cannot read)" if parts else ""


def _walk(
    folder: str, prefix: str, skipped: dict[str, int] | None,
    folders: dict[str, int] | None = None, top: bool = False,
) -> Iterator[tuple[str, os.DirEntry]]:  # fmt: skip
    # The same order and rules as os.walk (top-down, symlinked folders listed
    # but not entered, unreadable folders skipped) with sorted names.
    try:
        if folders is not None:  # before listing: a change after it moves the mtime
            folders[prefix] = os.stat(folder).st_mtime_ns
        with os.scandir(folder) as it:
            entries = list(it)
    except OSError:  # unreadable now, maybe not later (chmod keeps the mtime): -1, unknown
        if folders is not None:
            folders[prefix] = -1
        return
    files: dict[str, os.DirEntry] = {}
    dirs: list[os.DirEntry] = []
    for entry in entries:
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            dirs.append(entry)
        else:
            files[entry.name] = entry
    if not top:
        bundle = next((b for b in BUNDLE_PAGES if b in files), None)
        if bundle:
            yield prefix + bundle, files[bundle]
            return
        other = next((f for f in files if f.startswith("index.") and _unreadable(f)), None)
        if other:  # a bundle whose page is in a format searchkit cannot read
            _count(skipped, other)
            return
    for name in sorted(files):
        if name.startswith(".") or name in SECTION_PAGES:
            continue
        lowered = name.lower()
        if lowered.endswith(POST_SUFFIXES):
            yield prefix + name, files[name]
        elif _unreadable(lowered) and not name.startswith("_index."):
            _count(skipped, name)
    for entry in sorted(dirs, key=lambda e: e.name):
        if entry.name.startswith(".") or entry.name in NOT_CONTENT:
            continue
        try:
            if entry.is_symlink():
                continue
        except OSError:
            continue
        yield from _walk(entry.path, f"{prefix}{entry.name}/", skipped, folders)


def _unreadable(name: str) -> bool:
    return name.lower().endswith(UNREADABLE_SUFFIXES)


def _count(skipped: dict[str, int] | None, name: str) -> None:
    if skipped is not None:
        suffix = "." + name.rsplit(".", 1)[-1].lower()
        skipped[suffix] = skipped.get(suffix, 0) + 1


def fingerprint(raw: bytes) -> str:
    import hashlib  # not at the top: a query that finds the index fresh needs none (5 ms)

    return hashlib.blake2b(raw, digest_size=12).hexdigest()


# --------------------------------------------------------------------------
# Parsing


def load_posts(root: Path | str | Site, *, drafts: bool = True) -> LoadResult:
    """Read every post under ``root``; bad files become problems, not exceptions.

    ``root`` is a content folder (its site's configuration is looked up
    beside it) or a `Site`. Posts the site would not publish are drafts.
    """
    site = open_site(root)
    root, rules = Path(site.content), site.rules
    result = LoadResult()
    for path in iter_post_files(root):
        post, problems = read_post(path, root, rules)
        result.problems.extend(problems)
        if post is not None and (drafts or not post.draft):
            result.posts.append(post)
    return result


def read_post(
    path: Path, root: Path, rules: ReadRules | None = None
) -> tuple[Post | None, list[Problem]]:
    """Read one file. Returns the post (None on error) and its problems."""
    pid = Path(path).relative_to(root).as_posix()  # lexical: resolve() per file is slow
    try:
        pid.encode("utf-8")
    except UnicodeEncodeError:  # Linux keeps such names as lone surrogates
        name = pid.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return None, [Problem(pid, f"file name is not valid UTF-8 ({name!r}); rename the file")]
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        return None, [Problem(pid, f"cannot read file: {exc.strerror or exc}")]
    return parse_post(raw, pid, rules)


def parse_post(
    raw: bytes, pid: str, rules: ReadRules | None = None
) -> tuple[Post | None, list[Problem]]:
    """Parse the bytes of one post whose id is ``pid`` (its suffix says its format)."""
    warnings: list[str] = []
    fmt = "html" if pid.lower().endswith(HTML_SUFFIXES) else "markdown"
    try:
        text = _decode(raw, warnings)
        if fmt == "html" and not text.lstrip("\ufeff").startswith(("---", "+++", "{")):
            meta, body = {}, text  # Hugo renders an HTML page without front matter too
        else:
            meta, body = split_front_matter(text, warnings)
        post = normalise(meta, body, pid, warnings, rules, fmt)
    except ContentError as exc:
        return None, [Problem(pid, str(exc))]
    post.fingerprint = fingerprint(raw)
    return post, [Problem(pid, w, "warning") for w in warnings]


def _decode(raw: bytes, warnings: list[str]) -> str:
    if len(raw) > MAX_POST_BYTES:
        raise ContentError(
            f"file is {len(raw) / 1e6:.1f} MB, over the {MAX_POST_BYTES // 2**20} MiB "
            "limit for one post"
        )
    if not raw.strip():
        raise ContentError("the file is empty")
    head = raw[:4096]
    if len(head) - len(head.translate(None, _BINARY_BYTES)) > len(head) // 100 + 4:
        raise ContentError("binary data, not a text file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ContentError(
            f"not valid UTF-8 at byte offset {exc.start} (line {line}); save the file as UTF-8"
        ) from None
    if "\x00" in text:
        warnings.append("the file contains NUL characters; they were removed")
        text = text.replace("\x00", "")
    return text


# --------------------------------------------------------------------------
# Normalising


def normalise(
    meta: dict, body: str, pid: str, warnings: list[str], rules: ReadRules | None = None,
    fmt: str = "markdown",
) -> Post:  # fmt: skip
    """Turn a front-matter mapping and a body into a `Post`."""
    return Post(**post_fields(meta, body, pid, warnings, rules, fmt))
