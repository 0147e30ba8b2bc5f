"""The import contracts in pyproject.toml hold: stages imported in one direction only."""

import subprocess
import sys
from pathlib import Path

from conftest import REPO


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run(
        [str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 kept, 0 broken" in proc.stdout


def test_public_names_never_share_a_name_with_a_module():
    """``import searchkit.tagging.train`` would replace a function ``train`` on the package."""
    import importlib
    import pkgutil

    for sub in ("site", "indexing", "search", "tagging", "export"):
        package = importlib.import_module(f"searchkit.{sub}")
        modules = {m.name for m in pkgutil.iter_modules(package.__path__)}
        assert not modules & set(package.__all__), sub
        for name in package.__all__:  # every listed name exists
            assert getattr(package, name) is not None, (sub, name)
