"""`searchkit tags review`: a Markdown tag report on the posts a branch adds or changes.

Meant for pull requests: a CI job (docs/examples/tag-review.yml) or a
pre-commit hook runs it, and a reviewer pastes or a bot posts the output.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from searchkit.errors import SearchkitError
from searchkit.site.posts import POST_SUFFIXES, SECTION_PAGES
from searchkit.site.siteconfig import Site, open_site

from .model import Suggestion

# A tagged post is flagged for a missing tag the model suggests at its own
# thresholds, tuned at training for precision (`TagModel.cutoffs`): the same
# cut as `tags suggest` and `tags apply`, so `tags eval`'s precision at the
# default threshold (>= 0.80 on every corpus's time split, docs/tags.md) is
# what a review shows.


class GitError(SearchkitError):
    """A git command needed for the review failed."""


@dataclass
class ReviewItem:
    path: str
    tags: list[str]
    suggestions: list[Suggestion]


@dataclass
class ReviewReport:
    """Findings for changed posts: untagged ones, and tagged ones missing a sure tag."""

    base: str | None
    checked: int = 0
    threshold: float = 0.0  # the model's threshold (what `tags suggest` shows by default)
    untagged: list[ReviewItem] = field(default_factory=list)
    missing: list[ReviewItem] = field(default_factory=list)

    @property
    def findings(self) -> int:
        return len(self.untagged) + len(self.missing)

    def to_markdown(self) -> str:
        where = f" changed since `{self.base}`" if self.base else ""
        lines = ["## Tag review", ""]
        if not self.findings:
            lines.append(f"{self.checked} post(s){where} checked: tags look complete.")
            return "\n".join(lines) + "\n"
        lines.append(f"{self.checked} post(s){where} checked, {self.findings} to look at.")
        if self.untagged:
            lines += ["", "### Untagged posts", ""]
            for item in self.untagged:
                lines.append(f"- `{item.path}`: " + (_fmt(item.suggestions) or "no suggestion"))
        if self.missing:
            cut = f"score >= the model's threshold, {self.threshold:.2f}"
            lines += ["", f"### Tagged posts missing a likely tag ({cut})", ""]
            for item in self.missing:
                has = ", ".join(f"`{t}`" for t in item.tags)
                lines.append(f"- `{item.path}` (has {has}): {_fmt(item.suggestions)}")
        lines += [
            "",
            "Apply with `searchkit tags apply PATH --write` (it prints a diff without --write).",
        ]
        return "\n".join(lines) + "\n"


def _fmt(suggestions: Sequence[Suggestion]) -> str:
    return ", ".join(
        f"**{s.tag}** {s.score:.2f}" + (f" ({'; '.join(s.reasons)})" if s.reasons else "")
        for s in suggestions
    )


def _git(repo: Path, *args: str) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
        )
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    except subprocess.CalledProcessError as exc:
        msg = (exc.stderr or exc.stdout).strip().splitlines()
        raise GitError(f"git {' '.join(args)}: {msg[-1] if msg else 'failed'}") from None
    return out.stdout


def default_base(repo: Path) -> str:
    """The merge base of HEAD with the default branch (origin's HEAD, else main/master)."""
    candidates = []
    try:
        head = _git(repo, "symbolic-ref", "--quiet", "refs/remotes/origin/HEAD").strip()
        candidates.append(head.removeprefix("refs/remotes/"))
    except GitError:
        pass
    candidates += ["origin/main", "origin/master", "main", "master"]
    for ref in candidates:
        try:
            return _git(repo, "merge-base", "HEAD", ref).strip()
        except GitError:
            continue
    raise GitError("cannot find the default branch; pass --base REF")


def changed_files(content: Path, base: str | None) -> tuple[str, list[Path]]:
    """Post files under ``content`` added or changed since ``base`` (committed or not)."""
    content = content.resolve()
    top = Path(_git(content, "rev-parse", "--show-toplevel").strip())
    ref = base or default_base(top)
    _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    names = _git(top, "diff", "--name-only", "--diff-filter=AMR", "-z", ref, "--", str(content))
    names += _git(top, "ls-files", "--others", "--exclude-standard", "-z", "--", str(content))
    files = []
    for name in dict.fromkeys(n for n in names.split("\0") if n):
        p = top / name
        if p.suffix.lower() in POST_SUFFIXES and p.name not in SECTION_PAGES and p.is_file():
            files.append(p)
    return ref, files


def review(
    content: Path | Site,
    index: Path,
    *,
    paths: Sequence[str | Path] = (),
    base: str | None = None,
    log: Callable[[str], None] | None = None,
) -> ReviewReport:
    """Review the given posts, or those changed relative to ``base``."""
    from .workflow import fresh_model, read_posts, resolve_posts

    content = open_site(content)
    if paths:
        # Paths outside the content folder are skipped, not errors: a
        # pre-commit hook passes every staged Markdown file (README.md too).
        ref, files = None, resolve_posts(content, paths, skip_outside=True)
    else:
        ref, files = changed_files(Path(content), base)
        ref = base or ref[:12]
    report = ReviewReport(ref)
    posts = [p for p in read_posts(content, files) if not p.draft]
    report.checked = len(posts)
    if not posts:
        return report
    model = fresh_model(content, index, log=log)
    report.threshold = model.threshold
    for post in posts:
        # The model's own thresholds for both: one cut for every tags command.
        found = model.suggest(post)
        if not post.tags:
            report.untagged.append(ReviewItem(post.id, [], found))
        elif found:
            report.missing.append(ReviewItem(post.id, post.tags, found))
    return report
