"""The tagging workflow over a site: train, keep the model fresh, suggest, apply.

The CLI's ``tags`` commands are thin wrappers over these functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from searchkit.errors import ModelError, SearchkitError
from searchkit.site.paths import PostPathError, resolve_post
from searchkit.site.posts import LoadResult, iter_post_files, load_posts, parse_post, read_post
from searchkit.site.siteconfig import Site, open_site

from .model import Suggestion, TagModel, training_fingerprint, training_posts
from .store import load_model, model_path, read_model_meta, save_model

Log = Callable[[str], None]
STDIN = "-"  # the name of a post read from standard input, and its id
Progress = Callable[[int, int], None]


@dataclass
class PostSuggestions:
    """Suggestions for one post (``path`` is relative to the content root)."""

    path: str
    fingerprint: str
    suggestions: list[Suggestion]
    untagged: bool = False  # the post has no tags yet

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "fingerprint": self.fingerprint,
            "suggestions": [s.to_json() for s in self.suggestions],
        }


def train(
    content: Path | Site,
    index: Path,
    *,
    log: Log | None = None,
    progress: Progress | None = None,
) -> TagModel:
    """Train on the site's tagged, non-draft posts and store the model under ``index``.

    ``progress(done, total)`` follows the training (see `train_model`).
    """
    from .training import train_model

    loaded = load_posts(content)
    model = train_model(loaded.posts, log=log, progress=progress)
    save_model(model, index)
    return model


def stale_reason(content: Path | Site, index: Path, loaded: LoadResult | None = None) -> str | None:
    """Why the stored model must be retrained, or None when it is current."""
    try:
        doc = read_model_meta(index)
    except ModelError:  # unreadable, or written by another searchkit version
        return "the stored tag model cannot be used by this searchkit"
    if doc is None:
        return "there is no tag model yet"
    made = model_path(index).stat().st_mtime
    newest = max((f.stat().st_mtime for f in iter_post_files(content)), default=0.0)
    if newest <= made and loaded is None:
        return None  # nothing was touched since: skip reading every post
    loaded = loaded or load_posts(content)
    fp = training_fingerprint(training_posts(loaded.posts))
    if fp != doc.get("meta", {}).get("fingerprint"):
        return "the tag model is older than the content (tagged posts changed)"
    return None


def fresh_model(
    content: Path | Site, index: Path, *, log: Log | None = None, loaded: LoadResult | None = None
) -> TagModel:
    """The stored model, retrained first (saying so through ``log``) when stale."""
    reason = stale_reason(content, index, loaded)
    if reason:
        if log:
            log(f"retraining the tag model: {reason}")
        return train(content, index, log=log)
    return load_model(index)


def resolve_posts(
    content: Path, names: Iterable[str | Path], *, skip_outside: bool = False
) -> list[Path]:
    """Post files named by ``names`` (files, post ids or folders) inside ``content``.

    ``skip_outside`` drops existing files outside ``content`` instead of
    refusing them (a pre-commit hook passes every staged Markdown file).
    """
    out: list[Path] = []
    for name in names:
        try:
            p = resolve_post(name, content)
        except PostPathError:
            if skip_outside and Path(name).exists():
                continue
            raise
        if p.is_dir():
            out.extend(f.resolve() for f in iter_post_files(p))
        else:
            out.append(p.resolve())
    return list(dict.fromkeys(out))


def _named_posts(content: Site, paths: Sequence[str | Path], stdin: bytes | None) -> list:
    """The posts named by ``paths`` in order, ``-`` being the one in ``stdin``."""
    if [str(p) for p in paths].count(STDIN) > 1:
        raise SearchkitError("'-' (the post on standard input) can be named once")
    posts: list = []
    files: list[str | Path] = []
    for name in [*paths, None]:
        if name is None or str(name) == STDIN:
            posts.extend(read_posts(content, resolve_posts(content, files)))
            files = []
        if name is not None and str(name) == STDIN:
            if stdin is None:
                raise SearchkitError("'-' names the post on standard input, but none was given")
            post, problems = parse_post(stdin, STDIN, content.rules)
            if post is None:
                raise SearchkitError(f"standard input: {problems[0].message}")
            posts.append(post)
        elif name is not None:
            files.append(name)
    return posts


def read_posts(content: Path | Site, files: Sequence[Path]) -> list:
    """Parse the given post files as their site reads them; an unreadable one is an error."""
    site = open_site(content)
    root = Path(site.content).resolve()
    posts = []
    for f in files:
        post, problems = read_post(f, root, site.rules)
        if post is None:
            raise SearchkitError(str(problems[0]))
        posts.append(post)
    return posts


def suggest(
    content: Path | Site,
    index: Path,
    paths: Sequence[str | Path] = (),
    *,
    limit: int = 5,
    threshold: float | None = None,
    include_present: bool = False,
    log: Log | None = None,
    stdin: bytes | None = None,
) -> list[PostSuggestions]:
    """Suggestions for the given posts, or by default for every untagged, non-draft post.

    A path ``-`` is the post whose bytes are ``stdin`` (front matter and
    body, as in a file); its id is ``-``. An editor can so ask about the
    buffer it holds, saved or not.
    """
    content = open_site(content)
    if paths:
        posts = _named_posts(content, paths, stdin)
        model = fresh_model(content, index, log=log)
    else:
        loaded = load_posts(content)
        posts = [p for p in loaded.posts if not p.tags and not p.draft]
        model = fresh_model(content, index, log=log, loaded=loaded)
    return [
        PostSuggestions(
            p.id,
            p.fingerprint,
            model.suggest(p, limit=limit, threshold=threshold, include_present=include_present),
            untagged=not p.tags,
        )
        for p in posts
    ]
