"""`tags apply`: minimal, byte-for-byte front-matter edits and refusing stale writes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, run_cli

from searchkit.site.posts import fingerprint, read_post
from searchkit.tagging.apply import ApplyError, add_tags, plan_change, write_change

NEW = ["observability", "ci/cd"]


@pytest.fixture
def posts(tmp_path: Path) -> Path:
    dest = tmp_path / "content"
    shutil.copytree(FIXTURES / "tag-apply", dest)
    return dest


def _only_added_lines(before: bytes, after: bytes, changed: dict[bytes, bytes]) -> None:
    """``after`` is ``before`` with exactly the ``changed`` line replacements."""
    expected = before
    for old, new in changed.items():
        assert expected.count(old) == 1, old
        expected = expected.replace(old, new)
    assert after == expected


# (file, tags added, the one line that changes: before, after)
EDITS = {
    "yaml block list keeps comments, quotes and body": (
        "yaml-block.md", NEW,
        b'  - "deployments"   # trailing comment\n',
        b'  - "deployments"   # trailing comment\n  - "observability"\n  - "ci/cd"\n',
    ),
    "yaml flow list": (
        "yaml-flow.md", NEW,
        b"tags: [nginx, caching]\n", b"tags: [nginx, caching, observability, ci/cd]\n",
    ),
    "yaml without tags gets one line, quoted where YAML would misread": (
        "yaml-none.md", ["yes", "1.0", "kubernetes"],
        b"post_kind: link\n", b'post_kind: link\ntags: ["yes", "1.0", kubernetes]\n',
    ),
    "toml array before a table": (
        "toml-post.md", NEW,
        b"tags = [\"supply-chain\", 'security']\n",
        b"tags = [\"supply-chain\", 'security', \"observability\", \"ci/cd\"]\n",
    ),
    "json multiline array": (
        "json-post.md", NEW,
        b'    "alerting"\n', b'    "alerting",\n    "observability",\n    "ci/cd"\n',
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", EDITS)
def test_the_one_tags_line_changes_and_nothing_else(posts, name):
    file, tags, old, new = EDITS[name]
    before = (posts / file).read_bytes()
    _only_added_lines(before, add_tags(before, tags), {old: new})


def test_crlf_file_stays_crlf(posts):
    before = (posts / "crlf-post.md").read_bytes()
    after = add_tags(before, NEW)
    _only_added_lines(before, after, {
        b"- restore\r\n": b"- restore\r\n- observability\r\n- ci/cd\r\n",
    })  # fmt: skip
    assert after.count(b"\n") == after.count(b"\r\n")


@pytest.mark.parametrize("name", ["yaml-block.md", "yaml-flow.md", "yaml-none.md",
                                  "toml-post.md", "json-post.md", "crlf-post.md"])  # fmt: skip
def test_every_format_round_trips_through_the_reader(posts, name):
    f = posts / name
    old, _ = read_post(f, posts)
    change = plan_change(f, posts, ["platform"])
    write_change(change)
    new, _ = read_post(f, posts)
    assert new.tags == old.tags + ["platform"]
    assert new.body == old.body and new.title == old.title
    assert plan_change(f, posts, ["platform"]) is None  # already there: nothing to do


def test_a_post_changed_since_the_suggestion_is_not_overwritten(posts):
    f = posts / "yaml-flow.md"
    change = plan_change(f, posts, ["observability"])
    f.write_bytes(f.read_bytes().replace(b"Tuning", b"Tuning again"))
    edited = f.read_bytes()
    with pytest.raises(ApplyError, match="changed since"):
        write_change(change)
    assert f.read_bytes() == edited
    stale = fingerprint(b"what the suggestion saw")
    fresh = plan_change(f, posts, ["observability"])
    with pytest.raises(ApplyError, match="changed since"):
        write_change(fresh, stale)
    assert f.read_bytes() == edited


def test_unsafe_front_matter_is_refused(tmp_path):
    f = tmp_path / "odd.md"
    f.write_bytes(b"---\ntitle: x\ntags: !!set {a: null}\n---\nbody\n")
    before = f.read_bytes()
    with pytest.raises(ApplyError):
        plan_change(f, tmp_path, ["b"])
    assert f.read_bytes() == before


def test_cli_apply_prints_a_diff_without_write(posts):
    import json

    f = posts / "toml-post.md"
    before = f.read_bytes()
    plan = posts.parent / "plan.json"
    plan.write_text(json.dumps([{"path": "toml-post.md", "fingerprint": fingerprint(before),
                                 "suggestions": [{"tag": "signing", "score": 0.9}]}]))  # fmt: skip
    res = run_cli("tags", "apply", "--content", str(posts), "--index", str(posts.parent / "i"),
                  "--from", str(plan))  # fmt: skip
    assert res.exit_code == 0, res.output
    assert '+tags = ["supply-chain", \'security\', "signing"]' in res.stdout
    assert f.read_bytes() == before
    res = run_cli("tags", "apply", "--content", str(posts), "--index", str(posts.parent / "i"),
                  "--from", str(plan), "--write")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert b'"signing"]' in f.read_bytes()
    f.write_bytes(before)  # the post changes after the suggestions were made
    f.write_bytes(before + b"\nA new paragraph.\n")
    res = run_cli("tags", "apply", "--content", str(posts), "--index", str(posts.parent / "i"),
                  "--from", str(plan), "--write")  # fmt: skip
    assert res.exit_code == 2
    assert "changed since the suggestion" in res.stderr
    assert b"signing" not in f.read_bytes()


_TAG_CHARS = "abcXYZ019 -_/.:+#'\"&@é\\"


@pytest.mark.parametrize("name", ["yaml-block.md", "yaml-flow.md", "yaml-none.md",
                                  "toml-post.md", "json-post.md", "crlf-post.md"])  # fmt: skip
def test_any_tag_text_round_trips(name):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    before = (FIXTURES / "tag-apply" / name).read_bytes()
    old, _ = parse(before)
    tag = st.text(_TAG_CHARS, min_size=1, max_size=12).map(lambda s: " ".join(s.split()))
    tags = st.lists(tag.filter(bool), min_size=1, max_size=3, unique_by=str.casefold)

    @settings(max_examples=60, deadline=None)
    @given(tags)
    def check(new_tags):
        new_tags = [t for t in new_tags if t.casefold() not in {x.casefold() for x in old.tags}]
        if not new_tags:
            return
        after = add_tags(before, new_tags)
        new, _ = parse(after)
        assert new is not None and new.tags == old.tags + new_tags
        assert new.body == old.body and new.title == old.title
        if b"tags" in before:  # nothing before the tags entry moved
            assert after.startswith(before.split(b"tags", 1)[0])
        tail = before[before.rindex(old.body.encode()[:20]) :]
        assert after.endswith(tail)  # nor anything in the body

    check()


def parse(raw: bytes):
    from searchkit.site.posts import parse_post

    return parse_post(raw, "x.md")


def _apply_from(posts: Path, items: list[dict]):
    import json

    plan = posts.parent / "plan.json"
    plan.write_text(json.dumps(items))
    return run_cli("tags", "apply", "--content", str(posts), "--index", str(posts.parent / "i"),
                   "--from", str(plan), "--write")  # fmt: skip


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_apply_from_refuses_posts_outside_the_content_folder(posts, how):
    outside = posts.parent / "outside"
    outside.mkdir()
    victim = outside / "x.md"
    victim.write_bytes((posts / "yaml-flow.md").read_bytes())
    before = victim.read_bytes()
    name = {"dotdot": "../outside/x.md", "absolute": str(victim), "symlink": "link.md"}[how]
    if how == "symlink":
        (posts / "link.md").symlink_to(victim)
    res = _apply_from(posts, [{"path": name, "suggestions": [{"tag": "pwned"}]}])
    assert res.exit_code == 2
    assert len(res.stderr.strip().splitlines()) == 1 and "outside the content folder" in (
        res.stderr.replace("not inside", "outside")
    )
    assert victim.read_bytes() == before


def test_apply_writes_through_a_symlinked_post(posts):
    real = posts / "real"
    real.mkdir()
    (posts / "yaml-flow.md").rename(real / "yaml-flow.md")
    (posts / "yaml-flow.md").symlink_to(Path("real") / "yaml-flow.md")
    res = _apply_from(posts, [{"path": "yaml-flow.md", "suggestions": [{"tag": "edge"}]}])
    assert res.exit_code == 0, res.output
    assert (posts / "yaml-flow.md").is_symlink()
    assert b"edge]" in (real / "yaml-flow.md").read_bytes()


def test_apply_clears_temp_files_a_killed_write_left(posts):
    import os
    import time

    old = posts / ".yaml-flow.md.k1ll3d.tmp"
    young = posts / ".yaml-flow.md.inprogress.tmp"
    for f in (old, young):
        f.write_bytes(b"half a post")
    hours_ago = time.time() - 2 * 3600
    os.utime(old, (hours_ago, hours_ago))
    res = _apply_from(posts, [{"path": "yaml-flow.md", "suggestions": [{"tag": "edge"}]}])
    assert res.exit_code == 0, res.output
    assert not old.exists() and young.exists()  # another run may be writing that one
    assert sorted(p.name for p in posts.glob(".*.tmp")) == [young.name]
