"""Progress: reported through the end of the work, on a terminal only."""

from __future__ import annotations

import io

import pytest
from conftest import run_cli
from tag_site import make_site

from searchkit.cli.progress import Bar
from searchkit.indexing import build
from searchkit.tagging.evaluate import evaluate
from searchkit.tagging.training import train_model


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_index_progress_ends_after_the_last_commit(site, tmp_path, monkeypatch):
    events: list = []
    commit = build._NewGeneration._commit_writer

    def recording_commit(self, merge):
        events.append("commit")  # the workers' indexing and the merge happen in here
        commit(self, merge)

    monkeypatch.setattr(build._NewGeneration, "_commit_writer", recording_commit)
    build.update_index(site, tmp_path / "index", on_start=lambda n: events.append(("total", n)),
                       progress=lambda n: events.append(n))  # fmt: skip
    total = events[0][1]
    steps = [e for e in events if isinstance(e, int)]
    assert sum(steps) == total
    last_commit = max(i for i, e in enumerate(events) if e == "commit")
    assert any(isinstance(e, int) for e in events[last_commit:]), "bar full before the commit"


def _calls():
    calls: list[tuple[int, int]] = []
    return calls, lambda done, total: calls.append((done, total))


def _ends_complete(calls) -> None:
    assert calls and calls[-1][0] == calls[-1][1]
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)  # never backwards


@pytest.fixture(scope="module")
def posts(tmp_path_factory):
    from searchkit.site.posts import load_posts

    root = make_site(tmp_path_factory.mktemp("progress") / "content", per_topic=12)
    return load_posts(root).posts


def test_train_and_eval_report_progress_to_the_end(posts):
    calls, tell = _calls()
    train_model(posts, progress=tell)
    _ends_complete(calls)
    assert len(calls) >= 5
    calls, tell = _calls()
    evaluate(posts, split="kfold", folds=2, progress=tell)
    _ends_complete(calls)


def test_export_reports_progress_to_the_end(site, tmp_path):
    from searchkit.config import Config
    from searchkit.export import export_site
    from searchkit.indexing import update_index

    cfg = Config(content=site, index=tmp_path / "index")
    update_index(cfg.content, cfg.index)
    calls, tell = _calls()
    export_site(cfg, tmp_path / "out", progress=tell)
    _ends_complete(calls)


def test_bar_draws_on_a_terminal_only():
    tty, pipe = TTY(), io.StringIO()
    for stream in (tty, pipe):
        with Bar("working", file=stream) as bar:
            for i in range(5):
                bar(i + 1, 5)
    assert "working" in tty.getvalue() and "100%" in tty.getvalue()
    assert pipe.getvalue() == ""
    quiet = TTY()
    with Bar("working", enabled=False, file=quiet) as bar:
        bar(5, 5)
    assert quiet.getvalue() == ""


@pytest.mark.parametrize("command", [("export", "--out", "OUT"), ("tags", "train")])
def test_commands_stay_silent_when_piped(command, tmp_path):
    root = make_site(tmp_path / "content", per_topic=6)
    args = [str(tmp_path / "out") if a == "OUT" else a for a in command]
    res = run_cli(*args, "--content", str(root), "--index", str(tmp_path / "index"))
    assert res.exit_code == 0, res.stderr
    assert "%" not in res.stderr
