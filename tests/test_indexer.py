import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, run_cli

from searchkit.errors import IndexLocked
from searchkit.indexing import stale_reason, store, update_index
from searchkit.search.searcher import open_searcher

WORDS = [
    "cluster",
    "controller",
    "reconcile",
    "gitops",
    "manifest",
    "rollout",
    "canary",
    "metrics",
    "trace",
    "span",
    "budget",
    "latency",
    "gateway",
    "policy",
    "admission",
    "scheduler",
    "node",
    "volume",
    "secret",
    "registry",
    "image",
    "signature",
    "pipeline",
    "release",
    "operator",
    "helm",
    "chart",
    "tenant",
    "namespace",
    "quota",
]


def write_posts(root: Path, n: int, *, start: int = 0, marker: str = "") -> None:
    rng = random.Random(start)
    for i in range(start, start + n):
        words = " ".join(rng.choice(WORDS) for _ in range(60))
        (root / f"post-{i:05d}.md").write_text(
            f"---\ntitle: 'Post {i} about {rng.choice(WORDS)} {marker}'\n"
            f"date: '2024-01-{i % 28 + 1:02d}T00:00:00Z'\ntags: [t{i % 5}]\n"
            f"summary: '{words} {marker}'\n---\nBody {i}.\n",
            encoding="utf-8",
        )


def doc_count(index: Path) -> int:
    with open_searcher(index) as s:
        return s.doc_count


def hit_paths(index: Path, text: str, **kw) -> list[str]:
    with open_searcher(index) as s:
        return [h.path for h in s.search(text, limit=None, **kw).hits]


def test_incremental_update_adds_changes_removes_and_skips(site, tmp_path):
    index = tmp_path / "index"
    first = update_index(site, index)
    assert (first.indexed, first.updated, first.removed) == (9, 0, 0)

    same = update_index(site, index)
    assert (same.indexed, same.updated, same.removed, same.unchanged) == (0, 0, 0, 9)
    assert not same.changed

    gitops = site / "posts/gitops-intro.md"
    gitops.write_text(gitops.read_text().replace("reconciles", "reconciles zanzibar"))
    (site / "posts/flux-release.md").unlink()
    (site / "posts/new.md").write_text("---\ntitle: Brand new zanzibar post\n---\nText\n")
    os.utime(site / "posts/json-post.md")  # touched, not changed
    report = update_index(site, index)
    assert (report.indexed, report.updated, report.removed, report.unchanged) == (1, 1, 1, 7)
    assert sorted(hit_paths(index, "zanzibar")) == ["posts/gitops-intro.md", "posts/new.md"]
    assert hit_paths(index, "flux dry-run", drafts=True) == []


def test_rebuild_and_schema_change_start_over(site, tmp_path):
    index = tmp_path / "index"
    update_index(site, index)
    assert update_index(site, index, rebuild=True).indexed == 9
    manifest = store.current_generation(index) / store.MANIFEST
    data = json.loads(manifest.read_text())
    data["schema_version"] = -1
    manifest.write_text(json.dumps(data))
    assert stale_reason(site, index)
    report = update_index(site, index)
    assert "schema version -1" in report.rebuilt and report.indexed == 9


def test_errors_are_reported_again_on_unchanged_runs(site, tmp_path):
    (site / "broken.md").write_text("---\ntitle: [oops\n---\n")
    index = tmp_path / "index"
    first = update_index(site, index)
    again = update_index(site, index)
    assert [p.path for p in first.errors] == [p.path for p in again.errors] == ["broken.md"]


def test_a_file_name_that_is_not_utf8_is_an_error_not_a_crash(site, tmp_path):
    try:
        (site / os.fsdecode(b"caf\xe9.md")).write_text("---\ntitle: Latin-1 name\n---\n")
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    index = tmp_path / "index"
    for report in (update_index(site, index), update_index(site, index)):
        [error] = report.errors
        assert "not valid UTF-8" in error.message and "caf" in error.message
        assert report.indexed + report.unchanged > 0
    assert "posts/prometheus-alerts.md" in hit_paths(index, "prometheus")
    result = run_cli("index", "--content", str(site), "--index", str(index))
    assert result.exit_code == 0 and "not valid UTF-8" in result.stderr


