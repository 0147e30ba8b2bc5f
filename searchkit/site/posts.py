"""Reading posts: walk a content folder, parse front matter, normalise into `Post`.

Every problem with a file becomes a `Problem` (an error that skips the post,
or a warning that keeps it) carrying the path and a reason; nothing here
raises for one bad post, so one bad file never stops a run.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from searchkit.errors import ContentError

from .front_matter import kind_name, split_front_matter

MARKDOWN_SUFFIXES = (".md", ".markdown")
SECTION_PAGES = ("_index.md", "_index.markdown")
BUNDLE_PAGES = ("index.md", "index.markdown")

# A post larger than this is reported rather than indexed: it keeps one
# runaway file (a pasted log, a binary) from taking the indexer's memory.
MAX_POST_BYTES = 8 * 1024 * 1024

TRUE_STRINGS = frozenset({"true", "yes", "on", "1"})
FALSE_STRINGS = frozenset({"false", "no", "off", "0", ""})
_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff\u00ad]")
_BINARY_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r\f")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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
    """Markdown files under ``root`` that are posts, in a stable order.

    Hugo rules: ``_index.md`` is a section page (skipped); a folder holding
    ``index.md`` is a leaf bundle whose other files are resources, not posts.
    Hidden files and folders are skipped.
    """
    root = Path(root)
    for pid, _ in iter_post_entries(root):
        yield root.joinpath(pid)


def iter_post_entries(root: Path | str) -> Iterator[tuple[str, os.DirEntry]]:
    """`iter_post_files` as (post id, directory entry) pairs, without Path objects.

    The freshness check of every ``searchkit query`` walks the whole folder:
    on 10,000 posts this walk with ``DirEntry.stat`` took 0.1 s where
    ``os.walk`` with a Path per file and ``Path.relative_to`` took 1.1 s.
    """
    yield from _walk(os.fspath(root), "", top=True)


def scan_posts(root: Path | str) -> dict[str, tuple[int, int]]:
    """Post ids under ``root`` with their (mtime_ns, size), in walk order."""
    found = {}
    for pid, entry in iter_post_entries(root):
        try:
            st = entry.stat()
        except OSError:
            continue
        found[pid] = (st.st_mtime_ns, st.st_size)
    return found


def _walk(folder: str, prefix: str, top: bool = False) -> Iterator[tuple[str, os.DirEntry]]:
    # The same order and rules as os.walk (top-down, symlinked folders listed
    # but not entered, unreadable folders skipped) with sorted names.
    try:
        with os.scandir(folder) as it:
            entries = list(it)
    except OSError:
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
    bundle = next((b for b in BUNDLE_PAGES if b in files), None)
    if bundle and not top:
        yield prefix + bundle, files[bundle]
        return
    for name in sorted(files):
        if name.startswith(".") or name in SECTION_PAGES:
            continue
        if name.lower().endswith(MARKDOWN_SUFFIXES):
            yield prefix + name, files[name]
    for entry in sorted(dirs, key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_symlink():
                continue
        except OSError:
            continue
        yield from _walk(entry.path, f"{prefix}{entry.name}/")


def fingerprint(raw: bytes) -> str:
    import hashlib  # not at the top: a query that finds the index fresh needs none (5 ms)

    return hashlib.blake2b(raw, digest_size=12).hexdigest()


# --------------------------------------------------------------------------
# Parsing


def load_posts(root: Path | str, *, drafts: bool = True) -> LoadResult:
    """Read every post under ``root``; bad files become problems, not exceptions."""
    root = Path(root)
    result = LoadResult()
    for path in iter_post_files(root):
        post, problems = read_post(path, root)
        result.problems.extend(problems)
        if post is not None and (drafts or not post.draft):
            result.posts.append(post)
    return result


def read_post(path: Path, root: Path) -> tuple[Post | None, list[Problem]]:
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
    return parse_post(raw, pid)


def parse_post(raw: bytes, pid: str) -> tuple[Post | None, list[Problem]]:
    """Parse the bytes of one post whose id is ``pid``."""
    warnings: list[str] = []
    try:
        text = _decode(raw, warnings)
        meta, body = split_front_matter(text, warnings)
        post = normalise(meta, body, pid, warnings)
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
        raise ContentError("binary data, not a Markdown text file")
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


def normalise(meta: dict, body: str, pid: str, warnings: list[str]) -> Post:
    """Turn a front-matter mapping and a body into a `Post`."""
    meta = {str(k).strip().lower(): v for k, v in meta.items()}
    return Post(
        id=pid,
        title=_title(meta, pid, warnings),
        date=_date(meta.get("date"), warnings),
        tags=normalise_tags(meta.get("tags"), warnings),
        source=_text(meta, "source", warnings),
        post_kind=_text(meta, "post_kind", warnings),
        draft=_bool(meta.get("draft"), "draft", warnings),
        url=_text(meta, "url", warnings),
        external_url=_text(meta, "external_url", warnings),
        tldr=_text(meta, "tldr", warnings),
        summary=_text(meta, "summary", warnings),
        body=body.strip(),
        fields=meta,
    )


def _title(meta: dict, pid: str, warnings: list[str]) -> str:
    if meta.get("title") in (None, ""):
        stem = Path(pid).parent.name if Path(pid).stem == "index" else Path(pid).stem
        fallback = stem.replace("-", " ").replace("_", " ").strip() or pid
        warnings.append(f"no title; using the file name {fallback!r}")
        return fallback
    return _text(meta, "title", warnings)


def _text(meta: dict, name: str, warnings: list[str]) -> str:
    value = meta.get(name)
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, (int, float, dt.date)):
        text = str(value)
    else:
        parts = list(_strings(value))
        warnings.append(f"{name} is a {kind_name(value)}, not text; its strings were joined")
        text = " ".join(parts)
    return _CONTROL.sub(" ", text).strip()


def _strings(value: Any, depth: int = 0) -> Iterator[str]:
    if depth > 20:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v, depth + 1)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v, depth + 1)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield str(value)


def normalise_tags(value: Any, warnings: list[str]) -> list[str]:
    """A flat list of trimmed tag strings, as written, without duplicates.

    A comma-separated string is split; numbers become strings; anything else
    (null, nested lists, mappings, empty strings) is dropped with a warning.
    """
    if value is None:
        return []
    if isinstance(value, str):
        items: Iterable[Any] = value.split(",")
        if "," in value:
            warnings.append("tags is one comma-separated string; split into a list")
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        warnings.append(f"tags must be a list of strings, not a {kind_name(value)}; ignored")
        return []
    tags: list[str] = []
    dropped: list[str] = []
    seen: set[str] = set()
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            dropped.append("null" if item is None else kind_name(item))
            continue
        tag = " ".join(_INVISIBLE.sub("", _CONTROL.sub(" ", str(item))).split())
        if not tag:
            if isinstance(value, str):
                continue  # "a, b," has a trailing empty part; not worth a warning
            dropped.append("empty string")
            continue
        if tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
    if dropped:
        warnings.append(f"tags: dropped {', '.join(dropped)} (tags must be strings)")
    return tags


def _bool(value: Any, name: str, warnings: list[str]) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, (int, float)):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in TRUE_STRINGS:
            return True
        if lowered in FALSE_STRINGS:
            return False
    warnings.append(f"{name} should be true or false, got {value!r}; using false")
    return False


_JEKYLL_DATE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*([+-]\d{2}:?\d{2}|Z)?$"
)


def parse_date(value: Any) -> dt.datetime | None:
    """A timezone-aware datetime (UTC when none is given), or None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, dt.date):
        when = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, float)):
        try:
            return dt.datetime.fromtimestamp(value, dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(value, str):
        text = value.strip()
        try:
            when = dt.datetime.fromisoformat(text)
        except ValueError:
            m = _JEKYLL_DATE.match(text)
            if not m:
                return None
            try:
                hour, rest = m[2].split(":", 1)
                when = dt.datetime.fromisoformat(f"{m[1]}T{hour.zfill(2)}:{rest}{m[3] or ''}")
            except ValueError:
                return None
    else:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when


def _date(value: Any, warnings: list[str]) -> dt.datetime | None:
    if value in (None, ""):
        return None
    when = parse_date(value)
    if when is None:
        warnings.append(f"date {value!r} is not a date; the post has no date")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        warnings.append(f"date {value!r} is a number; read as Unix time {when:%Y-%m-%d}")
    return when
