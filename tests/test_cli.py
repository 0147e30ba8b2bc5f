import json
import os
import subprocess
import sys
import time

import click
import pytest
from conftest import REPO, run_cli, run_process

from searchkit.cli.main import cli


def all_commands(group=cli, prefix=()):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # lazy groups (`tags`) included
        cmd = group.get_command(ctx, name)
        if hasattr(cmd, "commands"):
            yield from all_commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name)


@pytest.mark.parametrize("command", list(all_commands()), ids=" ".join)
def test_every_command_has_a_summary_and_an_example(command):
    result = run_cli(*command, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout
    assert "searchkit " + " ".join(command) in result.stdout


def test_query_never_imports_scikit_learn(site, tmp_path):
    index = tmp_path / "index"
    code = (
        "import sys\n"
        "from searchkit.cli.main import cli\n"
        f"args = ['query', 'gitops', '--content', {str(site)!r}, '--index', {str(index)!r}]\n"
        "try:\n    cli.main(args, standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy'))\n"
        "print('HEAVY', heavy)\n"
    )
    # Twice: the first run builds the index, the second is a plain query.
    for _ in range(2):
        proc = subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "HEAVY []" in proc.stdout, proc.stdout + proc.stderr


def test_python_dash_m_and_exit_code_for_usage_errors(site):
    assert run_process("--version").stdout.startswith("searchkit")
    proc = run_process("query", "--limit", "0", "gitops", "--content", str(site))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_config_file_sets_folders(site, tmp_path):
    (tmp_path / "searchkit.toml").write_text('content = "content"\nindex = "build/idx"\n')
    result = run_cli("query", "prometheus", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "build" / "idx" / "CURRENT").exists()


def test_bad_config_is_a_usage_error(site, tmp_path):
    (tmp_path / "searchkit.toml").write_text('contnet = "content"\n')
    result = run_cli("query", "x", cwd=tmp_path)
    assert result.exit_code == 2
    assert "unknown setting 'contnet'" in result.stderr


@pytest.mark.parametrize(
    "line, message",
    [
        ("export_rows_per_word = -1", "export_rows_per_word must not be negative"),
        ("export_rows_per_word = true", "export_rows_per_word must be a whole number"),
        ('export_rows_per_word = "10"', "export_rows_per_word must be a whole number"),
        ("link_posts_use_external_url = 1", "link_posts_use_external_url must be true or false"),
    ],
)
def test_a_setting_of_the_wrong_type_is_a_usage_error(site, tmp_path, line, message):
    (tmp_path / "searchkit.toml").write_text(line + "\n")
    result = run_cli("export", "--content", str(site), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.exit_code == 2 and message in result.stderr


def test_index_summary_and_strict(site, tmp_path):
    (site / "broken.md").write_text("no front matter here")
    args = ("index", "--content", str(site), "--index", str(tmp_path / "index"))
    result = run_cli(*args)
    assert result.exit_code == 0
    assert "indexed 9, updated 0, removed 0, unchanged 0, warnings 0, errors 1" in result.stdout
    assert "broken.md: error: no front matter" in result.stderr
    assert run_cli(*args, "--strict").exit_code == 2


def test_freshness_check_in_a_child_or_inline(site, tmp_path, monkeypatch):
    from searchkit.indexing import update_index
    from searchkit.indexing.freshness import check_in_background

    index = tmp_path / "index"
    assert check_in_background(site, index)().reason == "no index yet"
    update_index(site, index)
    assert check_in_background(site, index)().reason == ""

    def no_fork():
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr("os.fork", no_fork)
    (site / "posts/new.md").write_text("---\ntitle: New\n---\n")
    assert check_in_background(site, index)().reason == "posts were added or removed"


def test_a_query_sees_an_edit_made_right_after_indexing(site, tmp_path):
    index = tmp_path / "index"
    args = ("--content", str(site), "--index", str(index))
    assert run_process("index", *args).returncode == 0
    post = site / "posts" / "gpu-inference.md"
    post.write_text(post.read_text().replace("Batching", "Batching quetzal"))
    proc = run_process("query", "quetzal", *args)
    assert proc.returncode == 0 and "updating the index" in proc.stderr
    assert "Serving language models" in proc.stdout


def test_query_process_exit_codes_and_output(site, tmp_path):
    # A real process, which leaves without tearing the interpreter down.
    args = ("--content", str(site), "--index", str(tmp_path / "index"))
    hit = run_process("query", "prometheus", "--json", *args)
    assert hit.returncode == 0
    assert json.loads(hit.stdout)["hits"][0]["path"] == "posts/prometheus-alerts.md"
    none = run_process("query", "xylophone", *args)
    assert none.returncode == 1 and "No posts match" in none.stdout
    bad = run_process("query", "gitops", "--since", "someday", *args)
    assert bad.returncode == 2 and bad.stderr.startswith("searchkit: error:")
    assert "Traceback" not in bad.stderr


def test_whoosh_morphology_loads_only_when_used():
    code = (
        "import sys, searchkit.search.searcher\n"
        "from whoosh.lang.morph_en import variations\n"
        "print(type(sys.modules['whoosh.lang.morph_en']).__name__)\n"
        "print('renders' in variations('render'))\n"
        "print(type(sys.modules['whoosh.lang.morph_en']).__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    ).stdout.split()
    assert out == ["_StandIn", "True", "module"]


def _one_line_error(proc, code: int, text: str) -> None:
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("searchkit: ") and text in lines[-1], proc.stderr


def test_unwritable_export_folder_is_one_line_and_exit_2(site, tmp_path):
    (tmp_path / "afile").write_text("not a folder")
    proc = run_process(
        "export", "--content", str(site), "--index", str(tmp_path / "index"),
        "--out", str(tmp_path / "afile" / "x"),
    )  # fmt: skip
    _one_line_error(proc, 2, "afile")


def test_output_to_a_full_disk_is_one_line_and_exit_2(site, tmp_path):
    args = ("--content", str(site), "--index", str(tmp_path / "index"))
    assert run_process("index", *args).returncode == 0
    env = dict(os.environ, PYTHONPATH=str(REPO), NO_COLOR="1")
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "searchkit", "query", "prometheus", *args],
            env=env, stdout=full, stderr=subprocess.PIPE, text=True, timeout=120,
        )  # fmt: skip
    _one_line_error(proc, 2, "No space left on device")


def test_ctrl_c_is_exit_130_without_a_traceback(site, tmp_path):
    import signal

    from searchkit.indexing import store

    index = tmp_path / "index"
    env = dict(os.environ, PYTHONPATH=str(REPO), NO_COLOR="1")
    # The lock held here keeps the run waiting inside the command until Ctrl-C.
    with store.writer_lock(index):
        proc = subprocess.Popen(
            [sys.executable, "-m", "searchkit", "index", "--content", str(site),
             "--index", str(index), "--wait", "60"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines() == ["searchkit: interrupted"]
