"""Naming a post: by its file path, or by its id (its path inside the content folder).

Every command that takes a post goes through `resolve_post`, so
``content/docs/x.md``, an absolute path and the id ``docs/x.md`` all name the
same post, and nothing outside the content folder is ever accepted.
"""

from __future__ import annotations

import os
from pathlib import Path

from searchkit.errors import SearchkitError


class PostPathError(SearchkitError):
    """A name that is not a post inside the content folder."""


def post_id(path: Path | str, content: Path | str) -> str:
    """The id of the file at ``path``: its path inside ``content``, symlinks kept as named."""
    try:
        rel = Path(os.path.abspath(path)).relative_to(os.path.abspath(content))
    except ValueError:
        raise PostPathError(f"{path}: not inside the content folder {content}") from None
    return rel.as_posix()


def _inside(path: Path, content: Path) -> None:
    """Refuse ``path`` if it, or the file a symlink makes of it, is outside ``content``."""
    post_id(path, content)
    try:
        path.resolve().relative_to(content.resolve())
    except ValueError:
        raise PostPathError(f"{path}: leads outside the content folder {content}") from None


def resolve_post(name: str | Path, content: Path | str, *, must_exist: bool = True) -> Path:
    """The file a post name stands for: a path as given if it exists, else an id.

    A path that leads outside ``content`` (``..``, an absolute path, a
    symlink) is refused. With ``must_exist=False`` a name that is neither is
    returned as the id's file (the index may still hold that post).
    """
    given = Path(name)
    content = Path(content)
    if given.exists():
        _inside(given, content)
        return given
    if given.is_absolute() or ".." in given.parts:
        raise PostPathError(f"{name}: not inside the content folder {content}")
    by_id = content / given
    if by_id.exists():
        _inside(by_id, content)
        return by_id
    if must_exist:
        raise PostPathError(f"{name}: no such post (neither a file nor a post id in {content})")
    return by_id


def repo_path(path: Path | str) -> str:
    """``path`` as ``git apply`` expects it in a diff: relative to the repository root.

    The root is the nearest folder above ``path`` holding ``.git`` (a folder,
    or a file in a worktree); outside a repository, the path relative to the
    current directory (absolute when it is not below it).
    """
    absolute = Path(os.path.abspath(path))
    for parent in absolute.parents:
        if (parent / ".git").exists():
            return absolute.relative_to(parent).as_posix()
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return absolute.as_posix()
