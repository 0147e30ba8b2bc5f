"""`searchkit export`: the files, their format, URLs, safety and atomicity."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
from pathlib import Path

import pytest
from _webclient import CONTENT, NODE, build_export, cli_query, export_paths, run_client, top
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from searchkit import schema as S
from searchkit.cli.main import cli
from searchkit.config import Config
from searchkit.errors import ExportError
from searchkit.export import writer as export_mod
from searchkit.export.data import full_url, short_url, url_base
from searchkit.export.packing import deltas, pack, unpack
from searchkit.export.writer import export_site
from searchkit.site.posts import Post
from searchkit.site.urls import expand_permalink, is_safe_url, post_url

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@given(st.lists(st.integers(min_value=0, max_value=2**53)))
def test_pack_round_trips(numbers):
    assert unpack(pack(numbers)) == numbers


def test_pack_is_json_safe_and_rejects_negatives():
    text = pack(range(0, 5000, 7))
    assert json.loads(json.dumps(text)) == text and '"' not in text and "\\" not in text
    assert deltas([0, 1, 5]) == [0, 0, 3]
    with pytest.raises(ValueError):
        pack([-1])


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return build_export(CONTENT, tmp_path_factory.mktemp("small"), demo=True)


def test_small_site_is_one_file_with_metadata_from_the_schema(small):
    _, out = small
    meta = json.loads((out / "searchkit.json").read_text())
    assert meta["format"] == "searchkit-export" and meta["version"] == export_mod.FORMAT_VERSION
    assert "inline" in meta and "data" not in meta
    assert not list(out.glob("data-*"))
    rank = meta["ranking"]
    assert rank["scoreScale"] == S.SCORE_SCALE and rank["fields"] == list(S.TEXT_FIELD_NAMES)
    assert rank["scorer"] == S.SCORER
    assert rank["weights"] == S.FIELD_WEIGHTS
    assert rank["combine"] == {
        "rule": "words",
        "coord": S.COORD,
        "qtf": S.QUERY_TF,
        "allFirst": S.ALL_WORDS_FIRST,
        **({"longIdf": S.LONG_QUERY_WORDS} if S.LONG_QUERY_IDF else {}),
    }
    assert meta["analysis"]["stop"] == sorted(S.STOPWORDS)
    assert meta["analysis"]["minsize"] == S.STOP_MINSIZE
    assert meta["analysis"]["tokens"] == S.TOKEN_PATTERN
    # Drafts are left out: 51 posts, 2 drafts.
    assert meta["posts"] == 49 and len(meta["inline"]["d"]) == 49
    titles = [d[1] for d in meta["inline"]["d"]]
    assert "GitOps for edge clusters with flaky network links" not in titles


def test_every_file_has_an_identical_gzip_copy(small):
    _, out = small
    files = [p for p in out.rglob("*") if p.is_file() and p.suffix != ".gz"]
    assert {p.name for p in files} >= {"searchkit.json", "searchkit.js", "index.html"}
    for p in files:
        assert gzip.decompress(p.with_name(p.name + ".gz").read_bytes()) == p.read_bytes()


def test_large_site_is_sharded_and_ranks_like_the_single_file(tmp_path, monkeypatch, small):
    monkeypatch.setattr(export_mod, "SINGLE_FILE_BYTES", 0)
    monkeypatch.setattr(export_mod, "SHARD_BYTES", 2000)
    _, out = build_export(CONTENT, tmp_path)
    meta = json.loads((out / "searchkit.json").read_text())
    data = out / meta["data"]
    shards = meta["shards"]["first"]
    assert len(shards) > 5 and shards == sorted(shards)
    assert len(list((data / "t").glob("*.json"))) == len(shards)
    group = meta["shards"]["posGroup"]
    assert len(list((data / "p").glob("*.json"))) == -(-len(shards) // group)
    assert len(list((data / "d").glob("*.json"))) == -(-49 // meta["shards"]["chunk"])
    assert (data / "f.json").is_file()
    if NODE:
        queries = [["gitops", {}], ['"service mesh"', {}], ["", {"tags": ["flux"]}]]
        queries.append(["kuberntes autoscaling", {"since": "2024"}])
        queries += [["kube", {"limit": 50}], ["kubernetes", {"prefix": False, "limit": 50}]]
        sharded = run_client(out, {"search": queries})["search"]
        single = run_client(small[1], {"search": queries})["search"]
        assert sharded[:-2] == single[:-2]
        # Type-ahead reads one shard of a prefix's terms, not all: the one
        # holding its most frequent word.
        kube, kubernetes = sharded[-2:]
        assert {h["id"] for h in kubernetes["hits"]} <= {h["id"] for h in kube["hits"]}
        assert kube["total"] <= single[-2]["total"]


def _ids(gaps: list[int]) -> list[int]:
    out, prev = [], -1
    for gap in gaps:
        prev += gap + 1
        out.append(prev)
    return out


def _fields(codes: list[int], n_fields: int = len(S.TEXT_FIELD_NAMES)) -> set[int]:
    """The fields of a packed positions list (docs/export-format.md, "Positions")."""
    out, i = set(), 0
    while i < len(codes):
        out.add(codes[i] // 2 % n_fields)
        i += 1 + codes[i] // 2 // n_fields + 1
    return out


def test_a_shard_carries_the_display_rows_of_its_terms_best_posts(tmp_path, monkeypatch):
    monkeypatch.setattr(export_mod, "SINGLE_FILE_BYTES", 0)
    monkeypatch.setattr(export_mod, "SHARD_BYTES", 3000)  # fewer rows than posts per shard
    _, out = build_export(CONTENT, tmp_path)
    meta = json.loads((out / "searchkit.json").read_text())
    data, chunk = out / meta["data"], meta["shards"]["chunk"]
    rows = {}
    for f in (data / "d").glob("*.json"):
        for k, row in enumerate(json.loads(f.read_text())):
            rows[int(f.stem) * chunk + k] = row
    first = meta["shards"]["first"]
    assert len(meta["shards"]["dfBits"]) == len(first) > 1
    group, titled = meta["shards"]["posGroup"], 0
    common = -(-meta["posts"] * export_mod.ROWS_COMMON_SHARE // 1)
    for n in range(len(first)):
        shard = json.loads((data / "t" / f"{n}.json").read_text())
        positions = json.loads((data / "p" / f"{n // group}.json").read_text())["x"][n % group]
        held = _ids(unpack(shard["i"]))
        assert shard["d"] == [rows[i] for i in held]  # the same rows as the chunks
        for packed, where in zip(shard["p"], positions, strict=True):
            nums = unpack(packed)
            ids = _ids(nums[0::2])
            if 0 not in _fields(unpack(where)) and len(ids) < common:
                continue  # in no title and rare: no rows (visitors type words of titles)
            titled += 1
            best = sorted(zip(nums[1::2], ids, strict=True), key=lambda p: (-p[0], p[1]))
            assert {i for _, i in best[: export_mod.ROWS_PER_TERM]} <= set(held)
    assert titled > 100
    if NODE:
        queries = [["gitops", {"prefix": False}], ["gitops", {"prefix": False, "limit": 49}]]
        got = run_client(out, {"search": queries})
        page, everything = got["search"]
        assert len(page["hits"]) == 10 < everything["total"]
        # The first page of a one-word query needs its shard only; more hits
        # come from display chunks.
        assert len(got["fetched"][0]) == 1 and got["fetched"][0][0].startswith("t/")
        assert any(f.startswith("d/") for f in got["fetched"][1])


def test_rows_per_word_trades_export_size_for_second_requests(tmp_path, monkeypatch):
    monkeypatch.setattr(export_mod, "SINGLE_FILE_BYTES", 0)
    monkeypatch.setattr(export_mod, "SHARD_BYTES", 200)  # about a word a shard
    content = tmp_path / "content"
    content.mkdir()
    for i in range(30):  # 30 titles with "cluster": more than a one-word page
        (content / f"p{i}.md").write_text(
            f"---\ntitle: Cluster note {i}\nsummary: Part {i} of a series on upgrades.\n---\n"
        )
    rows, sizes = {}, {}
    for n in (50, 3):
        config, out = build_export(content, tmp_path / str(n), export_rows_per_word=n)
        data = out / json.loads((out / "searchkit.json").read_text())["data"]
        shards = [json.loads(f.read_text()) for f in (data / "t").glob("*.json")]
        rows[n] = [len(s["d"]) for s in shards if "cluster" in s["t"]]
        sizes[n] = sum(f.stat().st_size for f in data.rglob("*.json"))
        if NODE:  # the same hits either way
            got = run_client(out, {"search": [["cluster upgrades", {"prefix": False}]]})
            assert top(got["search"][0], export_paths(config)) == top(
                cli_query(config, "cluster", "upgrades")
            )
    assert rows == {50: [30], 3: [export_mod.ROWS_PER_TERM]}
    assert sizes[3] < sizes[50]


def test_a_second_export_replaces_the_data_and_removes_the_old(tmp_path, monkeypatch):
    monkeypatch.setattr(export_mod, "SINGLE_FILE_BYTES", 0)
    monkeypatch.setattr(export_mod, "SHARD_BYTES", 200)  # about a word a shard
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    config, out = build_export(content, tmp_path)
    first = json.loads((out / "searchkit.json").read_text())["data"]
    assert export_site(config, out).files > 0  # unchanged: same data folder
    assert json.loads((out / "searchkit.json").read_text())["data"] == first
    (content / "links" / "sidecarless-service-mesh-ambient-mode.md").unlink()
    from searchkit.indexing.build import update_index

    update_index(config.content, config.index)
    export_site(config, out)
    second = json.loads((out / "searchkit.json").read_text())
    assert second["data"] != first and second["posts"] == 48
    assert [p.name for p in out.glob("data-*")] == [second["data"]]


def _export_data(out: Path) -> dict[str, bytes]:
    meta = json.loads((out / "searchkit.json").read_text())
    del meta["generated"]
    files = {"searchkit.json": json.dumps(meta).encode()}
    data = out / meta.get("data", "none")
    files.update({p.relative_to(data).as_posix(): p.read_bytes() for p in data.rglob("*.json")})
    return files


def test_export_of_an_index_updated_in_place_equals_a_rebuild_and_workers_change_nothing(
    tmp_path, monkeypatch
):
    from searchkit.indexing import build

    monkeypatch.setattr(export_mod, "SINGLE_FILE_BYTES", 0)
    monkeypatch.setattr(export_mod, "SHARD_BYTES", 3000)
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    config = Config(content=content, index=tmp_path / "index")
    build.update_index(config.content, config.index)
    # Changed, removed and drafted posts: the index keeps deleted copies.
    posts = sorted(content.rglob("*.md"))
    posts[0].unlink()
    text = posts[1].read_text()
    posts[1].write_text(text.replace("title: ", "title: Gitops gitops reworked ", 1))
    drafted = next(p for p in posts[2:] if "\ndraft: false\n" in p.read_text())
    drafted.write_text(drafted.read_text().replace("\ndraft: false\n", "\ndraft: true\n"))
    build.update_index(config.content, config.index)
    monkeypatch.setenv("SEARCHKIT_PROCS", "1")
    export_site(config, tmp_path / "in-place")
    monkeypatch.setattr(build, "PARALLEL_MIN_POSTS", 1)  # forked workers score the terms
    monkeypatch.setenv("SEARCHKIT_PROCS", "2")
    export_site(config, tmp_path / "in-place-2")
    rebuilt = Config(content=content, index=tmp_path / "index2")
    build.update_index(rebuilt.content, rebuilt.index)
    export_site(rebuilt, tmp_path / "rebuilt")
    first = _export_data(tmp_path / "in-place")
    assert json.loads(first["searchkit.json"])["posts"] == 47
    assert first == _export_data(tmp_path / "in-place-2") == _export_data(tmp_path / "rebuilt")


def test_a_failed_export_leaves_the_previous_one_intact(tmp_path, monkeypatch):
    config, out = build_export(CONTENT, tmp_path)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(export_mod, "_dumps", boom)
    with pytest.raises(OSError):
        export_site(config, out)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_worker_that_dies_fails_the_export_clearly_and_keeps_the_old_one(tmp_path, monkeypatch):
    import os

    from searchkit.export import data as export_data
    from searchkit.indexing import build

    monkeypatch.setattr(export_mod, "SINGLE_FILE_BYTES", 0)
    config, out = build_export(CONTENT, tmp_path)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    monkeypatch.setattr(build, "PARALLEL_MIN_POSTS", 1)
    monkeypatch.setenv("SEARCHKIT_PROCS", "2")
    real = export_data._TermScorer.entries

    def dies(self, terms):  # in a forked worker: killed, as by the OOM killer
        if any(t.startswith("k") for t in terms):
            os._exit(9)
        return real(self, terms)

    monkeypatch.setattr(export_data._TermScorer, "entries", dies)
    with pytest.raises(ExportError, match="worker process died"):
        export_site(config, out)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_an_index_update_during_an_export_keeps_the_generation_it_reads(tmp_path, monkeypatch):
    from searchkit.indexing import build, store

    monkeypatch.setattr(export_mod, "SINGLE_FILE_BYTES", 0)
    monkeypatch.setattr(export_mod, "SHARD_BYTES", 200)  # about a word a shard
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    config = Config(content=content, index=tmp_path / "index")
    build.update_index(config.content, config.index)
    exported = store.current_generation(config.index)
    real, calls = export_mod._doc, []

    def doc_then_update(*args):
        if not calls:  # mid-export, another process would run `searchkit index`
            post = next(content.rglob("*.md"))
            post.write_text(post.read_text() + "\nAn added line.\n")
            build.update_index(config.content, config.index)
            assert store.current_generation(config.index) != exported
            assert exported.is_dir()  # kept: the export holds a reader's lease
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(export_mod, "_doc", doc_then_update)
    report = export_site(config, tmp_path / "out")
    assert report.posts == 49 and calls
    build.update_index(config.content, config.index)  # the next run collects it
    assert not exported.exists()


def test_a_failed_data_write_leaves_no_partial_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(export_mod, "SINGLE_FILE_BYTES", 0)
    config, out = build_export(CONTENT, tmp_path)
    before = sorted(p.name for p in out.iterdir())
    real = export_mod._write_file
    calls = []

    def flaky(path, raw, report, **kw):
        calls.append(path)
        if len(calls) == 5:
            raise OSError("disk full")
        return real(path, raw, report, **kw)

    monkeypatch.setattr(export_mod, "_write_file", flaky)
    monkeypatch.setattr(export_mod, "SHARD_BYTES", 3000)  # other data: a new folder
    with pytest.raises(OSError):
        export_site(config, out)
    assert sorted(p.name for p in out.iterdir()) == before


def test_a_query_rule_the_client_cannot_mirror_is_refused(tmp_path, monkeypatch):
    from whoosh import query as Q

    import searchkit.search.query as query_mod

    def dismax(text, schema):
        q = Q.DisjunctionMax([Q.Term("title", "alpha"), Q.Term("body", "alpha")])
        return query_mod.ParsedQuery(text, q)

    monkeypatch.setattr(query_mod, "parse_query", dismax)
    with pytest.raises(ExportError, match="cannot mirror"):
        build_export(CONTENT, tmp_path)


def post(pid="links/my-post.md", **kw) -> Post:
    defaults = {"title": "My Post: Hello, World!", "date": dt.datetime(2024, 3, 5, tzinfo=dt.UTC)}
    return Post(id=pid, **{**defaults, **kw})


def test_urls_come_from_front_matter_then_external_url_then_permalink():
    assert post_url(post(url="/custom/")) == "/custom/"
    assert post_url(post(url="custom/"), base_url="https://ex.com/blog/") == (
        "https://ex.com/blog/custom/"
    )
    link = post(external_url="https://upstream.example/a")
    assert post_url(link) == "/links/my-post/"
    assert post_url(link, link_posts_use_external_url=True) == "https://upstream.example/a"
    assert post_url(link, base_url="https://ex.com/") == "https://ex.com/links/my-post/"
    bundle = post("articles/guides/progressive-delivery/index.md", fields={"slug": "Canary Tips"})
    assert post_url(bundle) == "/articles/guides/progressive-delivery/"
    assert expand_permalink("/:year/:month/:day/:slug/", bundle) == "/2024/03/05/canary-tips/"
    assert expand_permalink("/:section/:title/", post()) == "/links/my-post-hello-world/"
    assert expand_permalink("/:monthname/:filename/", post()) == "/march/my-post/"


def test_unsafe_urls_are_never_exported():
    assert post_url(post(url="javascript:alert(1)")) == ""
    assert post_url(post(external_url="data:text/html,x"), link_posts_use_external_url=True) == ""
    assert not is_safe_url("java\nscript:alert(1)")
    assert is_safe_url("https://example.com/a?b=c#d")


URLS = [
    "",
    "/",
    "/posts/a/",
    "https://example.org/blog/posts/a/",
    "https://example.org/blog/",
    "https://example.org/blog//x",
    "https://example.org/blog/a:b/",
    "https://example.org/other/",
    "http://example.org/blog/x",
    "https://elsewhere.example/blog/",
    "//cdn.example/x",
    "posts/relative/",
]


@pytest.mark.parametrize(
    "base", ["/", "https://example.org/", "https://example.org/blog/", "https://example.org", ""]
)
def test_row_urls_read_back_exactly_through_the_url_base(base):
    assert all(full_url(short_url(u, base), base) == u for u in URLS[:-1])
    # A URL that would read back wrongly (relative, not under the base) turns the base off.
    assert url_base(URLS, base) == "" and url_base(URLS[:-1], base) == (
        base if base.endswith("/") else ""
    )
    if base.endswith("/"):
        assert short_url(base + "posts/a/", base) == "posts/a/"


def test_post_fields_are_exported_as_plain_strings(tmp_path):
    config, out = build_export(FIXTURES / "xss", tmp_path, link_posts_use_external_url=True)
    meta = json.loads((out / "searchkit.json").read_text())
    docs = meta["inline"]["d"]
    assert '<script>alert("title")</script> XSS title' in [d[1] for d in docs]
    urls = [full_url(d[0], meta["urlBase"]) for d in docs]
    assert all(u == "" or u.startswith("/") for u in urls)
    # Markup in a field's text (written as entities) is exported as text, for
    # the client to show as text.
    assert any("<a href=" in d[6] for d in docs)


def test_export_command(tmp_path):
    runner = CliRunner()
    out = tmp_path / "site-search"
    args = ["export", "--content", str(CONTENT), "--index", str(tmp_path / "ix"), "--out", str(out)]
    result = runner.invoke(cli, [*args, "--demo", "--base-url", "https://example.org/"])
    assert result.exit_code == 0, result.output
    assert "exported 49 posts" in result.stdout
    assert (out / "index.html").is_file() and (out / "searchkit-demo.js.gz").is_file()
    meta = json.loads((out / "searchkit.json").read_text())
    assert meta["urlBase"] == "https://example.org/"
    rows = meta["inline"]["d"]
    assert all(not d[0].startswith("https:") for d in rows)  # the base is written once
    assert all(full_url(d[0], meta["urlBase"]).startswith("https://example.org/") for d in rows)
    help_text = runner.invoke(cli, ["export", "--help"]).output
    assert "Example:" in help_text and "searchkit export --out" in help_text


def test_export_writes_the_search_box_beside_the_client_without_demo(tmp_path):
    _, out = build_export(CONTENT, tmp_path)
    for name in ("searchkit.js", "searchkit-ui.js", "searchkit-ui.css"):
        assert (out / name).is_file() and (out / f"{name}.gz").is_file(), name
    assert not (out / "index.html").exists()
    # The box imports the client beside it, by a relative URL.
    assert 'from "./searchkit.js"' in (out / "searchkit-ui.js").read_text()


def test_export_without_content_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli, ["export", "--content", str(tmp_path / "nope")])
    assert result.exit_code == 2


def test_config_permalink_reaches_the_export(tmp_path):
    cfg = Config(content=CONTENT, index=tmp_path / "ix", permalink="/p/:filename/")
    from searchkit.indexing.build import update_index

    update_index(cfg.content, cfg.index)
    export_site(cfg, tmp_path / "out")
    meta = json.loads((tmp_path / "out" / "searchkit.json").read_text())
    assert "/p/gitops-repository-layout-survived-three-reorgs/" in [
        full_url(d[0], meta["urlBase"]) for d in meta["inline"]["d"]
    ]
