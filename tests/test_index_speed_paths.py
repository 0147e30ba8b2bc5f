"""The indexer's fast paths give the same results as the plain ones.

Speed itself is measured in benchmarks/bench_index.py, never asserted here.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import fields

from searchkit.indexing import build as indexer
from searchkit.indexing import stale_reason, store, update_index
from searchkit.schema import analyzer, build_schema, reference_analyzer
from searchkit.search.searcher import open_searcher
from searchkit.site.paths import post_id
from searchkit.site.posts import iter_post_entries, iter_post_files

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES = [
    "",
    "the a an of",
    "The CAFÉ of Ærøskøbing: running, RUNS, naïve façades — a an of to",
    "v1.33.7 k8s.io ...x.. __init__ 東京 タワー straße İstanbul ﬁle",
    "to be or not to be, that is the question; be quick",
]


def _postings(field, text):
    return list(field.index(text))


def _fixture_texts() -> list[str]:
    return [p.read_text(encoding="utf-8", errors="replace") for p in FIXTURES.rglob("*.md")]


@pytest.mark.parametrize("chain", [analyzer, reference_analyzer])
def test_search_text_indexes_exactly_like_whoosh_text(chain):
    fast = build_schema()["summary"]
    plain = fields.TEXT(analyzer=chain(), phrase=True)
    for text in SAMPLES + _fixture_texts():
        assert _postings(fast, text) == _postings(plain, text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab é.É_1 \n\t-'the")), max_size=120))
def test_search_text_matches_on_random_text(text):
    fast = build_schema()["body"]
    plain = fields.TEXT(analyzer=reference_analyzer(), phrase=True)
    assert _postings(fast, text) == _postings(plain, text)


def test_post_walk_finds_what_os_walk_finds(tmp_path):
    root = tmp_path / "c"
    for rel in [
        "index.md", "x.md", "_index.md", "a/Q.MD", "a/r.markdown", "a/.h/p.md", "a/notes.txt",
        "b/bundle/index.md", "b/bundle/other.md", "b/bundle/sub/deep.md", ".hidden/h.md",
        "c/_index.md", "c/ok.md", "z/.x.md",
    ]:  # fmt: skip
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("---\ntitle: t\n---\n")
    (root / "link").symlink_to(root / "c")  # a symlinked folder is not entered
    (root / "a/ln.md").symlink_to(root / "c/ok.md")
    ids = [pid for pid, _ in iter_post_entries(root)]
    assert ids == ["index.md", "x.md", "a/Q.MD", "a/ln.md", "a/r.markdown",
                   "b/bundle/index.md", "c/ok.md"]  # fmt: skip
    assert [post_id(p, root) for p in iter_post_files(root)] == ids


def _site(tmp_path: Path, n: int) -> Path:
    rng = random.Random(7)
    words = ["cluster", "gitops", "canary", "rollout", "policy", "gateway", "trace"]
    words += ["metrics", "node", "volume"]
    root = tmp_path / "content"
    for i in range(n):
        path = root / f"s{i % 3}" / f"post-{i:03d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        body = " ".join(rng.choice(words) for _ in range(40))
        title = " ".join(rng.sample(words, 3))
        path.write_text(
            f"---\ntitle: {title} {i}\ntags: [{rng.choice(words)}]\n"
            f"summary: {body[:80]}\n---\n{body}\n"
        )
    return root


def _results(index: Path) -> list:
    with open_searcher(index) as s:
        return [
            [(h.path, h.score, h.snippet) for h in s.search(q, limit=None).hits]
            for q in ("gitops", "canary rollout", '"policy gateway"', "node OR volume")
        ]


@pytest.mark.parametrize("posts", [250, 40])  # 40: one batch of posts, one idle worker
def test_parallel_build_ranks_exactly_like_one_process(tmp_path, monkeypatch, posts):
    content = _site(tmp_path, posts)
    update_index(content, tmp_path / "one")
    monkeypatch.setattr(indexer, "PARALLEL_MIN_POSTS", 10)
    monkeypatch.setenv("SEARCHKIT_PROCS", "2")
    used, fork_option = [], indexer._fork_option
    monkeypatch.setattr(indexer, "_fork_option", lambda: used.append(1) or fork_option())
    report = update_index(content, tmp_path / "two")
    assert report.indexed == posts and used  # the multi-process writer did it
    assert _results(tmp_path / "one") == _results(tmp_path / "two")
    # Later one-post updates on the multi-segment index stay exact too.
    post = content / "s1" / "post-001.md"
    for edit in ("\nzanzibar gitops\n", "\ngitops gitops\n"):
        post.write_text(post.read_text() + edit)
        os.utime(post, ns=(1, len(edit)))
        for index in ("one", "two"):
            assert update_index(content, tmp_path / index).updated == 1
    assert _results(tmp_path / "one") == _results(tmp_path / "two")


@pytest.mark.parametrize("procs", ["1", "2"])
def test_chunked_build_ranks_exactly_like_one_writer(tmp_path, monkeypatch, procs):
    content = _site(tmp_path, 90)
    update_index(content, tmp_path / "one")
    monkeypatch.setattr(indexer, "PARALLEL_MIN_POSTS", 10)
    monkeypatch.setattr(indexer, "CHUNK_PER_PROC", 20)
    monkeypatch.setenv("SEARCHKIT_PROCS", procs)
    assert update_index(content, tmp_path / "chunked").indexed == 90
    # One terms file per segment (segments are written as separate files).
    assert len(list(store.current_generation(tmp_path / "chunked").glob("*.trm"))) > 1
    assert _results(tmp_path / "one") == _results(tmp_path / "chunked")


@pytest.mark.parametrize("procs", ["1", "2"])
def test_a_chunk_commit_that_fails_leaves_the_previous_index(tmp_path, monkeypatch, procs):
    # Chunks commit in a thread while posts are still read; its error must
    # reach the caller, and the live index must stay as it was.
    content = _site(tmp_path, 60)
    index = tmp_path / "index"
    update_index(content, index)
    before = _results(index)
    monkeypatch.setattr(indexer, "PARALLEL_MIN_POSTS", 10)
    monkeypatch.setattr(indexer, "CHUNK_PER_PROC", 10)
    monkeypatch.setenv("SEARCHKIT_PROCS", procs)
    from whoosh import writing

    real = writing.SegmentWriter.commit

    def failing(self, *args, merge=True, **kw):
        if merge is False:
            raise OSError(28, "No space left on device")
        return real(self, *args, merge=merge, **kw)

    monkeypatch.setattr(writing.SegmentWriter, "commit", failing)
    if procs == "2":
        from whoosh import multiproc

        monkeypatch.setattr(multiproc.MpWriter, "commit", failing)
    with pytest.raises(OSError, match="No space left"):
        update_index(content, index, rebuild=True)
    live = store.current_generation(index)
    assert _results(index) == before
    monkeypatch.undo()
    assert update_index(content, index).unchanged == 60
    assert store.current_generation(index) == live  # the failed one is removed
    assert [p.name for p in index.glob("gen-*")] == [live.name]


def test_stamp_answers_freshness_and_any_edit_voids_it(tmp_path):
    content = _site(tmp_path, 5)
    index = tmp_path / "index"
    update_index(content, index)
    gen = store.current_generation(index)
    assert (gen / store.STAMP).is_file() and stale_reason(content, index) == ""
    (content / "s0" / "post-000.md").write_text("---\ntitle: changed\n---\n")
    assert stale_reason(content, index) == "posts changed"
    update_index(content, index)
    assert stale_reason(content, index) == ""
    # A manifest edited by hand no longer matches its stamp: it is read again.
    gen = store.current_generation(index)
    data = json.loads((gen / store.MANIFEST).read_text())
    data["schema_version"] = -1
    (gen / store.MANIFEST).write_text(json.dumps(data))
    assert stale_reason(content, index) == "the index was built by another searchkit version"
    # An index without a stamp (made before stamps existed) gets one on the next run.
    update_index(content, index, rebuild=True)
    gen = store.current_generation(index)
    (gen / store.STAMP).unlink()
    assert stale_reason(content, index) == ""
    assert update_index(content, index).unchanged == 5
    assert (gen / store.STAMP).is_file()


def test_chunks_are_equal_and_within_the_pool_limit(monkeypatch):
    monkeypatch.setattr(indexer, "CHUNK_PER_PROC", 5000)
    assert indexer._chunk(10_000, 2) == 10_000  # one chunk: no wait for the workers midway
    assert indexer._chunk(10_001, 2) == 5001  # two equal chunks, not 10,000 and 1
    assert indexer._chunk(50_000, 2) == 10_000
    assert indexer._chunk(300, 1) == 300
