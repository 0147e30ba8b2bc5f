"""The quick freshness check of `searchkit query`: folder mtimes, then a periodic full check."""

from __future__ import annotations

import json
import os
import time

import pytest

from searchkit.indexing import freshness, update_index
from searchkit.indexing.freshness import FOLDERS, check, check_in_background

HOUR_AGO = time.time_ns() - 3600 * 10**9


@pytest.fixture
def big(monkeypatch):
    """Treat every site as one large enough for the quick check."""
    monkeypatch.setattr(freshness, "ALWAYS_FULL_POSTS", 0)


def _site(tmp_path):
    content = tmp_path / "content"
    for folder in ("docs", "notes"):
        for i in range(3):
            path = content / folder / f"post-{i}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"---\ntitle: {folder} {i}\n---\nBody {i}.\n")
    return content


def _age_folders(content):
    """Folder mtimes an hour old, as on a site not edited just now."""
    for folder in (content, content / "docs", content / "notes"):
        os.utime(folder, ns=(HOUR_AGO, HOUR_AGO))


def _indexed(tmp_path):
    content, index = _site(tmp_path), tmp_path / "index"
    update_index(content, index)
    _age_folders(content)
    assert check(content, index).reason == ""  # the full check writes the record
    return content, index


def _no_scan(monkeypatch):
    def fail(*args):
        raise AssertionError("the quick check statted the posts")

    monkeypatch.setattr(freshness, "_scan", fail)


def test_quick_check_trusts_the_record_across_processes(tmp_path, big, monkeypatch):
    content, index = _indexed(tmp_path)
    record = json.loads((index / FOLDERS).read_text())
    assert set(record["folders"]) == {"", "docs/", "notes/"} and record["posts"] == 6
    _no_scan(monkeypatch)
    assert check(content, index, quick=True).reason == ""
    assert check_in_background(content, index, quick=True)().reason == ""  # no child needed
    monkeypatch.undo()
    assert check_in_background(content, index)().reason == ""  # a forked child, full check


@pytest.mark.parametrize("change", ["add", "remove", "rename", "new folder"])
def test_added_removed_renamed_posts_are_seen_at_once(tmp_path, big, change):
    content, index = _indexed(tmp_path)
    post = content / "docs" / "post-1.md"
    if change == "add":
        (content / "docs" / "new.md").write_text("---\ntitle: New\n---\n")
    elif change == "remove":
        post.unlink()
    elif change == "rename":
        post.rename(content / "docs" / "renamed.md")
    else:
        (content / "notes" / "deep").mkdir()
        (content / "notes" / "deep" / "new.md").write_text("---\ntitle: New\n---\n")
    assert check(content, index, quick=True).reason == "posts were added or removed"


def test_an_editor_saving_through_a_temporary_file_is_seen_at_once(tmp_path, big):
    content, index = _indexed(tmp_path)
    post = content / "notes" / "post-0.md"
    tmp = post.with_name(".post-0.md.swp")
    tmp.write_text("---\ntitle: notes 0\n---\nRewritten body.\n")
    tmp.replace(post)
    assert check(content, index, quick=True).reason == "posts changed"


def test_an_edit_in_place_is_seen_by_the_next_full_check(tmp_path, big, monkeypatch):
    content, index = _indexed(tmp_path)
    post = content / "docs" / "post-2.md"
    with open(post, "a", encoding="utf-8") as fh:  # the folder's mtime stays
        fh.write("One more line.\n")
    assert check(content, index, quick=True).reason == ""  # documented: not yet
    assert check(content, index).reason == "posts changed"  # a full check sees it
    monkeypatch.setattr(freshness, "FULL_CHECK_SECONDS", 0.0)
    assert check(content, index, quick=True).reason == "posts changed"  # the periodic one


def test_the_periodic_full_check_runs_once_the_record_is_old(tmp_path, big, monkeypatch):
    content, index = _indexed(tmp_path)
    path = index / FOLDERS
    record = json.loads(path.read_text())
    record["full_at"] -= int(freshness.FULL_CHECK_SECONDS * 1e9) + 1
    path.write_text(json.dumps(record))
    (content / "docs" / "post-0.md").write_text("---\ntitle: edited in place\n---\n")
    os.utime(content / "docs", ns=(HOUR_AGO, HOUR_AGO))
    assert check(content, index, quick=True).reason == "posts changed"


def test_small_sites_get_the_full_check_every_time(tmp_path):
    content, index = _indexed(tmp_path)  # 6 posts: under ALWAYS_FULL_POSTS
    (content / "docs" / "post-0.md").write_text("---\ntitle: edited in place\n---\n")
    assert check(content, index, quick=True).reason == "posts changed"


def test_a_folder_changed_just_now_is_not_trusted(tmp_path, big):
    content, index = _site(tmp_path), tmp_path / "index"
    update_index(content, index)
    soon = time.time_ns() + 10**10  # written "just now", however slow this machine is
    for folder in (content, content / "docs", content / "notes"):
        os.utime(folder, ns=(soon, soon))
    assert check(content, index).reason == ""
    record = json.loads((index / FOLDERS).read_text())
    assert set(record["folders"].values()) == {-1}
    (content / "docs" / "post-0.md").write_text("---\ntitle: edited in place\n---\n")
    assert check(content, index, quick=True).reason == "posts changed"


def test_a_new_index_voids_the_record(tmp_path, big, monkeypatch):
    content, index = _indexed(tmp_path)
    (content / "docs" / "post-0.md").write_text("---\ntitle: edited in place\n---\n")
    _age_folders(content)
    assert update_index(content, index).updated == 1  # the index run always scans in full
    (content / "docs" / "post-1.md").write_text("---\ntitle: edited in place too\n---\n")
    _age_folders(content)
    assert check(content, index, quick=True).reason == "posts changed"
    _no_scan(monkeypatch)
    (index / FOLDERS).write_text("{not json")
    with pytest.raises(AssertionError):  # a damaged record means a full check
        check(content, index, quick=True)
