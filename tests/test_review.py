"""`tags review`: changed posts relative to a git ref, Markdown report, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli
from tag_site import git, make_site, trained_git_site


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    return trained_git_site(tmp_path_factory.mktemp("reviewrepo"), untagged=0)


def review(repo: Path, *args: str):
    return run_cli("tags", "review", "--content", str(repo / "content"),
                   "--index", str(repo / "index"), *args)  # fmt: skip


def test_clean_branch_exits_0(repo):
    res = review(repo, "--base", "main")
    assert res.exit_code == 0, res.output
    assert "tags look complete" in res.stdout


def test_untagged_new_post_is_reported_with_suggestions(repo):
    git(repo, "checkout", "-q", "-b", "new-post")
    try:
        post = repo / "content" / "posts" / "fresh.md"
        post.write_text(
            "---\ntitle: Postgres vacuum and replication\ndate: 2024-02-01\n"
            "source: Fixture Notes\npost_kind: article\n---\n"
            "Postgres query planner, index, vacuum and replication lag on a busy table.\n"
        )
        res = review(repo)  # default base: merge base with main; untracked files count
        assert res.exit_code == 1, res.output
        assert "### Untagged posts" in res.stdout
        assert "`posts/fresh.md`" in res.stdout and "**databases**" in res.stdout
        git(repo, "add", ".")
        git(repo, "commit", "-qm", "post")
        res = review(repo, "--base", "main")
        assert res.exit_code == 1 and "posts/fresh.md" in res.stdout
        # Tagged now: clean again, unless a high-confidence tag is still missing.
        post.write_text(post.read_text().replace("date:", "tags: [databases]\ndate:"))
        res = review(repo, "--base", "main")
        assert res.exit_code == 0, res.stdout
    finally:
        git(repo, "checkout", "-q", "-f", "main")
        git(repo, "clean", "-qfd", "content")


def test_tagged_post_missing_a_sure_tag_is_reported(repo):
    post = repo / "content" / "posts" / "databases-0.md"
    res = review(repo, str(post))
    assert res.exit_code == 0
    text = post.read_text()
    try:
        post.write_text(text.replace("[databases]", "[networking]"))
        res = review(repo, str(post))
        assert res.exit_code == 1, res.stdout
        assert "missing a likely tag" in res.stdout and "**databases**" in res.stdout
    finally:
        post.write_text(text)


def test_missing_tags_are_flagged_at_the_models_own_threshold(repo):
    """`tags review` cuts where `tags suggest` does: at the threshold stored in the model."""
    import dataclasses

    import numpy as np

    from searchkit.site.posts import read_post
    from searchkit.tagging.store import load_model, save_model

    post = repo / "content" / "posts" / "databases-0.md"
    text = post.read_text()
    try:
        post.write_text(text.replace("[databases]", "[networking]"))
        review(repo, str(post))  # retrains on the changed tags
        index = repo / "index"
        model = load_model(index)
        mine = read_post(post, repo / "content")[0]
        score = next(s.score for s in model.suggest(mine, threshold=0.0) if s.tag == "databases")
        for cut, flagged in ((score + 0.01, False), (score - 0.01, True)):
            cut = float(np.clip(cut, 0.0, 1.0))
            cuts = np.full(len(model.tags), cut, np.float32)
            save_model(dataclasses.replace(model, threshold=cut, tag_thresholds=cuts), index)
            res = review(repo, str(post))
            assert (res.exit_code == 1) is flagged, (cut, res.stdout)
            assert ("**databases**" in res.stdout) is flagged
            if flagged:
                assert f"threshold, {cut:.2f}" in res.stdout
    finally:
        post.write_text(text)


def test_paths_outside_the_content_folder_are_skipped(repo):
    res = review(repo, str(repo / ".gitignore"))
    assert res.exit_code == 0 and "0 post(s)" in res.stdout


def test_pre_commit_hook_runs_the_review_command():
    import yaml
    from conftest import REPO

    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["entry"].split()[1:] == ["tags", "review"]
    assert hook["pass_filenames"] is True
    workflow = yaml.safe_load((REPO / "docs/examples/tag-review.yml").read_text())
    steps = workflow["jobs"]["tag-review"]["steps"]
    assert any("searchkit tags review" in s.get("run", "") for s in steps)


def test_bad_ref_and_no_repo_exit_2(repo, tmp_path):
    res = review(repo, "--base", "no-such-ref")
    assert res.exit_code == 2
    assert "searchkit: error: git" in res.stderr
    make_site(tmp_path / "content", per_topic=1, untagged=1)
    res = run_cli("tags", "review", "--content", str(tmp_path / "content"),
                  "--index", str(tmp_path / "index"))  # fmt: skip
    assert res.exit_code == 2
