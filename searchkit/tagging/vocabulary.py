"""The tag vocabulary report (`searchkit tags report`): counts and likely duplicates."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

from .features import name_key

# Two tags "almost always co-occur" when each is on at least this share of
# the other's posts (and they share at least COOC_MIN_POSTS posts).
COOC_SHARE = 0.9
COOC_MIN_POSTS = 3


@dataclass
class VocabularyReport:
    """Tag counts, tags used once, and groups of tags that look like one tag."""

    counts: Counter[str]
    posts: int
    untagged: int
    variants: list[tuple[str, ...]] = field(default_factory=list)
    cooccurring: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def used_once(self) -> list[str]:
        return sorted(t for t, n in self.counts.items() if n == 1)

    def to_json(self) -> dict:
        return {
            "posts": self.posts,
            "untagged": self.untagged,
            "tags": dict(self.counts.most_common()),
            "used_once": self.used_once,
            "variants": [list(g) for g in self.variants],
            "cooccurring": [{"tags": [a, b], "posts": n} for a, b, n in self.cooccurring],
        }

    def to_markdown(self, top: int = 40) -> str:
        lines = [
            f"## Tag vocabulary: {len(self.counts)} tags on {self.posts} posts "
            f"({self.untagged} untagged)",
            "",
            "| tag | posts |",
            "|---|---:|",
        ]
        lines += [f"| {t} | {n} |" for t, n in self.counts.most_common(top)]
        if len(self.counts) > top:
            lines.append(f"| ({len(self.counts) - top} more) | |")
        once = self.used_once
        lines += ["", f"**Used once ({len(once)}):** " + (", ".join(once) or "none")]
        lines += ["", "**Likely duplicates (case, punctuation, plural, hyphen):**"]
        lines += [
            "- " + " / ".join(f"`{t}` ({self.counts[t]})" for t in g) for g in self.variants
        ] or ["- none"]
        lines += ["", f"**Almost always together (>= {COOC_SHARE:.0%} both ways):**"]
        lines += [f"- `{a}` + `{b}` ({n} posts)" for a, b, n in self.cooccurring] or ["- none"]
        return "\n".join(lines) + "\n"


def variant_key(tag: str) -> str:
    """Tags with the same key are spelling variants: ``CI/CD``, ``ci-cd``, ``CICD``."""
    key = name_key(tag)
    if len(key) > 4 and key.endswith("ies"):
        return key[:-3] + "y"
    if len(key) > 3 and key.endswith("es") and key[-3] in "sxz":
        return key[:-2]
    if len(key) > 3 and key.endswith("s") and not key.endswith("ss"):
        return key[:-1]
    return key


def vocabulary_report(posts: Sequence) -> VocabularyReport:
    """Count tags as written (drafts included: their tags are part of the vocabulary)."""
    counts: Counter[str] = Counter(t for p in posts for t in p.tags)
    groups: dict[str, list[str]] = {}
    for t in sorted(counts, key=lambda t: (-counts[t], t)):
        groups.setdefault(variant_key(t), []).append(t)
    variants = sorted((tuple(g) for g in groups.values() if len(g) > 1), key=lambda g: g[0])
    by_tag: dict[str, set[int]] = {}
    for i, p in enumerate(posts):
        for t in p.tags:
            by_tag.setdefault(t, set()).add(i)
    frequent = [t for t, n in counts.items() if n >= COOC_MIN_POSTS]
    pairs = []
    for a, b in combinations(sorted(frequent), 2):
        both = len(by_tag[a] & by_tag[b])
        if both >= COOC_MIN_POSTS and both >= COOC_SHARE * max(counts[a], counts[b]):
            pairs.append((a, b, both))
    pairs.sort(key=lambda x: -x[2])
    return VocabularyReport(counts, len(posts), sum(not p.tags for p in posts), variants, pairs)
