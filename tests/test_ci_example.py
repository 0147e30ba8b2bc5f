"""docs/examples/tag-review.yml: its shell steps, run as GitHub Actions would run them.

The steps come from the YAML itself; `uses:` steps are done by the test (the
checkout is a temporary git repository, Python is this one, no cache). The
install step installs this checkout under the distribution name the workflow
names (pip refuses a name that does not match), and `gh` is a stub that
records the comment it was asked to post.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import REPO
from tag_site import _write, git, make_site

WORKFLOW = REPO / "docs" / "examples" / "tag-review.yml"
GITHUB = {"github.base_ref": "main", "github.event.pull_request.number": "7",
          "github.token": "test-token"}  # fmt: skip


def _expand(text: str, context: dict[str, str]) -> str:
    def value(m: re.Match) -> str:
        name = m.group(1).strip()
        if name not in context:
            raise AssertionError(f"the test does not know the expression {name!r}")
        return context[name]

    return re.sub(r"\$\{\{(.*?)\}\}", value, text)


def _condition(expr: str, outputs: dict[str, dict[str, str]]) -> bool:
    m = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+) == '([^']*)'", expr.strip())
    assert m, f"the test does not know the condition {expr!r}"
    return outputs.get(m.group(1), {}).get(m.group(2)) == m.group(3)


def run_steps(repo: Path, bin_dir: Path, *, context=GITHUB, names=None, env=None) -> list:
    """Run the workflow's `run:` steps in ``repo``; stop at the first failing one."""
    flow = yaml.safe_load(WORKFLOW.read_text())
    outputs: dict[str, dict[str, str]] = {}
    ran = []
    for i, step in enumerate(flow["jobs"]["tag-review"]["steps"]):
        if "run" not in step or (names is not None and step.get("name") not in names):
            continue
        if "if" in step and not _condition(step["if"], outputs):
            continue
        out_file = repo.parent / f"github-output-{i}"
        out_file.write_text("")
        step_env = {
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "HOME": str(repo.parent),
            "GITHUB_OUTPUT": str(out_file),
            **{k: _expand(str(v), context) for k, v in flow.get("env", {}).items()},
            **{k: _expand(str(v), context) for k, v in step.get("env", {}).items()},
            **(env or {}),
        }
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
             _expand(step["run"], context)],
            cwd=repo, env=step_env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        ran.append((step.get("name", step["run"][:30]), proc))
        lines = out_file.read_text().splitlines()
        outputs[step.get("id", "")] = dict(line.split("=", 1) for line in lines if "=" in line)
        if proc.returncode:
            break
    return ran


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A bin folder with `python`, `gh` (stub) and `searchkit`, installed by the workflow's step."""
    tmp = tmp_path_factory.mktemp("ci")
    source, target, bin_dir = tmp / "source", tmp / "target", tmp / "bin"
    # Installed from a copy: building in the checkout would leave build/ behind.
    files = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], check=True,
                           capture_output=True, text=True).stdout.split("\0")  # fmt: skip
    for name in filter(None, files):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    bin_dir.mkdir()
    # `python -m pip install X` installs X alone into target/: this machine has
    # no network for the dependencies, which this Python already has.
    (bin_dir / "python").write_text(
        "#!/bin/sh\n"
        'if [ "$1 $2 $3" = "-m pip install" ]; then shift 3\n'
        f'  exec {sys.executable} -m pip install -q --no-deps --target {target} "$@"\nfi\n'
        f'exec {sys.executable} "$@"\n'
    )
    (bin_dir / "gh").write_text(
        '#!/bin/sh\nprintf "%s\\n" "$@" > "$HOME/gh-args"\n'
        'while [ $# -gt 0 ]; do [ "$1" = --body-file ] && cp "$2" "$HOME/gh-body"; shift; done\n'
    )
    for stub in ("python", "gh"):
        (bin_dir / stub).chmod(0o755)
    spec = f"searchkit-site @ file://{source}"
    ran = run_steps(tmp, bin_dir, names={"Install searchkit"}, env={"SEARCHKIT_INSTALL": spec})
    ((_, proc),) = ran
    assert proc.returncode == 0, proc.stderr
    (bin_dir / "searchkit").symlink_to(target / "bin" / "searchkit")
    return bin_dir


@pytest.fixture
def pull_request(tmp_path) -> Path:
    """A site repository on a branch adding one untagged post to origin/main."""
    repo = tmp_path / "site"
    make_site(repo / "content", untagged=0)
    git(tmp_path, "init", "-q", str(repo))
    (repo / ".gitignore").write_text("index/\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "site")
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    git(repo, "checkout", "-qb", "new-post")
    _write(repo / "content/posts/new.md", "Helm notes", [],
           "Kubernetes pods helm chart deployment rollout on the cluster.", 28)  # fmt: skip
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "new post")
    return repo


def test_the_workflow_installs_this_project_pinned():
    flow = yaml.safe_load(WORKFLOW.read_text())
    name = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["name"]
    spec = flow["env"]["SEARCHKIT_INSTALL"]
    assert re.fullmatch(rf"{re.escape(name)} @ git\+https://\S+@[\w.-]+", spec), spec
    assert name != "searchkit"  # another project's name on PyPI


def test_findings_are_posted_as_a_comment_and_the_job_passes(installed, pull_request):
    ran = run_steps(pull_request, installed, names={"Review tags", "Comment on the pull request"})
    assert [name for name, _ in ran] == ["Review tags", "Comment on the pull request"]
    assert all(p.returncode == 0 for _, p in ran), [p.stderr for _, p in ran]
    home = pull_request.parent
    assert (home / "gh-args").read_text().split() == [
        "pr", "comment", "7", "--body-file", "tag-review.md"]  # fmt: skip
    body = (home / "gh-body").read_text()
    assert "### Untagged posts" in body and "`posts/new.md`" in body


def test_a_clean_branch_posts_nothing(installed, pull_request):
    git(pull_request, "update-ref", "refs/remotes/origin/main", "HEAD")
    ran = run_steps(pull_request, installed, names={"Review tags", "Comment on the pull request"})
    assert [name for name, _ in ran] == ["Review tags"] and ran[0][1].returncode == 0
    assert not (pull_request.parent / "gh-args").exists()


@pytest.mark.parametrize("failure", ["searchkit missing", "unknown base branch"])
def test_any_other_exit_code_fails_the_job(installed, pull_request, tmp_path, failure):
    bin_dir, context = installed, GITHUB
    if failure == "searchkit missing":  # status 127
        bin_dir = tmp_path / "bin-without-searchkit"
        shutil.copytree(installed, bin_dir, ignore=shutil.ignore_patterns("searchkit"))
    else:  # status 2
        context = {**GITHUB, "github.base_ref": "no-such-branch"}
    ran = run_steps(pull_request, bin_dir, context=context,
                    names={"Review tags", "Comment on the pull request"})  # fmt: skip
    assert [name for name, _ in ran] == ["Review tags"]
    assert ran[0][1].returncode not in (0, 1)
    assert not (pull_request.parent / "gh-args").exists()
