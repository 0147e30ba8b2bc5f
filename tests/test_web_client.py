"""The JavaScript client (run with node) against Python: analysis and ranking parity."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import unicodedata
from pathlib import Path

import pytest
from _webclient import CONTENT, NODE, build_export, cli_query, export_paths, run_client, top
from whoosh.lang.porter import stem as py_stem

from searchkit.schema import FoldStopStemFilter, analyze
from searchkit.site.posts import load_posts
from searchkit.site.urls import is_safe_url

if NODE is None and os.environ.get("CI") == "true":
    raise RuntimeError("node is required under CI to test the JavaScript client")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed (needed to run JS)")


def split(text: str, sep: str | None = None) -> list[str]:
    return [part.strip() for part in text.split(sep)]


# The shared corpora live beside the repository, in ../shared.
LINKBLOG = Path(
    os.environ.get("SEARCHKIT_LINKBLOG")
    or Path(__file__).resolve().parents[2] / "shared" / "corpora" / "linkblog"
)

# Words whose analysis is easy to get wrong: stemmer quirks, accents, dots,
# digits, non-Latin scripts, Unicode case mappings, underscores.
TRICKY = split(
    """running runs ran runner conflated hopping hoped feed agreed sized
controlled generalization relational electricity happiness probate rate cease
ponies caresses sky skies yyy yield dying lying ties Y-axis youth yo
Café café CAFÉ naïve Ærøskøbing straße STRASSE façade crème-brûlée Ångström
k8s.io v1.33.7-rc1+rke2r1 1.2.3 ..dots.. end. a.b.c __init__ snake_case x_y
İstanbul ΣΊΣΥΦΟΣ Σ ΌΣΟΣ Ǆemal ǅ ß ẞ ﬁnance ﬀ Ⅻ ½ ٣٤ १२३ 二〇二四 Ａｂｃ
ǈubljana Ωmega ΐ ǰ ŉ ﬃ œuvre Œuvre ĳssel IJssel ŀl ǉ ﬆ ⓐⓑ ¹²³ ₀ ㊿ 𝐀𝐛𝐜 𐐀𐐨
kubernetes Kubernetes' don't it's I'm e.g. i.e. U.S.A. the THE tbd TBD is us
GPUs GPU's LLMs llm's on-call sign-off co-operate re-evaluate 10x 2024-03-01
mystery myths syzygy eyeing saying layer player yelp boy boys joy enjoying"""
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    config, out = build_export(CONTENT, tmp_path_factory.mktemp("site"))
    return config, out, export_paths(config)


def vocabulary(root: Path) -> list[str]:
    """Every distinct word (tokenizer output, as written) in the posts under ``root``."""
    words: set[str] = set()
    for post in load_posts(root).posts:
        for text in (post.title, post.tldr, post.summary, post.body, " ".join(post.tags)):
            words.update(m.group(0) for m in re.finditer(r"\w+(\.?\w+)*", text))
    return sorted(words)


def check_analysis(out: Path, words: list[str]) -> None:
    got = run_client(out, {"analyze": words, "stem": words})
    bad = [
        (w, a, analyze(w)) for w, a in zip(words, got["analyze"], strict=True) if a != analyze(w)
    ]
    assert not bad, f"{len(bad)} words analysed differently, e.g. {bad[:10]}"
    bad = [(w, s) for w, s in zip(words, got["stem"], strict=True) if s != py_stem(w)]
    assert not bad, f"{len(bad)} words stemmed differently, e.g. {bad[:10]}"


def test_client_analyses_the_shipped_vocabulary_and_tricky_words_like_python(site):
    _, out, _ = site
    words = vocabulary(CONTENT) + TRICKY + [" ".join(TRICKY)]
    check_analysis(out, words)


def test_client_folds_every_word_character_like_python(site):
    _, out, _ = site
    chars = [chr(c) for c in range(0x110000) if re.match(r"\w", chr(c))]
    got = run_client(out, {"fold": chars, "analyze": chars})
    fold = FoldStopStemFilter().fold
    bad = [c for c, f in zip(chars, got["fold"], strict=True) if f != fold(c)]
    assert not bad, f"{len(bad)} characters fold differently: {bad[:20]}"
    # The tokenizer: JavaScript may know newer Unicode than Python; characters
    # Python's tables leave unassigned are the only allowed difference.
    extra = [c for c, a in zip(chars, got["analyze"], strict=True) if a != analyze(c)]
    assert not extra, f"{len(extra)} word characters analysed differently: {extra[:20]}"
    non_word = [chr(c) for c in range(0x20000) if not re.match(r"\w", chr(c))]
    non_word = [c for c in non_word if not 0xD800 <= ord(c) < 0xE000]
    got = run_client(out, {"analyze": [f"a{c}b" for c in non_word]})
    split = [
        c
        for c, a in zip(non_word, got["analyze"], strict=True)
        if a != analyze(f"a{c}b") and unicodedata.category(c) != "Cn"
    ]
    assert not split, f"characters JavaScript treats as word characters: {split[:20]}"


@pytest.mark.skipif(not LINKBLOG.is_dir(), reason=f"linkblog corpus not found at {LINKBLOG}")
def test_client_analyses_the_linkblog_vocabulary_like_python(site):
    _, out, _ = site
    words = vocabulary(LINKBLOG)
    assert len(words) > 5000
    check_analysis(out, words)


# Plain word queries on the shipped content: one to four words, rare and
# common, stop words, stemming variants, accents, dotted versions.
CONTENT_QUERIES = split(
    """gitops | kubernetes | kubernetes autoscaling | service mesh | helm chart
