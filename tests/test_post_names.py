"""One rule for naming a post (file path or id inside the content folder) in every command."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import run_cli
from tag_site import GIT, git, make_site

from searchkit.tagging.workflow import train

POST = "posts/untagged-kubernetes.md"


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A git repository whose content folder is ``site/content`` (not at the root)."""
    root = tmp_path_factory.mktemp("namesrepo")
    content = root / "site" / "content"
    make_site(content, untagged=3)
    subprocess.run([*GIT, "init", "-q", str(root)], check=True)
    (root / ".gitignore").write_text("index/\n")
    git(root, "add", ".")
    git(root, "commit", "-qm", "site")
    train(content, root / "site" / "index")
    return root


def sk(repo: Path, *args: str, cwd: Path | None = None):
    site = repo / "site"
    return run_cli(*args, "--content", str(site / "content"), "--index", str(site / "index"),
                   cwd=cwd)  # fmt: skip


@pytest.mark.parametrize(
    "command",
    [("tags", "apply"), ("tags", "suggest", "--json"), ("tags", "review"), ("related",)],
)
def test_every_command_takes_a_post_id(repo, tmp_path, command):
    res = sk(repo, *command, POST, cwd=tmp_path)  # the id does not exist relative to cwd
    assert res.exit_code in (0, 1), res.stderr
    assert "does not exist" not in res.stderr and "error" not in res.stderr
    if command[-1] == "--json":
        assert [r["path"] for r in json.loads(res.stdout)] == [POST]
    if command == ("tags", "review"):
        assert f"`{POST}`" in res.stdout  # reviewed, not skipped as "outside"


def test_review_lists_names_that_apply_accepts(repo, tmp_path):
    review = sk(repo, "tags", "review", POST, cwd=tmp_path)
    assert review.exit_code == 1
    listed = review.stdout.split("`")[1]
    res = sk(repo, "tags", "apply", listed, cwd=tmp_path)
    assert res.exit_code == 0 and res.stdout.startswith("---"), res.stderr


@pytest.mark.parametrize("cwd", ["root", "elsewhere"])
def test_apply_diff_is_accepted_by_git_apply_from_the_repository_root(repo, tmp_path, cwd):
    res = sk(repo, "tags", "apply", POST, cwd=repo if cwd == "root" else tmp_path)
    assert res.exit_code == 0, res.stderr
    assert f"+++ b/site/content/{POST}" in res.stdout
    patch = tmp_path / "tags.patch"
    patch.write_text(res.stdout)
    check = subprocess.run(["git", "-C", str(repo), "apply", "--check", str(patch)],
                           capture_output=True, text=True)  # fmt: skip
    assert check.returncode == 0, check.stderr
