"""One test per private part of Whoosh that searchkit uses (searchkit/whoosh_internals.py).

Each fails loudly if a Whoosh release changes the part, rather than letting
a speed-up silently fall back or rank differently.
"""

import random

import pytest
from whoosh import collectors, fields
from whoosh.filedb.filestore import RamStorage
from whoosh.highlight import Highlighter
from whoosh.query import Every

from searchkit import whoosh_internals as wi
from searchkit.indexing.build import update_index
from searchkit.schema import TEXT_FIELD_NAMES, analyzer
from searchkit.search import open_searcher


@pytest.fixture
def index(site, tmp_path):
    path = tmp_path / "index"
    update_index(site, path)
    return path


def test_field_length_reader_reads_what_whoosh_reads(index):
    with open_searcher(index) as s:
        for leaf, _ in s._searcher.leaf_searchers():
            reader = leaf.reader()
            for name in TEXT_FIELD_NAMES:
                lengths = wi.field_length_reader(leaf, name)
                assert lengths is not None  # else every query takes the slow path
                docs = {
                    d
                    for text in reader.lexicon(name)
                    for d in reader.postings(name, text).all_ids()
                }
                assert docs
                for d in docs:
                    assert lengths(d) == leaf.doc_field_length(d, name)


def test_merge_matched_tokens_is_whoosh_highlighters():
    assert hasattr(Highlighter, "_merge_matched_tokens")
    text = "flux and flux cd"
    tokens = [t.copy() for t in analyzer()(text, chars=True, mode="index", removestops=False)]
    for t in tokens:
        t.matched = t.text in {"flux", "cd"}
    tokens[3].startchar = 13  # touching its neighbour, as intraword parts do: one mark

    def merged():
        return [(t.startchar, t.endchar, t.matched) for t in wi.merge_matched_tokens(iter(tokens))]

    assert merged() == [(0, 4, True), (5, 8, False), (9, 16, True)]


def test_start_workers_starts_every_worker_and_cancel_ends_them(tmp_path):
    from whoosh import index as whoosh_index
    from whoosh.multiproc import MpWriter

    assert hasattr(MpWriter, "_new_task"), "workers would start on demand"
    ix = whoosh_index.create_in(str(tmp_path), fields.Schema(t=fields.TEXT))
    writer = MpWriter(ix, procs=2)
    wi.start_workers(writer, 2)
    tasks = list(writer.tasks)
    assert len(tasks) == 2 and all(t.is_alive() for t in tasks)
    wi.cancel_workers(writer)  # else they wait on the job queue, and exit waits on them
    assert not any(t.is_alive() for t in tasks)
    ix.close()


def test_top_collector_hooks_exist_and_order_ties_by_path(tmp_path):
    assert hasattr(collectors.TopCollector, "_collect")
    assert hasattr(collectors.ScoredCollector, "_results")
    schema = fields.Schema(path=fields.ID(stored=True, sortable=True), t=fields.TEXT)
    ix = RamStorage().create_index(schema)
    paths = [f"p{i:03d}" for i in range(60)]
    rng = random.Random(7)
    with ix.writer() as w:
        for p in rng.sample(paths, len(paths)):
            w.add_document(path=p, t="same words")
    with ix.searcher() as s:
        c = wi.TopCollector(5)
        s.search_with_collector(Every(), c)
        got = [hit["path"] for hit in c.results()]
    assert got == paths[:5]  # equal scores: the first paths, in order


def test_fast_write_lengths_reads_what_whoosh_reads(index):
    from whoosh.codec import whoosh3

    if not hasattr(whoosh3.W3PerDocReader, "doc_field_length_reader"):
        pytest.skip("this Whoosh (2.7) writes lengths without doc_field_length_reader")
    wi.fast_write_lengths()
    patched = whoosh3.W3PerDocReader.doc_field_length_reader
    assert patched.__module__ == wi.__name__  # else the writer takes the slow path
    with open_searcher(index) as s:
        for leaf, _ in s._searcher.leaf_searchers():
            perdoc = leaf.reader()._perdoc
            count = leaf.reader().doc_count_all()
            for name in (*TEXT_FIELD_NAMES, "path", "no_such_field"):
                fast, stock = patched(perdoc, name), patched.stock(perdoc, name)
                got = [fast(d) for d in range(count + 2)]  # past the end too
                assert got == [stock(d) for d in range(count + 2)]
                if name in TEXT_FIELD_NAMES:
                    assert any(got)
