"""A small, deterministic site for the tagging tests (original text, generated)."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

TOPICS = {
    "kubernetes": (
        "kubernetes pods cluster scheduler helm chart deployment node kubelet namespace "
        "rollout replica ingress controller manifest"
    ),
    "databases": (
        "postgres query index vacuum replication schema table transaction planner "
        "sql migration backup row lock"
    ),
    "networking": (
        "bgp router latency packet switch vlan routing subnet firewall mtu "
        "interface peering bandwidth"
    ),
}
FILLER = "this week notes about how we approached the work and what we learned along the way"


def _sentence(rng: random.Random, words: list[str], n: int) -> str:
    return " ".join(rng.choice(words) for _ in range(n)).capitalize() + "."


def make_site(root: Path, *, per_topic: int = 8, untagged: int = 3) -> Path:
    """Write posts under ``root/posts``; returns ``root``."""
    rng = random.Random(7)
    posts = root / "posts"
    posts.mkdir(parents=True, exist_ok=True)
    day = 1
    for topic, vocab in TOPICS.items():
        words = vocab.split()
        for i in range(per_topic):
            named = topic if i % 2 == 0 else words[i % len(words)]
            title = f"{named.capitalize()} notes number {i}"
            body = " ".join(_sentence(rng, words + FILLER.split(), 12) for _ in range(4))
            _write(posts / f"{topic}-{i}.md", title, [topic], body, day)
            day += 1
    for i in range(untagged):
        topic = list(TOPICS)[i % len(TOPICS)]
        words = TOPICS[topic].split()
        body = " ".join(_sentence(rng, words + FILLER.split(), 12) for _ in range(4))
        _write(posts / f"untagged-{topic}.md", f"Fresh thoughts on {words[0]}", [], body, day)
        day += 1
    return root


def _write(path: Path, title: str, tags: list[str], body: str, day: int) -> None:
    tag_text = "[" + ", ".join(tags) + "]"
    path.write_text(
        f"---\ntitle: {title}\ndate: 2024-01-{day:02d}\ntags: {tag_text}\n"
        f"source: Fixture Notes\npost_kind: article\n---\n{body}\n",
        encoding="utf-8",
    )


GIT = ["git", "-c", "user.email=test@example.org", "-c", "user.name=Test",
       "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"]  # fmt: skip


def git(repo: Path, *args: str) -> str:
    return subprocess.run([*GIT, "-C", str(repo), *args], check=True,
                          capture_output=True, text=True).stdout  # fmt: skip


def trained_git_site(root: Path, *, untagged: int) -> Path:
    """A generated site committed to a new git repository, its tag model trained."""
    from searchkit.tagging.workflow import train

    make_site(root / "content", untagged=untagged)
    subprocess.run([*GIT, "init", "-q", str(root)], check=True)
    (root / ".gitignore").write_text("index/\n")
    git(root, "add", ".")
    git(root, "commit", "-qm", "site")
    train(root / "content", root / "index")
    return root
