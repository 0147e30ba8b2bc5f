"""A post's public URL: front matter `url`, a link post's `external_url`, or a permalink.

Permalink patterns follow Hugo's tokens (https://gohugo.io/content-management/urls/):
``:year :month :monthname :day :section :sections :slug :title :filename
:contentbasename``. The default, ``/:sections/:filename/``, is the URL Hugo
gives a post when no permalink is configured.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:  # not imported: the query path uses is_safe_url alone (posts: ~9 ms)
    from .posts import Post

SAFE_SCHEMES = ("http", "https")
_TOKEN = re.compile(
    r":(year|monthname|month|day|sections|section|slug|title|filename|contentbasename)"
)


def is_safe_url(url: str) -> bool:
    """True for http(s) URLs and scheme-less (relative) ones: never ``javascript:`` etc."""
    text = url.strip()
    if not text or any(ord(ch) < 32 or ch.isspace() for ch in text):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    if parts.scheme:
        return parts.scheme.lower() in SAFE_SCHEMES and bool(parts.netloc)
    # No scheme: refuse "//host" tricks with backslashes and anything with a colon
    # before the first slash (a scheme a browser may still honour).
    return "\\" not in text and ":" not in text.split("/", 1)[0]


def urlize(text: str) -> str:
    """Hugo's ``urlize`` in short: lower-case, spaces to '-', drop punctuation."""
    text = unicodedata.normalize("NFC", text).lower()
    text = re.sub(r"[^\w\s-]", "", text)
    return re.sub(r"[\s_-]+", "-", text).strip("-")


def post_url(post: Post, *, base_url: str = "/", permalink: str = "/:sections/:filename/",
             link_posts_use_external_url: bool = False,
             permalinks: Mapping[str, str] | None = None) -> str:  # fmt: skip
    """The URL a visitor follows for ``post`` ('' if none is safe).

    ``permalinks`` maps a section (the post's first folder) to its own
    pattern, as Hugo's ``permalinks`` does; other posts use ``permalink``.
    """
    if post.url:
        url = post.url if is_safe_url(post.url) else ""
        if url and not urlsplit(url).scheme and not url.startswith("/"):
            url = join_url(base_url, url)
        return url
    if link_posts_use_external_url and post.external_url:
        return post.external_url if is_safe_url(post.external_url) else ""
    if permalinks:
        section = post.id.split("/", 1)[0] if "/" in post.id else ""
        permalink = permalinks.get(section, permalink)
    return join_url(base_url, expand_permalink(permalink, post))


def expand_permalink(pattern: str, post: Post) -> str:
    """Fill Hugo permalink tokens from the post's path, date and front matter."""
    path = PurePosixPath(post.id)
    is_bundle = path.stem in ("index", "_index") and len(path.parts) > 1
    name = path.parent.name if is_bundle else path.stem
    dirs = path.parts[:-2] if is_bundle else path.parts[:-1]
    slug = post.fields.get("slug")
    values = {
        "section": dirs[0] if dirs else "",
        "sections": "/".join(dirs),
        "filename": name,
        "contentbasename": name,
        "slug": urlize(str(slug)) if slug else urlize(post.title) or name,
        "title": urlize(post.title) or name,
        "year": f"{post.date:%Y}" if post.date else "",
        "month": f"{post.date:%m}" if post.date else "",
        "monthname": f"{post.date:%B}".lower() if post.date else "",
        "day": f"{post.date:%d}" if post.date else "",
    }
    url = _TOKEN.sub(lambda m: quote(values[m.group(1)], safe="/"), pattern)
    return re.sub(r"/{2,}", "/", url)


def join_url(base: str, path: str) -> str:
    """``base`` + ``path`` with exactly one slash between them."""
    if not base:
        return path
    return base.rstrip("/") + "/" + path.lstrip("/")


def site_url_rule(cfg) -> functools.partial[str]:
    """`post_url` with the site's settings (a `searchkit.config.Config`), read
    once: the one rule the CLI and the export both follow (its ``keywords``
    hold the settings, e.g. ``base_url``)."""
    from .siteconfig import url_settings

    base_url, permalink, permalinks = url_settings(cfg)
    return functools.partial(
        post_url,
        base_url=base_url,
        permalink=permalink,
        permalinks=permalinks,
        link_posts_use_external_url=cfg.link_posts_use_external_url,
    )


@dataclass
class Link:
    """What a post's URL is made of (a `Post` has all of it): enough for `post_url`."""

    id: str
    title: str
    date: dt.datetime | None = None
    post_kind: str = ""
    url: str = ""
    external_url: str = ""
    fields: dict = field(default_factory=dict)

    @classmethod
    def stored(cls, path: str, title: str, post_kind: str, link: Mapping[str, str]) -> Link:
        """From what the index stores of a post: ``link`` holds its ``url``,
        ``external_url``, ``slug`` and ``local_date`` (ISO, with offset)."""
        day = link.get("local_date")
        return cls(
            id=path,
            title=title,
            date=dt.datetime.fromisoformat(day) if day else None,
            post_kind=post_kind,
            url=link.get("url") or "",
            external_url=link.get("external_url") or "",
            fields={"slug": link["slug"]} if link.get("slug") else {},
        )


def set_hit_urls(hits, cfg) -> None:
    """Give each search hit the URL the export gives its post (`site_url_rule`).

    Made from the fields the index stores for it (``hit.link``), not from the
    post file: the settings (base URL, permalinks) can change without a
    reindex, and reading the posts would cost a cold query its parsers.
    """
    url_of = site_url_rule(cfg)
    for hit in hits:
        hit.url = url_of(Link.stored(hit.path, hit.title, hit.post_kind, hit.link))
