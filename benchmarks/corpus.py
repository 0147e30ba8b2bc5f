"""Replicate a corpus of posts to any size, for benchmarks.

Benchmarks take a corpus folder as an argument (the data lives outside the
repository) and call `replicate` to write N posts into a temporary folder:
the corpus's own posts first, then copies with distinct ids and perturbed
titles, so that every post is a different document with a different title.

Only the post folders are used (by default ``docs/`` and ``releases/`` of the
linkblog corpus); provenance notes such as ``SOURCE.md`` are not posts.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora" / "linkblog"
POST_FOLDERS = ("docs", "releases")
# A few words mixed into copied titles, so copies are not exact duplicates.
TITLE_WORDS = (
    "revisited", "update", "notes", "again", "follow-up", "recap", "digest",
    "roundup", "deep dive", "in practice", "explained", "field report",
)  # fmt: skip

_TITLE_LINE = re.compile(r"^title\s*:", re.MULTILINE)


@dataclass(frozen=True)
class Source:
    """One post of the corpus: its path relative to the corpus and its text."""

    rel: str
    text: str


def corpus_missing(corpus: Path, folders: Sequence[str] = POST_FOLDERS) -> str:
    """Why ``corpus`` cannot be used ('' when it can)."""
    if not Path(corpus).is_dir():
        return f"corpus folder not found: {corpus}"
    if not any((Path(corpus) / f).is_dir() for f in folders):
        return f"{corpus} has none of the post folders {', '.join(folders)}"
    return ""


def read_sources(corpus: Path, folders: Sequence[str] = POST_FOLDERS) -> list[Source]:
    """The corpus's posts in a stable order (Markdown files of the post folders)."""
    out: list[Source] = []
    for folder in folders:
        base = Path(corpus) / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.suffix.lower() in (".md", ".markdown") and path.is_file():
                if path.name.startswith(("_index.", ".")):
                    continue
                rel = path.relative_to(corpus).as_posix()
                out.append(Source(rel, path.read_text(encoding="utf-8", errors="replace")))
    return out


def perturb_title(text: str, copy: int, rng: random.Random) -> str:
    """``text`` with its YAML ``title:`` replaced by the old title plus a few words.

    The title block is the ``title:`` line and its indented continuation
    lines; the new value is written as a double-quoted YAML scalar (JSON
    string syntax is valid YAML). Files without a YAML title are returned as is.
    """
    if not text.startswith("---"):
        return text
    end = text.find("\n---", 3)
    m = _TITLE_LINE.search(text, 0, end if end > 0 else len(text))
    if m is None:
        return text
    start = m.start()
    stop = text.find("\n", start)
    while stop != -1 and stop + 1 < len(text) and text[stop + 1] in " \t":
        stop = text.find("\n", stop + 1)
    if stop == -1:
        stop = len(text)
    old = _yaml_title(text[m.end() : stop])
    words = rng.sample(TITLE_WORDS, 2)
    new = f"{old} ({words[0]} {copy}, {words[1]})"
    return text[:start] + "title: " + json.dumps(new, ensure_ascii=False) + text[stop:]


def _yaml_title(raw: str) -> str:
    """A best-effort reading of a YAML scalar without a YAML parser (for speed)."""
    value = " ".join(line.strip() for line in raw.splitlines()).strip()
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            return json.loads(value)
        except ValueError:
            return value[1:-1]
    return value


def copy_name(rel: str, copy: int) -> str:
    """The id of copy number ``copy`` of ``rel`` (copy 0 is the original)."""
    if copy == 0:
        return rel
    stem, dot, ext = rel.rpartition(".")
    return f"{stem}-r{copy}.{ext}" if dot else f"{rel}-r{copy}"


def replicate(
    corpus: Path,
    dest: Path,
    n: int,
    *,
    folders: Sequence[str] = POST_FOLDERS,
    seed: int = 1,
    sources: list[Source] | None = None,
) -> list[str]:
    """Write ``n`` posts made from ``corpus`` under ``dest``; return their ids.

    With ``n`` at most the corpus size the first ``n`` posts are copied as
    they are; beyond it, copy k of every post gets the id ``<name>-r<k>.md``
    and a title with a few words added. Mtimes are set to one fixed time so a
    re-run is repeatable.
    """
    sources = sources if sources is not None else read_sources(corpus, folders)
    if not sources:
        raise ValueError(f"no posts in {corpus}")
    rng = random.Random(seed)
    ids: list[str] = []
    made_dirs: set[Path] = set()
    for i in range(n):
        copy, src = divmod(i, len(sources))
        source = sources[src]
        rel = copy_name(source.rel, copy)
        text = source.text if copy == 0 else perturb_title(source.text, copy, rng)
        path = Path(dest, rel)
        if path.parent not in made_dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            made_dirs.add(path.parent)
        path.write_text(text, encoding="utf-8")
        os.utime(path, ns=(1_700_000_000 * 10**9, 1_700_000_000 * 10**9))
        ids.append(rel)
    return ids
