"""benchmarks/ir_eval.py: readers and metrics, on tiny collections written here."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import ir_eval  # noqa: E402


def test_metrics_by_hand():
    qrels = {"q1": {"a": 3, "b": 1}, "q2": {"c": 1}}
    run = {"q1": ["x", "a", "b"], "q2": ["y"]}
    m = ir_eval.evaluate(run, qrels)
    dcg = 3 / math.log2(3) + 1 / math.log2(4)
    idcg = 3 / math.log2(2) + 1 / math.log2(3)
    assert m["nDCG@10"] == pytest.approx((dcg / idcg + 0) / 2)
    assert m["MRR@10"] == pytest.approx((1 / 2 + 0) / 2)
    assert m["R@100"] == pytest.approx((1 + 0) / 2)


def test_read_beir(tmp_path):
    docs = [{"_id": "d1", "title": "Wing", "text": "lift"}, {"_id": "d2", "text": "drag"}]
    (tmp_path / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs))
    queries = [{"_id": "q1", "text": "lift?"}, {"_id": "q9", "text": "unjudged"}]
    (tmp_path / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries))
    (tmp_path / "qrels").mkdir()
    (tmp_path / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t0\n"
    )
    coll = ir_eval.read_collection(tmp_path)
    assert coll.docs == {"d1": ("Wing", "lift"), "d2": ("", "drag")}
    assert coll.queries == {"q1": "lift?"}
    assert coll.qrels == {"q1": {"d1": 2}}


def test_read_cranfield_format(tmp_path):
    (tmp_path / "cran.all.1400").write_text(
        ".I 1\n.T\nwing lift .\n.A\nsmith\n.B\nj. 1\n.W\nwing lift .\n  more text .\n"
        ".I 2\n.T\n\n.W\ndrag\n"
    )
    (tmp_path / "cran.qry").write_text(".I 001\n.W\nwhat is lift ?\n.I 004\n.W\ndrag ?\n")
    (tmp_path / "cranqrel").write_text("1 1 1\n1 2 4\n2 2 -1\n2 1 3 \n")
    coll = ir_eval.read_collection(tmp_path)
    assert coll.docs["1"] == ("wing lift .", "wing lift . more text .")
    assert coll.docs["2"] == ("", "drag")
    # queries are numbered by position (1, 2), not by their .I (001, 004)
    assert coll.queries == {"1": "what is lift ?", "2": "drag ?"}
    assert coll.qrels == {"1": {"1": 4, "2": 1}, "2": {"1": 2}}


def test_end_to_end_on_a_tiny_collection(tmp_path, capsys):
    (tmp_path / "cran.all.1400").write_text(
        ".I 1\n.T\nwing lift\n.W\nlift of a swept wing\n"
        ".I 2\n.T\nboundary layer\n.W\nboundary layer drag (laminar)\n"
        ".I 3\n.T\nshock waves\n.W\nshock waves: supersonic flow?\n"
    )
    (tmp_path / "cran.qry").write_text(
        ".I 1\n.W\nlift on swept wings?\n.I 2\n.W\nlaminar boundary-layer (drag)\n"
    )
    (tmp_path / "cranqrel").write_text("1 1 1\n2 2 2\n")
    assert ir_eval.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("searchkit query"))
    assert row.split()[2:5] == ["1.0000", "1.0000", "1.0000"]  # each query finds its post first


def test_missing_collection_skips(tmp_path, capsys):
    assert ir_eval.main([str(tmp_path / "nope")]) == 0
    assert "skipped" in capsys.readouterr().err