| opentelemetry collector | prometheus histograms | gpu inference | llm serving kubernetes
| argo cd | flux oci | policy | kyverno policies | admission control opa | tracing sampling
| logs | cafe | café dashboards | v1.30 | 3.0 | the gitops | gitops and the cluster
| autoscale autoscaling autoscaler | sidecar | mutual tls | supply chain signing | sbom incident
| edge clusters network | cold starts | paged attention | snapshots backup | namespaces threat
| platform teams adoption | recording rules | ci pipelines | canary analysis | kv cache routing
| cardinality metrics pipelines | time slicing | drift detection | image automation
| grafana | xyzzy""",
    "|",
)


def assert_parity(config, out, paths, queries, **filters):
    opts = {"prefix": False, "typo": False, **filters}
    got = run_client(out, {"search": [[q.strip(), opts] for q in queries]})["search"]
    args: list[str] = []
    for tag in filters.get("tags", []):
        args += ["--tag", tag]
    for key in ("since", "until"):
        if key in filters:
            args += [f"--{key}", filters[key]]
    checked = 0
    for q, res in zip(queries, got, strict=True):
        want = cli_query(config, *q.split(), *args)
        assert top(res, paths) == top(want), f"query {q.strip()!r}"
        assert res["total"] == want["total"], f"query {q.strip()!r}"
        checked += bool(want["hits"])
    return checked


def test_client_ranks_the_shipped_content_like_the_cli(site):
    config, out, paths = site
    assert len(CONTENT_QUERIES) >= 30
    assert assert_parity(config, out, paths, CONTENT_QUERIES) >= 40


def test_repeated_words_rank_like_the_cli_with_either_query_tf(tmp_path, monkeypatch):
    from searchkit.search import coord

    queries = ["gitops gitops", "gitops flux gitops", "kubernetes autoscaling kubernetes", "mesh"]
    for qtf in (False, True):
        monkeypatch.setattr(coord.WordsOr, "QTF", qtf)
        config, out = build_export(CONTENT, tmp_path / str(qtf))
        assert f'"qtf":{str(qtf).lower()}' in (out / "searchkit.json").read_text()
        assert assert_parity(config, out, export_paths(config), queries) == len(queries)


def test_client_filters_by_tag_and_date_like_the_cli(site):
    config, out, paths = site
    assert assert_parity(config, out, paths, ["kubernetes", "gitops", ""], tags=["gitops"]) >= 2
    assert_parity(config, out, paths, ["kubernetes", "flux"], since="2024-06", until="2025")
    assert_parity(config, out, paths, ["gitops"], tags=["GitOps", "flux"], until="2025-03-01")


def test_facet_counts_follow_the_query_like_the_cli(site):
    """search(q, {facets: true}): tag counts over the matches, as `query --facets` counts them."""
    config, out, _ = site
    cases = [
        ("gitops", {}, ["gitops"]),
        ("kubernetes", {"tags": ["security"]}, ["kubernetes", "--tag", "security"]),
        ("helm chart", {"since": "2024"}, ["helm", "chart", "--since", "2024"]),
    ]
    opts = {"prefix": False, "typo": False, "facets": True, "limit": 3}
    requests = [[q, {**opts, **extra}] for q, extra, _ in cases]
    plain = run_client(out, {"search": [[q, {**o, "facets": False}] for q, o in requests]})
    got = run_client(out, {"search": requests})["search"]
    for (q, extra, args), result, without in zip(cases, got, plain["search"], strict=True):
        want = cli_query(config, *args, "--facets")
        assert {t["tag"]: t["count"] for t in result["facets"]["tags"]} == want["facets"]["tags"], q
        assert result["hits"] == without["hits"] and "facets" not in without  # ranking untouched
        # Years count the matches with the tags but without the date filter.
        for y in result["facets"]["years"]:
            year = str(y["year"])
            tags = [a for t in extra.get("tags", []) for a in ("--tag", t)]
            n = cli_query(config, *q.split(), *tags, "--since", year, "--until", year)["total"]
            assert n == y["count"], (q, year)
    assert got[2]["facets"]["years"][-1]["year"] < 2024  # the `since` filter did not hide them


LINKBLOG_QUERIES = split(
    """kubernetes | gke release notes | security vulnerability
