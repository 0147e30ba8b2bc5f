"""Tag model design (issue 11): deterministic training, text before `source`."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from tag_site import FILLER, TOPICS, _sentence

from searchkit.site.posts import read_post
from searchkit.tagging.store import load_model
from searchkit.tagging.workflow import train

_TRAIN = (
    "import sys; from pathlib import Path; from searchkit.tagging.workflow import train; "
    "train(Path(sys.argv[1]), Path(sys.argv[2]))"
)


def _arrays(index: Path) -> dict[str, bytes]:
    doc = json.loads((index / "tags-model.json").read_text())
    folder = index / doc["arrays"]
    return {f.name: f.read_bytes() for f in sorted(folder.iterdir())}


def _doc(index: Path) -> dict:
    doc = json.loads((index / "tags-model.json").read_text())
    for key in ("created", "train_seconds"):
        doc["meta"].pop(key)
    doc.pop("arrays")  # a random folder name, by design
    return doc


@pytest.mark.parametrize("site", ["one source", "three sources"])
def test_training_twice_stores_the_same_bytes(tmp_path, site):
    """Same posts, same model: every stored array byte for byte, in fresh processes
    with different hash seeds and thread counts (set order, BLAS sums). Three
    sources: the meta-model also sees each post with its source hidden."""
    from tag_site import make_site

    make = make_site if site == "one source" else make_feed_site
    root = make(tmp_path / "content")
    indexes = []
    for run, threads in enumerate(("1", "2")):
        index = tmp_path / f"index{run}"
        env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONHASHSEED=str(run + 1),
                   OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads)  # fmt: skip
        subprocess.run([sys.executable, "-c", _TRAIN, str(root), str(index)], env=env, check=True)
        indexes.append(index)
    first, second = (_arrays(i) for i in indexes)
    assert len(first) > 20 and first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []
    assert _doc(indexes[0]) == _doc(indexes[1])


# A link blog in small: each feed (`source`) carries one topic's tag, and many
# of its posts say little beyond the feed's name, so the source is strong
# evidence; a post from a feed the model never saw must still be tagged from
# its words.
FEEDS = {"kubernetes": "Cluster Weekly", "databases": "Query Digest", "networking": "Packet Log"}


def _write(path: Path, title: str, tags: list[str], source: str, body: str, day: int) -> None:
    path.write_text(
        f"---\ntitle: {title}\ndate: 2024-{1 + day // 28:02d}-{1 + day % 28:02d}\n"
        f"tags: [{', '.join(tags)}]\nsource: {source}\npost_kind: link\n---\n{body}\n",
        encoding="utf-8",
    )


def make_feed_site(root: Path) -> Path:
    rng = random.Random(11)
    posts = root / "posts"
    posts.mkdir(parents=True)
    for t, (topic, feed) in enumerate(FEEDS.items()):
        words = TOPICS[topic].split()
        for i in range(10):
            if i % 2:  # a link post: hardly any topic words, the feed says it all
                body = _sentence(rng, FILLER.split(), 10)
                title = f"Link {i} from {feed}"
            else:
                body = " ".join(_sentence(rng, words + FILLER.split(), 12) for _ in range(3))
                title = f"{words[i % len(words)].capitalize()} item {i}"
            _write(posts / f"{topic}-{i}.md", title, [topic], feed, body, 3 * i + t)
    words = TOPICS["databases"].split()
    body = " ".join(_sentence(rng, words + FILLER.split(), 12) for _ in range(3))
    for name, source in (("new-feed", "A Feed Nobody Saw"), ("other-feed", FEEDS["kubernetes"])):
        _write(posts / f"{name}.md", "Notes on vacuum and replication", [], source, body, 40)
    return root


@pytest.fixture(scope="module")
def feed_site(tmp_path_factory) -> tuple[Path, object]:
    root = make_feed_site(tmp_path_factory.mktemp("feeds") / "content")
    index = root.parent / "index"
    train(root, index)
    return root, load_model(index)


def test_an_unseen_source_does_not_bring_another_sources_tags(feed_site):
    root, model = feed_site
    post, _ = read_post(root / "posts" / "new-feed.md", root)
    shown = [s.tag for s in model.suggest(post)]
    assert shown == ["databases"], shown
    ranked = model.suggest(post, threshold=0.0, limit=3)
    assert ranked[0].tag == "databases"


def test_an_unseen_source_counts_as_no_source(feed_site):
    import dataclasses

    import numpy as np

    root, model = feed_site
    post, _ = read_post(root / "posts" / "new-feed.md", root)
    none = model.predict([dataclasses.replace(post, source="")])
    assert np.array_equal(model.predict([post]), none)


def test_a_known_source_raises_its_tag_but_the_text_still_leads(feed_site):
    """The database post from the kubernetes feed: the feed's tag may rise, never win."""
    root, model = feed_site
    post, _ = read_post(root / "posts" / "other-feed.md", root)
    ranked = model.suggest(post, threshold=0.0, limit=3)
    assert ranked[0].tag == "databases", [(s.tag, s.score) for s in ranked]


