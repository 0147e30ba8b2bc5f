"""Grow a corpus to N posts for scaling benchmarks: ``replicate(src, dest, n)``.

Posts are re-serialised from searchkit's own reading of them, with JSON
front matter (10x faster to write than YAML; drafts and unreadable files
are skipped). The first copy of each
post keeps its path and title; each further copy gets a distinct path
(``rNN/...``), a perturbed title (its words rotated, plus a copy marker)
and a date moved back a day per copy, so ids, titles and dates differ while
the text stays realistic.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from searchkit.content import Post, load_posts


def perturb_title(title: str, copy: int) -> str:
    words = title.split()
    if len(words) > 1:
        k = copy % len(words)
        words = words[k:] + words[:k]
    return " ".join(words) + f" (copy {copy})"


def _front_matter(post: Post, title: str, date: dt.datetime | None) -> str:
    meta = {
        "title": title,
        "date": date.isoformat() if date else None,
        "tags": post.tags,
        "source": post.source,
        "external_url": post.external_url,
        "post_kind": post.post_kind,
        "tldr": post.tldr,
        "summary": post.summary,
    }
    meta = {k: v for k, v in meta.items() if v not in (None, "", [])}
    return json.dumps(meta, ensure_ascii=False, indent=1)


def replicate(src: Path | str, dest: Path | str, n: int) -> int:
    """Write ``n`` posts into ``dest`` from the posts under ``src``; returns n."""
    posts = [p for p in load_posts(Path(src), drafts=False).posts]
    if not posts:
        raise SystemExit(f"no posts under {src}")
    dest = Path(dest)
    for i in range(n):
        post = posts[i % len(posts)]
        copy = i // len(posts)
        rel = Path(post.id) if copy == 0 else Path(f"r{copy:02d}") / post.id
        title = post.title if copy == 0 else perturb_title(post.title, copy)
        date = post.date - dt.timedelta(days=copy) if post.date else None
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = f"{_front_matter(post, title, date)}\n{post.body}\n"
        path.write_text(text, encoding="utf-8")
    return n
