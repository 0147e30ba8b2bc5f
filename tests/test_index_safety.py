"""The index under stress: open readers during updates, damaged files, crafted pickles."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest
from conftest import run_cli
from test_indexer import write_posts

from searchkit.errors import IndexDamaged
from searchkit.indexing import build, store, update_index
from searchkit.indexing.safe_pickle import ALLOWED, UnsafeIndex, open_index
from searchkit.search.searcher import open_searcher


@pytest.fixture
def segmented(tmp_path: Path, monkeypatch) -> tuple[Path, Path]:
    """300 generated posts in an index of five segments, as a real site's grows."""
    content, index = tmp_path / "content", tmp_path / "index"
    content.mkdir()
    write_posts(content, 300)
    monkeypatch.setattr(build, "CHUNK_PER_PROC", 60)
    update_index(content, index)
    return content, index


def _edit(post: Path, words: str) -> None:
    post.write_text(post.read_text() + f"\n{words}\n")


def test_an_open_searcher_keeps_answering_while_the_index_is_updated(segmented):
    content, index = segmented
    for i in range(3):
        _edit(content / f"post-{i:05d}.md", "edited once")
        update_index(content, index)
    with open_searcher(index) as s:
        before = {q: [h.path for h in s.search(q).hits] for q in ("helm", "gitops", "canary")}
        _edit(content / "post-00100.md", "appended line")
        update_index(content, index)
        update_index(content, index)  # a later run must not take it away either
        for q, paths in before.items():
            assert [h.path for h in s.search(q).hits] == paths
        held = s.generation
        assert held.is_dir() and held != store.current_generation(index)
    update_index(content, index)  # the reader is gone: its generation is collected
    assert not held.exists()
    assert [p.name for p in index.glob("gen-*")] == [store.current_generation(index).name]


def test_a_searcher_never_opens_a_generation_being_removed(segmented):
    content, index = segmented
    s = open_searcher(index)
    s.close()
    _edit(content / "post-00001.md", "more")
    update_index(content, index)
    assert not s.generation.exists()  # closed readers do not hold a generation
    with open_searcher(index) as again:
        assert again.generation == store.current_generation(index)


def _crafted_toc(toc: Path, command: str) -> bytes:
    """``toc`` with its segment list replaced by a pickle that runs ``command``."""

    class Boom:
        def __reduce__(self):
            return (os.system, (command,))

    data = toc.read_bytes()
    pos = 3 + 8 + 3  # three one-byte varints, two ints, three one-byte varints
    length, shift = 0, 0
    while True:  # the schema pickle's length (a varint)
        byte = data[pos]
        pos += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    head = data[: pos + length + 8]
    return head + pickle.dumps([Boom()], 2)


def _plant(gen: Path, data: bytes) -> None:
    """Put ``data`` in place of ``gen``'s table of contents, as a crafted index would:
    with the sizes and checksums of the manifest and the stamp to match."""
    toc = next(gen.glob("_MAIN_*.toc"))
    toc.write_bytes(data)
    manifest = store.read_manifest(gen)
    manifest.files[toc.name] = store.checksum(toc)
    store.write_manifest(gen, manifest)


def test_a_crafted_table_of_contents_runs_nothing_and_index_rebuilds(site, tmp_path):
    index = tmp_path / "index"
    update_index(site, index)
    gen = store.current_generation(index)
    marker = tmp_path / "PWNED"
    _plant(gen, _crafted_toc(next(gen.glob("_MAIN_*.toc")), f"touch {marker}"))

    with pytest.raises(UnsafeIndex, match="refusing to load posix.system"):
        open_index(gen)
    result = run_cli("query", "gitops", "--content", str(site), "--index", str(index))
    assert result.exit_code == 2
    assert "refusing to load posix.system" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not marker.exists()

    report = update_index(site, index)
    assert "unsafe" in report.rebuilt and report.indexed == 9
    assert not marker.exists()
    with open_searcher(index) as s:
        assert s.search("gitops").total > 0