def test_a_post_that_breaks_leaves_the_index_and_others_keep_working(site, tmp_path):
    index = tmp_path / "index"
    update_index(site, index)
    (site / "posts/gitops-intro.md").write_text("---\ntitle: [oops\n---\n")
    report = update_index(site, index)
    assert [p.path for p in report.errors] == ["posts/gitops-intro.md"]
    assert "posts/gitops-intro.md" not in hit_paths(index, "reconciling")
    assert "posts/prometheus-alerts.md" in hit_paths(index, "prometheus")


def test_only_one_generation_is_kept(site, tmp_path):
    index = tmp_path / "index"
    for i in range(3):
        (site / f"extra-{i}.md").write_text(f"---\ntitle: Extra {i}\n---\n")
        update_index(site, index)
    assert [p.name for p in index.glob("gen-*")] == [store.current_generation(index).name]


def test_a_second_writer_waits_then_fails_clearly(site, tmp_path):
    index = tmp_path / "index"
    update_index(site, index)
    with store.writer_lock(index):
        with pytest.raises(IndexLocked, match="another searchkit process"):
            update_index(site, index, wait=0.2)
        # Readers are never blocked by a writer.
        assert hit_paths(index, "gitops")
        result = run_cli("index", "--content", str(site), "--index", str(index), "--wait", "0")
    assert result.exit_code == 2
    assert "another searchkit process is updating" in result.stderr


def test_concurrent_index_processes_never_corrupt(site, tmp_path):
    index = tmp_path / "index"
    write_posts(site, 300)
    cmd = [
        sys.executable,
        "-m",
        "searchkit",
        "index",
        "--content",
        str(site),
        "--index",
        str(index),
    ]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    codes = []
    for proc in procs:
        proc.communicate(timeout=120)
        codes.append(proc.returncode)
    assert set(codes) <= {0, 2}
    assert 0 in codes
    assert doc_count(index) == 309


def _spawn_index(site: Path, index: Path, crash_at: str = "") -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO), SEARCHKIT_CRASH_AT=crash_at)
    return subprocess.Popen(
        [sys.executable, "-m", "searchkit", "index", "--content", str(site), "--index", str(index)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _prepare_update(tmp_path: Path) -> tuple[Path, Path]:
    site, index = tmp_path / "content", tmp_path / "index"
    site.mkdir()
    write_posts(site, 400)
    update_index(site, index)
    write_posts(site, 400, marker="zebra")  # change every post...
    write_posts(site, 200, start=400, marker="zebra")  # ...and add more
    return site, index


def _assert_old_index_intact(index: Path) -> None:
    assert doc_count(index) == 400
    assert hit_paths(index, "zebra") == []
    assert len(hit_paths(index, "gitops")) > 0


@pytest.mark.parametrize("stage", ["copied", "adding", "committed", "publishing"])
def test_kill_9_at_each_stage_leaves_the_previous_index(tmp_path, stage):
    site, index = _prepare_update(tmp_path)
    proc = _spawn_index(site, index, crash_at=stage)
    assert proc.wait(timeout=120) == -signal.SIGKILL
    _assert_old_index_intact(index)
    # The next run cleans up the dead generation and finishes the job.
    report = update_index(site, index)
    assert report.updated == 400 and report.indexed == 200
    assert doc_count(index) == 600 and len(hit_paths(index, "zebra")) == 600
    assert len(list(index.glob("gen-*"))) == 1


def test_kill_9_after_publishing_has_the_new_index(tmp_path):
    site, index = _prepare_update(tmp_path)
    assert _spawn_index(site, index, crash_at="published").wait(timeout=120) == -signal.SIGKILL
    assert doc_count(index) == 600


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
@pytest.mark.parametrize("delay", [0.3, 0.8, 1.5])
def test_interrupting_at_random_moments_never_half_writes(tmp_path, sig, delay):
    site, index = _prepare_update(tmp_path)
    proc = _spawn_index(site, index)
    time.sleep(delay)
    proc.send_signal(sig)
    code = proc.wait(timeout=120)
    if code == 0:
        assert doc_count(index) == 600  # finished before the signal
    else:
        assert doc_count(index) in (400, 600)
        assert len(hit_paths(index, "zebra")) in (0, 600)
    assert update_index(site, index).errors == []
    assert doc_count(index) == 600
