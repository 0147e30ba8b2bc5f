"""The CLI and the export link a post to the same URL, from one rule (site.urls)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _webclient import NODE, run_client
from conftest import run_cli

from searchkit.export.data import full_url


def exported_urls(out: Path) -> dict[str, str]:
    """title -> url from the export's display rows ([url, title, ...]), read as the client does."""
    base = json.loads((out / "searchkit.json").read_text())["urlBase"]
    urls = {}

    def rows(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "d" and isinstance(value, list):
                    for row in value:
                        if isinstance(row, list) and len(row) > 2 and isinstance(row[1], str):
                            urls[row[1]] = full_url(row[0], base)
                else:
                    rows(value)

    for f in out.rglob("*.json"):
        rows(json.loads(f.read_text()))
    return urls


@pytest.mark.parametrize("external", [False, True])
def test_cli_and_export_give_a_post_the_same_url(site, tmp_path, external):
    config = tmp_path / "searchkit.toml"
    config.write_text(
        f'base_url = "https://example.org/blog/"\n'
        f"link_posts_use_external_url = {str(external).lower()}\n"
    )
    common = ["--content", str(site), "--index", str(tmp_path / "index"), "--config", str(config)]
    res = run_cli("export", *common, "--out", str(tmp_path / "out"))
    assert res.exit_code == 0, res.stderr
    exported = exported_urls(tmp_path / "out")
    res = run_cli("query", *common, "--json", "-n", "50")
    hits = json.loads(res.stdout)["hits"]
    assert hits and len(exported) >= len(hits)
    for hit in hits:
        assert hit["url"] == exported[hit["title"]], hit["path"]
    if NODE:  # and the browser client shows the same URLs
        found = run_client(tmp_path / "out", {"search": [["", {"limit": 50}]]})["search"][0]
        assert {h["title"]: h["url"] for h in found["hits"]} == {h["title"]: h["url"] for h in hits}
    link = next(h for h in hits if h["path"] == "posts/gitops-intro.md")  # has external_url
    assert link["url"].startswith("https://example.org/fixtures/" if external else
                                  "https://example.org/blog/posts/")  # fmt: skip
    text = run_cli("query", *common, "gitops").stdout
    assert link["url"] in text