| cilium network policy | argo cd | flux | helm chart | istio ambient | gateway api
| opentelemetry | prometheus
| autoscaling | gpu | ai inference | etcd | rke2 | k3s | v1.33 | windows nodes | karpenter
| crossplane | backstage developer portal | ebpf | wasm | service mesh | observability
| cost optimization | multi cluster | storage csi | certificate manager | deprecated api removal
| cve | kubecon | tekton pipelines | jenkins x | open source community""",
    "|",
)


@pytest.mark.skipif(not LINKBLOG.is_dir(), reason=f"linkblog corpus not found at {LINKBLOG}")
def test_client_ranks_the_linkblog_like_the_cli(tmp_path_factory):
    config, out = build_export(LINKBLOG, tmp_path_factory.mktemp("linkblog"))
    meta = (out / "searchkit.json").read_text()
    assert '"shards"' in meta  # the sharded layout is the one checked here
    assert len(LINKBLOG_QUERIES) >= 30
    checked = assert_parity(config, out, export_paths(config), LINKBLOG_QUERIES)
    assert checked >= 30


def test_type_ahead_typos_and_phrases(site):
    _, out, paths = site
    got = run_client(
        out,
        {
            "search": [
                ["kube", {}],
                ["kube", {"prefix": False}],
                ["gitops kuberne", {}],
                ["kuberntes", {"prefix": False}],
                ["kubernetes", {"prefix": False}],
                ["kuberntes", {"prefix": False, "typo": False}],
                ['"service mesh"', {}],
                ["service mesh", {"prefix": False}],
                ['"mesh service"', {}],
                ["gitops -flux", {"prefix": False, "limit": 100}],
                ["gitops", {"prefix": False, "limit": 100}],
            ]
        },
    )["search"]
    kube, kube_off, two, typo, exact, typo_off, phrase, words, reversed_, minus, gitops = got
    assert kube["total"] > 5 and kube_off["total"] == 0
    assert two["total"] >= 11  # the open last word widens an OR query
    # A typo finds the same posts as the right word, with lower scores.
    assert [h["id"] for h in typo["hits"]] == [h["id"] for h in exact["hits"]]
    assert all(t["score"] < e["score"] for t, e in zip(typo["hits"], exact["hits"], strict=True))
    assert typo_off["total"] == 0
    # Quotes require the words next to each other, in order.
    assert 0 < phrase["total"] < words["total"]
    assert reversed_["total"] == 0
    assert all("mesh" in (h["title"] + h["snippet"]).lower() for h in phrase["hits"][:3])
    # -word excludes.
    ids = {h["id"] for h in gitops["hits"]}
    assert minus["total"] < gitops["total"]
    assert {h["id"] for h in minus["hits"]} < ids
    assert not any("flux" in paths[h["id"]] for h in minus["hits"])


def test_client_orders_terms_by_code_point_like_python(site):
    # Shard lookup and the shard table rely on Python's order, which differs
    # from JavaScript's `<` for characters above U+FFFF.
    words = ["z", "\uffff", "\U0001f600", "\ue000", "a\U00010000", "a\uffee", "ab", "a", "é", ""]
    _, out, _ = site
    assert run_client(out, {"sort": words})["sort"] == sorted(words)


def test_highlights_point_at_matched_words(site):
    _, out, _ = site
    res = run_client(out, {"search": [["autoscaling", {"prefix": False}]]})["search"][0]
    hit = res["hits"][0]
    marked = [hit["title"][a:b] for a, b in hit["titleHighlights"]]
    assert marked and all(analyze(w) == analyze("autoscaling") for w in marked)


URLS = [
    "https://example.com/a",
    "http://example.com",
    "/posts/a/",
    "posts/a",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>",
    "vbscript:x",
    "https:/x",
    "\\\\evil",
    "",
    "mailto:a@b.c",
]


def test_client_and_exporter_agree_on_safe_urls(site):
    _, out, _ = site
    got = run_client(out, {"safe": URLS})["safe"]
    assert got == [is_safe_url(u) for u in URLS]
    assert got[:4] == [True] * 4 and not any(got[4:])


DISPLAY_QUERIES = ["kubernetes", "gitops flux", "release", "gpu inference", "mesh", "security"]


def shown(hit: dict) -> tuple:
    """What a result list shows of a hit: the CLI's date is a timestamp, the client's a UTC day."""
    date = hit["date"]
    if date and "T" in date:
        date = dt.datetime.fromisoformat(date).astimezone(dt.UTC).strftime("%Y-%m-%d")
    return hit["url"], hit["title"], date, hit["tags"], hit["source"], hit["kind"]


@pytest.mark.parametrize("layout", ["inline", "sharded"])
def test_client_shows_each_hit_as_the_cli_does(tmp_path, monkeypatch, layout):
    # Tags, sources and kinds are numbered in the metadata and dates are day
    # numbers; a small label budget leaves some labels as text in the rows.
    from searchkit.export import data, writer

    monkeypatch.setattr(data, "LABEL_CHARS", 60)
    if layout == "sharded":
        monkeypatch.setattr(writer, "SINGLE_FILE_BYTES", 0)
        monkeypatch.setattr(writer, "SHARD_BYTES", 3000)
    config, out = build_export(CONTENT, tmp_path)
    meta = json.loads((out / "searchkit.json").read_text())
    assert ("inline" in meta) == (layout == "inline") and 0 < len(meta["labels"]) < 10
    opts = {"prefix": False, "typo": False, "limit": 20}
    client = run_client(out, {"search": [[q, opts] for q in DISPLAY_QUERIES]})
    checked = set()
    for q, got in zip(DISPLAY_QUERIES, client["search"], strict=True):
        want = cli_query(config, *q.split(), "--limit", "20")
        assert [shown(h) for h in got["hits"]] == [shown(h) for h in want["hits"]], q
        checked.update((bool(h["tags"]), bool(h["date"]), bool(h["source"])) for h in got["hits"])
    assert {(True, True, True), (False, True, False)} <= checked  # tagged and untagged posts
