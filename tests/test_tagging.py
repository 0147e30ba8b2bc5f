"""Tag model: training, suggestions, storage without pickle, metrics, vocabulary, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, run_cli
from tag_site import make_site

from searchkit.errors import ModelError
from searchkit.site.posts import load_posts, read_post
from searchkit.tagging.evaluate import iterative_stratification, rank_metrics, time_split
from searchkit.tagging.model import gbm_predict
from searchkit.tagging.store import load_model, save_model
from searchkit.tagging.vocabulary import variant_key, vocabulary_report
from searchkit.tagging.workflow import fresh_model, suggest, train


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    root = make_site(tmp_path_factory.mktemp("tagsite") / "content")
    index = root.parent / "index"
    train(root, index)
    return root, index


def test_suggests_the_topic_of_an_untagged_post(trained):
    root, index = trained
    results = {r.path: r for r in suggest(root, index)}
    assert set(results) == {
        "posts/untagged-kubernetes.md", "posts/untagged-databases.md",
        "posts/untagged-networking.md",
    }  # fmt: skip
    for topic in ("kubernetes", "databases", "networking"):
        top = results[f"posts/untagged-{topic}.md"].suggestions[0]
        assert top.tag == topic
        assert 0.5 < top.score <= 1.0
        assert top.reasons, "every suggestion carries the words behind it"


def test_existing_tags_are_not_suggested_again_unless_all(trained):
    root, index = trained
    path = root / "posts" / "kubernetes-0.md"
    plain = suggest(root, index, [path], threshold=0.0, limit=10)[0]
    assert "kubernetes" not in [s.tag for s in plain.suggestions]
    shown = suggest(root, index, [path], threshold=0.0, limit=10, include_present=True)[0]
    present = [s for s in shown.suggestions if s.tag == "kubernetes"]
    assert present and present[0].present and present[0].to_json()["present"] is True


def test_model_round_trip_without_pickle(trained, tmp_path):
    root, index = trained
    model = load_model(index)
    folder = next(index.glob("tags-model-*"))
    assert folder.is_dir() and {f.suffix for f in folder.iterdir()} == {".npy"}
    for f in folder.iterdir():  # raises if anything needs pickle
        assert np.load(f, allow_pickle=False).dtype != object
    doc = json.loads((index / "tags-model.json").read_text())
    assert doc["meta"]["posts"] == 24 and "numpy" in doc["meta"]["versions"]
    save_model(model, tmp_path)
    again = load_model(tmp_path)
    post, _ = read_post(root / "posts" / "untagged-databases.md", root)
    assert np.allclose(model.predict([post]), again.predict([post]))
    assert len(list(tmp_path.glob("tags-model-*"))) == 1


def test_an_unseen_source_does_not_decide_the_tags(trained):
    """Text first: a source the model never saw is no evidence (same scores as none)."""
    import dataclasses

    root, index = trained
    model = load_model(index)
    post, _ = read_post(root / "posts" / "untagged-databases.md", root)
    plain = model.predict([dataclasses.replace(post, source="")])
    unseen = model.predict([dataclasses.replace(post, source="a feed nobody saw")])
    assert np.array_equal(plain, unseen)
    assert model.tags[int(np.argmax(unseen[0]))] == "databases"


def test_corrupt_model_is_an_error_not_a_crash(trained, tmp_path):
    root, index = trained
    (tmp_path / "tags-model.json").write_text("{not json")
    with pytest.raises(ModelError):
        load_model(tmp_path)
    with pytest.raises(ModelError):
        load_model(tmp_path / "nowhere")


@pytest.mark.parametrize("subsample", [1.0, 0.3])  # 0.3: rows capped (MAX_TREE_ROWS)
def test_exported_trees_match_scikit_learn(subsample):
    """The meta-model is stored from public attributes only, and predicts the same."""
    from sklearn.ensemble import GradientBoostingClassifier

    from searchkit.tagging.training import export_trees, fit_trees

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    gbm = GradientBoostingClassifier(
        n_estimators=30, max_leaf_nodes=7, subsample=subsample, random_state=0
    ).fit(X, y)
    ours = gbm_predict(export_trees(gbm), X)
    assert np.allclose(ours, gbm.predict_proba(X)[:, 1], atol=1e-9)
    # and the one searchkit fits, whose rows a tree sees are capped
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("searchkit.tagging.training.MAX_TREE_ROWS", int(400 * subsample))
        gbm = fit_trees(X[:, None, :], y[:, None], np.ones((400, 1), bool))
    assert gbm.subsample == subsample
    ours = gbm_predict(export_trees(gbm), X)
    assert np.allclose(ours, gbm.predict_proba(X)[:, 1], atol=1e-9)


def test_retrains_when_tagged_posts_change(trained, tmp_path):
    root, index = trained
    import shutil

    site, idx = tmp_path / "content", tmp_path / "index"
    shutil.copytree(root, site)
    shutil.copytree(index, idx)
    said: list[str] = []
    fresh_model(site, idx, log=said.append)
    assert not said
    post = site / "posts" / "databases-1.md"
    post.write_text(post.read_text().replace("[databases]", "[databases, networking]"))
    fresh_model(site, idx, log=said.append)
    assert any("older than the content" in s for s in said)


def test_too_few_tagged_posts_is_a_model_error(tmp_path):
    make_site(tmp_path, per_topic=2, untagged=0)
    with pytest.raises(ModelError, match="not enough tagged posts"):
        train(tmp_path, tmp_path / "index")


def test_suggesting_never_imports_scikit_learn(trained):
    root, index = trained
    code = (
        "import sys\n"
        "from searchkit.tagging.workflow import suggest\n"
        f"r = suggest({str(root)!r}, {str(index)!r})\n"
        "assert r and r[0].suggestions\n"
        "import searchkit.cli.main\n"
        "assert 'sklearn' not in sys.modules, 'sklearn was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_rank_metrics_by_hand():
    S = np.array([[0.9, 0.5, 0.1, 0.0], [0.1, 0.2, 0.3, 0.9], [0.5, 0.4, 0.3, 0.2]])
    Y = np.array([[1, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]], bool)
    m = rank_metrics(S, Y)  # the third post has no gold tag: skipped
    assert m["P@1"] == pytest.approx(0.5)
    assert m["P@3"] == pytest.approx((2 / 3 + 0) / 2)
    assert m["R@3"] == pytest.approx((1 + 0) / 2)
    assert m["F1@3"] == pytest.approx((2 * 2 / 5 + 0) / 2)


def test_iterative_stratification_spreads_every_label():
    rng = np.random.default_rng(1)
    Y = rng.random((200, 6)) < np.array([0.5, 0.3, 0.1, 0.05, 0.04, 0.6])
    fold = iterative_stratification(Y, 5)
    assert set(fold) == set(range(5))
    for j in range(Y.shape[1]):
        per_fold = [Y[fold == f, j].sum() for f in range(5)]
        assert max(per_fold) - min(per_fold) <= 1
    assert max(np.bincount(fold)) - min(np.bincount(fold)) <= 3


def test_time_split_trains_on_the_oldest(trained):
    root, _ = trained
    posts = [p for p in load_posts(root).posts if p.tags]
    train_part, test_part = time_split(posts)
    assert len(train_part) == int(len(posts) * 0.8)
    assert max(p.date for p in train_part) <= min(p.date for p in test_part)


def test_vocabulary_report_finds_variants_and_pairs(tmp_path):
    posts_dir = tmp_path / "c"
    posts_dir.mkdir()
    tags = [["CI/CD", "gitops"], ["ci-cd", "gitops"], ["snapshot"], ["snapshots"],
            ["helm", "charts"], ["helm", "charts"], ["helm", "charts"], ["lonely"]]  # fmt: skip
    for i, t in enumerate(tags):
        (posts_dir / f"p{i}.md").write_text(
            f"---\ntitle: Post {i}\ntags: {json.dumps(t)}\n---\nx\n"
        )
    report = vocabulary_report(load_posts(posts_dir).posts)
    groups = {frozenset(g) for g in report.variants}
    assert frozenset({"CI/CD", "ci-cd"}) in groups
    assert frozenset({"snapshot", "snapshots"}) in groups
    assert ("charts", "helm", 3) in report.cooccurring
    assert "lonely" in report.used_once
    assert variant_key("Policies") == variant_key("policy")
    assert "Likely duplicates" in report.to_markdown()


def test_cli_suggest_json_and_errors(trained, tmp_path):
    root, index = trained
    res = run_cli("tags", "suggest", "--content", str(root), "--index", str(index), "--json")
    assert res.exit_code == 1, res.output  # untagged posts listed: findings
    data = json.loads(res.stdout)
    assert {d["path"] for d in data} >= {"posts/untagged-networking.md"}
    first = data[0]["suggestions"][0]
    assert set(first) >= {"tag", "score", "reasons"}
    scores = [s["score"] for s in data[0]["suggestions"]]
    assert scores == sorted(scores, reverse=True)
    outside = tmp_path / "elsewhere.md"
    outside.write_text("---\ntitle: x\n---\n")
    res = run_cli("tags", "suggest", "--content", str(root), "--index", str(index), str(outside))
    assert res.exit_code == 2
    assert "not inside the content folder" in res.stderr


@pytest.mark.parametrize("command", ["train", "suggest", "apply", "review", "eval", "report"])
def test_every_tags_command_has_an_example(command):
    res = run_cli("tags", command, "--help")
    assert res.exit_code == 0 and "Example:" in res.output


def test_cli_eval_and_report(tmp_path):
    root = make_site(tmp_path / "content")
    index = tmp_path / "index"
    res = run_cli("tags", "eval", "--content", str(root), "--index", str(index),
                  "--split", "kfold", "--folds", "3")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "| searchkit model |" in res.stdout and "| tag name in text |" in res.stdout
    assert "| most frequent tags |" in res.stdout and "(cold posts)" in res.stdout
    row = next(line for line in res.stdout.splitlines() if line.startswith("| searchkit model |"))
    assert float(row.split("|")[2]) > 0.8  # P@1 on three well-separated topics
    res = run_cli("tags", "report", "--content", str(root), "--index", str(index), "--json")
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert data["tags"] == {"kubernetes": 8, "databases": 8, "networking": 8}
    assert data["untagged"] == 3


def test_a_model_from_another_version_is_retrained(trained, tmp_path):
    root, index = trained
    import json
    import shutil

    site, idx = tmp_path / "content", tmp_path / "index"
    shutil.copytree(root, site)
    shutil.copytree(index, idx)
    doc = json.loads((idx / "tags-model.json").read_text())
    doc["format"] = 1
    (idx / "tags-model.json").write_text(json.dumps(doc))
    said: list[str] = []
    model = fresh_model(site, idx, log=said.append)
    assert any("cannot be used by this searchkit" in s for s in said)
    assert model.tags and json.loads((idx / "tags-model.json").read_text())["format"] != 1
