"""The whole loader and indexer over malformed and awkward posts (tests/fixtures/bad-inputs).

The cases and their expected handling come from the project's bad-inputs
collection: expected.json maps each file to accept / accept-warn / error /
skip / error-or-accept.
"""

import json
import shutil
import subprocess
import sys

import pytest
from conftest import FIXTURES, REPO

from searchkit.indexing.build import update_index
from searchkit.search.searcher import open_searcher

EXPECTED = json.loads((FIXTURES / "bad-inputs" / "expected.json").read_text())


def ids_with(expect: str) -> set[str]:
    return {k for k, v in EXPECTED.items() if v == expect}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Index good posts, then run the indexer again with every bad input added."""
    tmp = tmp_path_factory.mktemp("bad")
    content, index = tmp / "content", tmp / "index"
    shutil.copytree(FIXTURES / "site", content)
    update_index(content, index)
    shutil.copytree(FIXTURES / "bad-inputs", content / "bad")
    huge = content / "bad" / "huge-summary.md"
    huge.write_text("---\ntitle: Huge\nsummary: '" + "word " * 450_000 + "'\n---\n")
    report = update_index(content, index)
    return content, index, report


def _paths(problems, severity):
    return {p.path.removeprefix("bad/") for p in problems if p.severity == severity}


def test_every_error_case_is_reported_with_path_and_reason(run):
    _, _, report = run
    errors = {p.path.removeprefix("bad/"): p.message for p in report.errors}
    assert ids_with("error") <= errors.keys()
    assert all(len(msg) > 10 for msg in errors.values())
    assert errors.keys() <= ids_with("error") | ids_with("error-or-accept")


def test_every_accepted_case_is_indexed(run):
    _, index, report = run
    accepted = ids_with("accept") | ids_with("accept-warn") | {"huge-summary.md"}
    with open_searcher(index) as s:
        indexed = {h.path for h in s.search("", limit=None, drafts=True).hits}
    assert {f"bad/{a}" for a in accepted} <= indexed
    assert "bad/_index.md" not in indexed
    assert not any(p.endswith(".txt") for p in indexed)
    assert ids_with("accept-warn") <= _paths(report.problems, "warning")


def test_previously_indexed_posts_are_still_searchable(run):
    _, index, _ = run
    with open_searcher(index) as s:
        assert s.search("prometheus alerts").hits[0].path == "posts/prometheus-alerts.md"


def test_awkward_text_is_searchable(run):
    _, index, _ = run
    with open_searcher(index) as s:
        assert "bad/unicode-mix.md" in [h.path for h in s.search("cafe").hits]
        assert "bad/unicode-mix.md" in [h.path for h in s.search("café").hits]
        assert [h.path for h in s.search("", tags=["k8s"]).hits] == ["bad/tags-weird-chars.md"]
        # Both posts named same-slug.md keep their own ids.
        same = [h.path for h in s.search("same slug").hits]
        assert {"bad/dup-a/same-slug.md", "bad/dup-b/same-slug.md"} <= set(same)


def test_the_cli_never_crashes_or_hangs_on_bad_inputs(tmp_path):
    index = tmp_path / "index"
    cmd = [sys.executable, "-m", "searchkit", "index", "--content", str(FIXTURES / "bad-inputs")]
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [*cmd, "--index", str(index), "--strict"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2  # --strict: errors were found
    assert "Traceback" not in proc.stderr
    for name in ids_with("error"):
        assert f"{name}: error: " in proc.stderr
    assert "errors" in proc.stdout
