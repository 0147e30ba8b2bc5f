"""Every exit-code promise of the README, through the console script (`python -m searchkit`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_process
from tag_site import make_site, trained_git_site

from searchkit.tagging.evaluate import SplitResult, format_result


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    return trained_git_site(tmp_path_factory.mktemp("exitcodes"), untagged=2)


def sk(repo: Path, *args: str):
    return run_process(*args, "--content", str(repo / "content"), "--index", str(repo / "index"))


CASES = {
    "query with hits": (("query", "kubernetes"), 0),
    "query without hits": (("query", "zzzqqq"), 1),
    "query with a bad date": (("query", "date:soon"), 2),
    "unknown option (usage)": (("query", "--no-such-option"), 2),
    "related": (("related", "posts/kubernetes-0.md"), 0),
    "related to an unknown post": (("related", "posts/missing.md"), 2),
    "tags suggest lists untagged posts": (("tags", "suggest"), 1),
    "tags suggest for a tagged post": (("tags", "suggest", "posts/kubernetes-0.md"), 0),
    "tags suggest for an untagged post": (("tags", "suggest", "posts/untagged-kubernetes.md"), 1),
    "tags suggest outside the content": (("tags", "suggest", "/etc/hostname"), 2),
    "tags review, clean branch": (("tags", "review", "--base", "HEAD"), 0),
    "tags review, untagged post": (("tags", "review", "posts/untagged-kubernetes.md"), 1),
    "tags review, unknown ref": (("tags", "review", "--base", "no-such-ref"), 2),
    "tags apply prints a diff": (("tags", "apply", "posts/untagged-kubernetes.md"), 0),
}


@pytest.mark.parametrize("case", CASES)
def test_exit_code(repo, case):
    args, code = CASES[case]
    res = sk(repo, *args)
    assert res.returncode == code, res.stderr
    assert "Traceback" not in res.stderr
    if code == 2 and "usage" not in case:
        assert len(res.stderr.splitlines()) == 1 and res.stderr.startswith("searchkit: error:")


def test_tags_suggest_json_keeps_the_exit_code(repo):
    res = sk(repo, "tags", "suggest", "--json")
    assert res.returncode == 1 and res.stdout.startswith("[")


def test_no_untagged_posts_exit_0(tmp_path):
    make_site(tmp_path / "content", per_topic=6, untagged=0)
    res = run_process("tags", "suggest", "--content", str(tmp_path / "content"),
                      "--index", str(tmp_path / "index"))  # fmt: skip
    assert res.returncode == 0 and res.stdout == "no untagged posts\n"


def test_index_strict_exits_2_on_a_bad_post(tmp_path):
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / "bad.md").write_text("---\ntitle: [unclosed\n---\nbody\n")
    (tmp_path / "content" / "good.md").write_text("---\ntitle: Good\n---\nbody\n")
    args = ("--content", str(tmp_path / "content"), "--index", str(tmp_path / "index"))
    assert run_process("index", *args).returncode == 0
    assert run_process("index", "--strict", *args).returncode == 2


def test_kfold_header_does_not_repeat_the_time_split_counts():
    def result(name, folds):
        return SplitResult(name, 400, 100, 12, n_cold=7, folds=folds, n_posts=500)

    time, kfold = format_result(result("time", 1)), format_result(result("kfold", 5))
    assert "400 training posts, 100 test posts" in time
    assert "400 training posts, 100 test posts" not in kfold
    assert "5 folds over 500 tagged posts, each tested once" in kfold
    assert "Per fold: about 400 training posts, 12 tags." in kfold
