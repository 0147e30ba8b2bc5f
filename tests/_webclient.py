"""Helpers for the export tests: build an index and an export, run the JS client under node."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from click.testing import CliRunner

from searchkit.cli.main import cli
from searchkit.config import Config
from searchkit.export.writer import export_site
from searchkit.indexing.build import update_index

REPO = Path(__file__).resolve().parent.parent
CONTENT = REPO / "content"
DRIVER = Path(__file__).resolve().parent / "js" / "client.mjs"
NODE = shutil.which("node")


def content_with_xss(work: Path) -> Path:
    """The shipped sample posts plus the XSS fixtures, copied under ``work``."""
    content = work / "content"
    shutil.copytree(CONTENT, content)
    shutil.copytree(Path(__file__).resolve().parent / "fixtures" / "xss", content / "xss")
    return content


def build_export(content: Path, work: Path, *, demo: bool = False, **cfg) -> tuple[Config, Path]:
    """Index ``content`` into ``work/index`` and export it to ``work/out``."""
    config = Config(content=content, index=work / "index", **cfg)
    update_index(config.content, config.index)
    out = work / "out"
    export_site(config, out, demo=demo)
    return config, out


def run_client(export_dir: Path, request: dict) -> dict:
    """Send one request to tests/js/client.mjs (see there) and return its answer."""
    proc = subprocess.run(
        [NODE, str(DRIVER), str(export_dir)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        raise AssertionError(f"node client failed:\n{proc.stderr}")
    return json.loads(proc.stdout)


def cli_query(config: Config, *args: str) -> dict:
    """`searchkit query --json ...` on ``config``'s site, parsed."""
    result = CliRunner().invoke(
        cli,
        ["query", "--content", str(config.content), "--index", str(config.index), "--json", *args],
    )
    if result.exit_code not in (0, 1):
        raise AssertionError(result.output)
    out = result.stdout
    return json.loads(out) if out.strip() else {"hits": [], "total": 0}


def export_paths(config: Config) -> list[str]:
    """Export ids -> post paths: non-draft posts in code point order of their paths."""
    meta = json.loads((Path(config.index).parent / "out" / "searchkit.json").read_text())
    from whoosh import index as whoosh_index

    from searchkit.indexing import store

    ix = whoosh_index.open_dir(str(store.current_generation(Path(config.index))))
    with ix.reader() as r:
        paths = sorted(s["path"] for _, s in r.iter_docs() if not s.get("draft"))
    ix.close()
    assert len(paths) == meta["posts"]
    return paths


def top(result: dict, paths: list[str] | None = None) -> list[tuple[str, float]]:
    """(path, score) of a CLI result, or of a client result given ``paths``."""
    if paths is None:
        return [(h["path"], h["score"]) for h in result["hits"]]
    return [(paths[h["id"]], h["score"]) for h in result["hits"]]
