"""Ranking: true BM25F against a hand computation; the library ranks like the console script."""

from __future__ import annotations

import json
import math

import pytest
from conftest import run_process

from searchkit import schema as S
from searchkit.search.fresh import search_site
from searchkit.search.scoring import bm25f_impact, quantize, robertson_idf


def _post(folder, name: str, title: str, body: str) -> None:
    (folder / f"{name}.md").write_text(f"---\ntitle: {title}\n---\n{body}\n", encoding="utf-8")


def test_a_word_scores_one_saturation_over_its_fields_by_hand(tmp_path):
    # Words Porter leaves alone and no stop word, so field lengths are word counts.
    content = tmp_path / "content"
    content.mkdir()
    _post(content, "a", "zebra lion", "tiger wolf cat")
    _post(content, "b", "dog cat", "zebra zebra wolf")
    _post(content, "c", "lion", "dog")
    _post(content, "d", "zebra", "zebra")
    _post(content, "e", "cat", "")  # a title only: not in the body's mean length
    w, b, k1 = S.FIELD_WEIGHTS, S.BM25F_B, S.BM25F_K1
    assert S.BM25F_AVG_OVER_FIELD
    n, df = 5, 3  # posts; posts holding "zebra" in any field
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    avg_title, avg_body = (2 + 2 + 1 + 1 + 1) / 5, (3 + 3 + 1 + 1) / 4

    def norm(tf, length, avg):
        return tf / (1 - b + b * length / avg)

    def impact(tf_tilde):
        return idf * tf_tilde * (k1 + 1) / (k1 + tf_tilde)

    expected = {
        "a.md": impact(w["title"] * norm(1, 2, avg_title)),
        "b.md": impact(w["body"] * norm(2, 3, avg_body)),
        # both fields: their normalised frequencies add up BEFORE the one saturation
        "d.md": impact(w["title"] * norm(1, 1, avg_title) + w["body"] * norm(1, 1, avg_body)),
    }
    hits = search_site(content, tmp_path / "index", "zebra", limit=10).hits
    got = {h.path: h.score for h in hits}
    assert set(got) == set(expected)
    for path, score in expected.items():
        assert got[path] == pytest.approx(score, abs=1 / S.SCORE_SCALE)
        assert got[path] == quantize(got[path])
    # one saturation: less than the title's and the body's scores saturated apart
    apart = impact(w["title"] * norm(1, 1, avg_title)) + impact(w["body"] * norm(1, 1, avg_body))
    assert got["d.md"] < apart
    assert [h.path for h in hits] == sorted(expected, key=lambda p: -expected[p])


def test_bm25f_impact_saturates_once():
    idf, k1 = robertson_idf(3, 100), 1.2
    title = (3.0, 0.75, 1, 5, 5.0)  # weight, B, tf, length, mean length
    summary = (1.0, 0.75, 2, 40, 40.0)
    both = bm25f_impact(idf, [title, summary], k1)
    assert both == quantize(idf * 5.0 * 2.2 / (1.2 + 5.0))  # tf~ = 3*1/1 + 1*2/1
    assert (
        bm25f_impact(idf, [title], k1)
        < both
        < (bm25f_impact(idf, [title], k1) + bm25f_impact(idf, [summary], k1))
    )
    assert both < idf * (k1 + 1)  # the bound of one word


@pytest.mark.parametrize(
    "words", ["gitops", "flux release notes", "dashboards on call traces", "gpu inference cost"]
)
def test_library_and_console_script_rank_alike(site, words):
    index = site.parent / "index"
    lib = search_site(site, index, words, limit=10, fuzzy_fallback=True)
    proc = run_process("query", "--json", "-n", "10", "--content", str(site), "--index", str(index),
                       *words.split())  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    cli = json.loads(proc.stdout)["hits"]
    assert lib.hits, words
    assert [h["path"] for h in cli] == [h.path for h in lib.hits]
    assert [h["score"] for h in cli] == [h.score for h in lib.hits]