def test_eval_can_hide_the_source(feed_site, tmp_path):
    from searchkit.site.posts import load_posts
    from searchkit.tagging.evaluate import evaluate, format_result

    root, _ = feed_site
    result = evaluate(load_posts(root).posts, split="time", hide=("source",))
    row = result.rows["searchkit model, source hidden"]
    assert set(row) >= {"P@1", "F1@3", "precision", "recall"}
    assert "searchkit model, source hidden" in format_result(result)


def test_hiding_the_source_of_features_is_what_an_unseen_source_gives(feed_site):
    """The meta-model's source-hidden training rows are exactly a new post's features."""
    import dataclasses

    import numpy as np

    from searchkit.tagging.model import FEATURES, without_source

    root, model = feed_site
    post, _ = read_post(root / "posts" / "other-feed.md", root)
    seen = model.features([post])
    lift = seen[..., FEATURES.index("source_lift")]
    assert np.abs(lift).max() > 0  # the known feed says something
    unseen = model.features([dataclasses.replace(post, source="A Feed Nobody Saw")])
    assert np.array_equal(without_source(seen), unseen)


def test_meta_model_sees_posts_with_and_without_their_source():
    """With two sources or more, each post with a source is a second time a training
    row with it hidden; with one source (which says nothing) rows are not doubled."""
    import numpy as np

    from searchkit.tagging.model import FEATURES, Context
    from searchkit.tagging.training import meta_rows, source_copies

    dates = np.zeros(4)
    one = Context(dates, ["blog"] * 4, ["link"] * 4)
    assert not source_copies(one).any()
    mixed = Context(dates, ["feed a", "feed b", "", "feed a"], ["link"] * 4)
    assert source_copies(mixed).tolist() == [True, True, False, True]

    rng = np.random.default_rng(0)
    F = rng.random((4, 3, len(FEATURES))).astype(np.float32) + 0.1
    Y = rng.integers(0, 2, (4, 3)).astype(np.uint8)
    C = np.ones((4, 3), bool)
    C[1, 2] = False
    X, y = meta_rows(F, Y, C, source_copies(one))
    assert len(X) == C.sum()
    X, y = meta_rows(F, Y, C, source_copies(mixed))
    n, k = C.sum(), C[[0, 1, 3]].sum()
    assert len(X) == len(y) == n + k
    assert np.array_equal(X[:n], F[C]) and np.array_equal(y[n:], Y[[0, 1, 3]][C[[0, 1, 3]]])
    src = [FEATURES.index("source_lift"), FEATURES.index("source_seen")]
    assert (X[n:][:, src] == 0).all() and (X[:n][:, src] > 0).all()
    rest = [i for i in range(len(FEATURES)) if i not in src]
    assert np.array_equal(X[n:][:, rest], F[[0, 1, 3]][C[[0, 1, 3]]][:, rest])
