"""The long-query rule (schema.LONG_QUERY_IDF): the CLI applies it, the JS client mirrors it."""

from __future__ import annotations

import json
import os

import pytest
from _webclient import CONTENT, NODE, build_export, cli_query, export_paths, run_client, top

from searchkit import schema as S

if NODE is None and os.environ.get("CI") == "true":
    raise RuntimeError("node is required under CI to test the JavaScript client")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed (needed to run JS)")

# Ten words or more (stop words do not count; repeats are one clause typed twice),
# written for the shipped content; "edge" "flaky" are also in a draft.
LONG = [
    "how do i roll out gitops with flux and argo across many kubernetes clusters safely",
    "kubernetes autoscaling of gpu nodes for ai inference with karpenter and cost limits",
    "service mesh mesh mesh security policies certificates istio cilium gateway api traffic",
    "notes on edge clusters with flaky network links and gitops agents pulling manifests xyzzy",
    "prometheus alerts grafana dashboards opentelemetry traces logs metrics cardinality drift",
]


def test_long_queries_rank_alike_in_the_client_and_the_cli(tmp_path):
    assert S.LONG_QUERY_IDF and S.LONG_QUERY_WORDS <= 10
    config, out = build_export(CONTENT, tmp_path)
    meta = json.loads((out / "searchkit.json").read_text())
    assert meta["ranking"]["combine"]["longIdf"] == S.LONG_QUERY_WORDS
    paths = export_paths(config)
    got = run_client(
        out, {"search": [[q, {"prefix": False, "typo": False, "limit": 20}] for q in LONG]}
    )
    for q, res in zip(LONG, got["search"], strict=True):
        want = cli_query(config, *q.split(), "-n", "20")
        assert want["hits"], q
        assert top(res, paths) == top(want), q
        assert res["total"] == want["total"], q


def test_the_rule_changes_long_queries_only(tmp_path, monkeypatch):
    from searchkit.indexing.build import update_index
    from searchkit.search.searcher import open_searcher

    def scores(text):
        with open_searcher(tmp_path / "index") as s:
            return [(h.path, h.score) for h in s.search(text, limit=10).hits]

    update_index(CONTENT, tmp_path / "index")
    on = {q: scores(q) for q in [LONG[0], "gitops flux"]}
    monkeypatch.setattr(S, "LONG_QUERY_IDF", False)
    off = {q: scores(q) for q in [LONG[0], "gitops flux"]}
    assert on[LONG[0]] != off[LONG[0]]  # rare words weigh more in a long query
    assert on["gitops flux"] == off["gitops flux"]  # a short query is untouched


def test_a_word_only_in_drafts_takes_no_part(tmp_path):
    """The client cannot see draft words, so the CLI's mean idf leaves them out too."""
    content = tmp_path / "content"
    content.mkdir()
    words = [
        "alpha",
        "bravo",
        "charlie",
        "delta",
        "echo",
        "foxtrot",
        "golf",
        "hotel",
        "india",
        "juliet",
        "kilo",
    ]
    for i, w in enumerate(words[:-1]):
        (content / f"p{i}.md").write_text(
            f"---\ntitle: {w} {words[i + 1]}\n---\n{' '.join(words[: i + 1])}\n", encoding="utf-8"
        )
    (content / "draft.md").write_text(
        "---\ntitle: zulu\ndraft: true\n---\nzulu\n", encoding="utf-8"
    )
    config, out = build_export(content, tmp_path / "work")
    words.append("zulu")
    q = " ".join(words)
    res = run_client(out, {"search": [[q, {"prefix": False, "typo": False}]]})["search"][0]
    assert top(res, export_paths(config)) == top(cli_query(config, *words))
