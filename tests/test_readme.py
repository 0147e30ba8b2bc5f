"""The README stays true: its test command is CI's, its Python examples run, its links lead
somewhere."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from conftest import REPO

README = REPO / "README.md"
CI_BLOCK = re.compile(
    r'# --- README, "Run the tests" \(keep in sync\) ---\n(.*?)# --- end ---', re.S
)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def fenced(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, re.S | re.M)


def test_the_readme_test_command_is_the_one_ci_runs():
    ci = CI_BLOCK.search((REPO / ".ci" / "run").read_text(encoding="utf-8"))
    assert ci, ".ci/run lost its README block markers"
    section = README.read_text(encoding="utf-8").split("### Run the tests", 1)[1]
    assert fenced(section, "sh")[0].strip() == ci.group(1).strip()


def _anchors(md: Path) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens."""
    heads = re.findall(r"^#+ (.+)$", md.read_text(encoding="utf-8"), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in heads}


def test_links_in_the_readme_and_docs_lead_to_files_and_headings():
    for md in [README, *sorted((REPO / "docs").glob("*.md"))]:
        for target in LINK.findall(md.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            path, _, anchor = target.partition("#")
            dest = (md.parent / path).resolve() if path else md
            assert dest.exists(), f"{md.name}: link to missing {target}"
            if anchor:
                assert anchor in _anchors(dest), f"{md.name}: no heading for {target}"


def test_the_readme_python_examples_run(tmp_path, monkeypatch, capsys):
    shutil.copytree(REPO / "content", tmp_path / "content")
    monkeypatch.chdir(tmp_path)
    blocks = fenced(README.read_text(encoding="utf-8"), "python")
    assert len(blocks) >= 2
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "links/" in out  # hits and suggestions were printed
    assert (tmp_path / "index" / "CURRENT").is_file()
    assert (tmp_path / "public" / "search" / "searchkit.json").is_file()