def test_the_allowlist_covers_what_this_searchkit_pickles(site, tmp_path):
    """A new field type in schema.py must be added to safe_pickle.ALLOWED (or queries fail)."""
    import pickletools

    from searchkit.schema import build_schema

    found = set()
    strings: list[str] = []
    for op, arg, _ in pickletools.genops(pickle.dumps(build_schema(), 2)):
        if op.name == "GLOBAL":
            found.add(tuple(arg.split(" ", 1)))
        elif op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
            strings.append(arg)
        elif op.name == "STACK_GLOBAL":
            found.add((strings[-2], strings[-1]))
    assert found <= ALLOWED, found - ALLOWED
    update_index(site, tmp_path / "index")  # and an index really opens with it
    with open_searcher(tmp_path / "index") as s:
        assert s.search("gitops", facets=True, since="2020").total > 0


@pytest.mark.parametrize("how", ["truncate", "delete"])
def test_a_damaged_index_is_reported_in_one_line_and_index_repairs_it(site, tmp_path, how):
    index = tmp_path / "index"
    update_index(site, index)
    trm = next(store.current_generation(index).glob("*.trm"))
    if how == "truncate":
        os.truncate(trm, 10)
    else:
        trm.unlink()
    args = ("--content", str(site), "--index", str(index))
    result = run_cli("query", "gitops", *args)
    assert result.exit_code == 2
    assert "damaged" in result.stderr and trm.name in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

    result = run_cli("index", *args)
    assert result.exit_code == 0 and "rebuilding the index: the index is damaged" in result.stderr
    assert run_cli("query", "gitops", *args).exit_code == 0


def test_same_size_damage_is_found_by_index_checksums(site, tmp_path):
    index = tmp_path / "index"
    update_index(site, index)
    pst = next(store.current_generation(index).glob("*.pst"))
    data = bytearray(pst.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pst.write_bytes(bytes(data))
    report = update_index(site, index)
    assert "checksum" in report.rebuilt and report.indexed == 9


def test_a_read_error_while_searching_names_the_damage(site, tmp_path):
    index = tmp_path / "index"
    update_index(site, index)
    with open_searcher(index) as s:
        for f in s.generation.glob("*._stored.col"):
            f.write_bytes(b"\0" * f.stat().st_size)  # same size: the open check passes
        with pytest.raises(IndexDamaged, match="does not match its checksum"):
            s.search("gitops")


def test_manifest_records_every_whoosh_file(site, tmp_path):
    index = tmp_path / "index"
    update_index(site, index)
    gen = store.current_generation(index)
    manifest = store.read_manifest(gen)
    assert sorted(manifest.files) == store.whoosh_files(gen)
    for name, (size, crc) in manifest.files.items():
        assert store.checksum(gen / name) == [size, crc]
    shutil.rmtree(index)


QUERIES = [
    "helm",
    "gitops canary",
    "cluster",
    "release notes",
    "rollout*",
    "policy~1",
    "title:node",
]


def _top(index: Path) -> dict[str, list[tuple[str, float]]]:
    with open_searcher(index) as s:
        return {q: [(h.path, h.score) for h in s.search(q).hits] for q in QUERIES}


def test_after_any_updates_ranking_equals_a_rebuild(segmented, tmp_path):
    content, index = segmented
    for i in range(0, 40, 3):  # edits spread over the segments, a few runs
        _edit(content / f"post-{i * 7:05d}.md", "helm helm canary rollout")
        if i % 9 == 0:
            update_index(content, index)
    (content / "post-00011.md").unlink()
    write_posts(content, 5, start=300, marker="gitops")
    update_index(content, index)
    assert store.current_generation(index) is not None
    rebuilt = tmp_path / "rebuilt"
    update_index(content, rebuilt)
    assert _top(index) == _top(rebuilt)
