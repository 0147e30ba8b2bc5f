"""Shared fixtures: small content folders copied to a temporary directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

from searchkit.cli.main import cli

# In CI the property tests draw the same examples every run (a failure there is
# reproducible from its log); elsewhere they explore new ones each time.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent


def copy_fixture(name: str, dest: Path) -> Path:
    """A copy of ``tests/fixtures/NAME`` at ``dest``, for a test to change freely."""
    shutil.copytree(FIXTURES / name, dest)
    return dest


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A copy of tests/fixtures/site; its index goes to ``site.parent / 'index'``."""
    return copy_fixture("site", tmp_path / "content")


@pytest.fixture
def bad_inputs(tmp_path: Path) -> Path:
    return copy_fixture("bad-inputs", tmp_path / "bad")


def run_cli(*args: str, cwd: Path | None = None):
    """Run the CLI in-process; returns click's Result (exit_code, stdout, stderr)."""
    runner = CliRunner()
    old = os.getcwd()
    try:
        if cwd:
            os.chdir(cwd)
        return runner.invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


def run_process(*args: str, cwd: Path | None = None, timeout: float = 120, **kw):
    """Run ``python -m searchkit ARGS`` in a real process."""
    env = dict(os.environ, PYTHONPATH=str(REPO), NO_COLOR="1")
    return subprocess.run(
        [sys.executable, "-m", "searchkit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )


def query_json(content: Path, index: Path, *words: str, extra: tuple[str, ...] = ()) -> dict:
    result = run_cli(
        "query", *words, "--content", str(content), "--index", str(index), "--json", *extra
    )
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)
