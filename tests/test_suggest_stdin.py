"""`searchkit tags suggest -`: one post read from standard input, through the console script."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_process
from tag_site import make_site

from searchkit.tagging.workflow import suggest, train

DRAFT = (
    "---\ntitle: Rolling out a new scheduler\ndate: 2025-02-01\n---\n"
    "The kubelet on each node reported pods stuck after the helm chart rollout; "
    "the deployment manifest and the ingress controller were fine, the namespace "
    "quota was not.\n"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, Path]:
    root = make_site(tmp_path_factory.mktemp("stdin") / "content")
    train(root, root.parent / "index")
    return root, root.parent / "index"


def suggest_cli(site, *args: str, stdin: str | bytes):
    """`python -m searchkit tags suggest ARGS` reading ``stdin`` (bytes: exactly those)."""
    content, index = site
    args = ("tags", "suggest", *args, "--content", str(content), "--index", str(index))
    if isinstance(stdin, str):
        return run_process(*args, input=stdin)
    raw = content.parent / "stdin.bin"
    raw.write_bytes(stdin)
    with raw.open("rb") as f:
        return run_process(*args, stdin=f)


def test_a_post_on_stdin_gets_suggestions_under_the_id_dash(site):
    res = suggest_cli(site, "-", "--json", stdin=DRAFT)
    assert res.returncode == 1, res.stderr  # an untagged post listed: a finding
    [post] = json.loads(res.stdout)
    assert post["path"] == "-"
    assert post["suggestions"][0]["tag"] == "kubernetes"
    assert post["suggestions"][0]["reasons"]
    # The same as the library gives for the same bytes saved as a file.
    content, index = site
    saved = content / "posts" / "saved-draft.md"
    saved.write_text(DRAFT, encoding="utf-8")
    try:
        want = suggest(content, index, [saved])[0]
    finally:
        saved.unlink()
    assert post["suggestions"] == [s.to_json() for s in want.suggestions]
    assert post["fingerprint"] == want.fingerprint
    text = suggest_cli(site, "-", stdin=DRAFT)
    assert text.returncode == 1 and text.stdout.splitlines()[0] == "-"
    assert text.stdout.splitlines()[1].split()[0] == "kubernetes"


def test_a_tagged_post_on_stdin_exits_0_and_is_not_offered_its_own_tags(site):
    tagged = DRAFT.replace("date: 2025-02-01\n", "date: 2025-02-01\ntags: [kubernetes]\n")
    res = suggest_cli(site, "-", "--json", "--threshold", "0", stdin=tagged)
    assert res.returncode == 0, res.stderr
    [post] = json.loads(res.stdout)
    assert "kubernetes" not in [s["tag"] for s in post["suggestions"]]


def test_stdin_among_files_keeps_their_order(site):
    res = suggest_cli(site, "posts/untagged-databases.md", "-", "posts/kubernetes-0.md",
                      "--json", stdin=DRAFT)  # fmt: skip
    assert res.returncode == 1, res.stderr
    paths = [p["path"] for p in json.loads(res.stdout)]
    assert paths == ["posts/untagged-databases.md", "-", "posts/kubernetes-0.md"]


@pytest.mark.parametrize(
    "stdin, message",
    [
        (b"", "standard input: the file is empty"),
        (b"---\ntitle: [unclosed\n---\nbody\n", "standard input: "),
        (b"---\ntitle: caf\xe9\n---\nbody\n", "standard input: not valid UTF-8"),
    ],
    ids=["empty", "bad front matter", "not UTF-8"],
)
def test_bad_input_on_stdin_is_a_one_line_error(site, stdin, message):
    res = suggest_cli(site, "-", stdin=stdin)
    err = res.stderr
    assert res.returncode == 2
    assert len(err.splitlines()) == 1 and err.startswith(f"searchkit: error: {message}"), err
    assert res.stdout == ""


def test_dash_twice_is_an_error(site):
    res = suggest_cli(site, "-", "-", stdin=DRAFT)
    assert res.returncode == 2
    assert res.stderr == "searchkit: error: '-' (the post on standard input) can be named once\n"
