"""What `searchkit query` tells a person: filter typos, did-you-mean words, counts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import run_cli

from searchkit.indexing.build import update_index
from searchkit.search import open_searcher

POSTS = {
    "gitops-on-kubernetes.md": ("GitOps on Kubernetes", "kubernetes, gitops", "article",
                                "Weave Notes", "Real clusters act on what git says."),
    "flux-release.md": ("Flux 2.6 released", "flux, gitops", "release", "Flux Blog",
                        "The release makes gitops controllers ready for more clusters."),
    "helm-links.md": ("Helm chart links", "helm", "link", "Helm Blog",
                      "Chart tips, and how to act when a release is not ready."),
}  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("messages")
    for i, (name, (title, tags, kind, source, body)) in enumerate(POSTS.items()):
        (root / "content").mkdir(exist_ok=True)
        (root / "content" / name).write_text(
            f"---\ntitle: {title}\ndate: 2025-0{i + 1}-01\ntags: [{tags}]\n"
            f"post_kind: {kind}\nsource: {source}\n---\n{body}\n"
        )
    update_index(root / "content", root / "index")
    return root


def query(site: Path, *args: str):
    return run_cli("query", *args, "--content", str(site / "content"),
                   "--index", str(site / "index"))  # fmt: skip


@pytest.mark.parametrize(
    "option, typo, fixed",
    [("--tag", "kubernets", "kubernetes"), ("--kind", "relase", "release"),
     ("--source", "flux blgo", "flux blog")],
)  # fmt: skip
def test_a_misspelled_filter_is_corrected_like_one_in_the_query(site, option, typo, fixed):
    res = query(site, "gitops", option, typo)
    assert res.exit_code == 0
    first = res.stdout.splitlines()[0]
    assert "no post has that" in first and f"{option} {fixed}" in first
    assert repr("gitops") in first and typo in first
    data = json.loads(query(site, "gitops", option, typo, "--json").stdout)
    name = option.removeprefix("--")
    assert data["filter_suggestions"] == {name: {typo: fixed}} and data["corrected_filters"]
    assert data["hits"]
    none = query(site, "gitops", option, typo, "--no-fuzzy-fallback")
    assert none.exit_code == 1
    assert f"Did you mean: {option} {fixed}" in none.stdout


def test_the_message_names_the_filter_that_emptied_the_result(site):
    res = query(site, "gitops", "--tag", "helm")  # a real tag, no gitops post has it
    assert res.exit_code == 1
    assert res.stdout.startswith("No posts match 'gitops' with --tag helm (without it")
    res = query(site, "gitops", "--kind", "release", "--since", "2030")
    assert "with --since 2030" in res.stdout
    res = query(site, "nothingmatcheshere", "--tag", "helm")
    assert res.stdout.startswith("No posts match 'nothingmatcheshere'.")


def _post_words(site: Path) -> set[str]:
    text = " ".join(p.read_text().lower() for p in (site / "content").iterdir())
    return set(re.findall(r"\w+", text))


@pytest.mark.parametrize(
    "args",
    [
        ("state-of-the-art",),
        ("--plain", 'what is "gitops" (really)?'),
        ("actt",),
        ("kubernets", "relase"),
        ("clustrs",),
    ],
)
def test_did_you_mean_is_made_of_typed_words_or_words_in_posts(site, args):
    res = query(site, *args, "--json")
    typed = set(re.findall(r"\w+", " ".join(args).lower()))
    suggestion = json.loads(res.stdout).get("suggestion") or ""
    words = set(re.findall(r"\w+", suggestion))
    assert words <= typed | _post_words(site), suggestion
    # and never the typed word cut short (how a stem reads: "really" -> "real")
    assert not any(t != w and t.startswith(w) for t in typed for w in words - typed)


def test_did_you_mean_known_cases(site):
    with open_searcher(site / "index") as s:
        assert s.search("state-of-the-art").suggestion is None  # not "state of the act"
        plain = s.search('what is "gitops" (really)?', syntax=False).suggestion
        assert plain in (None, "what is gitops ready")  # "ready" is in a post; "real" is a stem
        assert s.search("kubrnetes").suggestion == "kubernetes"
        assert s.search("clustrs").suggestion == "clusters"


def test_one_post_matches(site):
    res = query(site, "helm", "chart")
    assert "1 post matches" in res.stdout and "1 post match\n" not in res.stdout
    assert "2 posts match" in query(site, "ready").stdout
