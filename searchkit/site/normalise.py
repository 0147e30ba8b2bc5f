"""Front matter and body to a post's fields, the way the post's site reads them.

Which keys hold which field and which posts the site publishes come from the
site's `ReadRules` (Hugo's or Jekyll's configuration, searchkit.toml's
``[fields]``). Titles, summaries and bodies become text (`searchkit.site.text`).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .front_matter import kind_name
from .siteconfig import ReadRules

TRUE_STRINGS = frozenset({"true", "yes", "on", "1"})
FALSE_STRINGS = frozenset({"false", "no", "off", "0", ""})
_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff\u00ad]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Hugo's front-matter dates (gohugo.io/getting-started/configuration/#configure-front-matter).
PUBLISH_KEYS = ("publishdate", "pubdate", "published", "date")
EXPIRY_KEYS = ("expirydate", "unpublishdate")


def post_fields(
    meta: dict,
    body: str,
    pid: str,
    warnings: list[str],
    rules: ReadRules | None = None,
    fmt: str = "markdown",
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The keyword arguments of a `Post` for this front matter and body.

    ``fmt`` is the body's format ("markdown" or "html"); ``now`` is when
    publishing dates are judged (the current time if None).
    """
    rules = rules or _default_rules()
    # Here, not at the top: the freshness check of a query imports this module
    # in its child process and never reads a post.
    from .text import html_text, inline_text, markdown_text

    meta = {str(k).strip().lower(): v for k, v in meta.items()}
    keys = rules.keys
    # Liquid only in Jekyll sites: elsewhere `{{ ... }}` is as likely a Helm or
    # Go template quoted in a post (the sample posts have some) as markup.
    hugo, liquid = rules.generator != "jekyll", rules.generator == "jekyll"
    title = _title(meta, keys["title"], pid, warnings)
    date = _date(_value(meta, keys["date"])[1], warnings)
    draft = _bool(_value(meta, keys["draft"])[1], "draft", warnings) and not rules.build_drafts
    if not draft:
        draft = _unpublished(meta, date, rules, now, warnings)
    raw_body = _strip(body, hugo=hugo, liquid=liquid)
    return dict(
        id=pid,
        title=inline_text(title, hugo=hugo, liquid=liquid),
        date=date,
        tags=_tags(meta, rules, warnings),
        source=_text(meta, keys["source"], warnings),
        post_kind=_text(meta, keys["post_kind"], warnings),
        draft=draft,
        url=_text(meta, keys["url"], warnings),
        external_url=_text(meta, keys["external_url"], warnings),
        tldr=_prose(_text(meta, keys["tldr"], warnings), hugo, liquid),
        summary=_prose(_text(meta, keys["summary"], warnings), hugo, liquid),
        body=html_text(raw_body) if fmt == "html" else markdown_text(raw_body),
        fields=meta,
    )


@functools.cache
def _default_rules() -> ReadRules:
    # Made on first use, not at import: ReadRules() reads searchkit.schema (Whoosh).
    return ReadRules()


def _prose(text: str, hugo: bool, liquid: bool) -> str:
    from .text import excerpt_text

    return excerpt_text(text, hugo=hugo, liquid=liquid) if text else ""


def _strip(text: str, hugo: bool, liquid: bool) -> str:
    from .text import strip_templates

    return strip_templates(text, hugo=hugo, liquid=liquid)


def _value(meta: dict, keys: tuple[str, ...]) -> tuple[str, Any]:
    """The first of ``keys`` that has a value in ``meta``, and that value."""
    for key in keys:
        value = meta.get(key)
        if value is not None and value != "" and value != []:
            return key, value
    return keys[0], None


def _tags(meta: dict, rules: ReadRules, warnings: list[str]) -> list[str]:
    key, value = _value(meta, rules.tag_keys)
    if rules.split_tag_words and isinstance(value, str):
        value = value.split()  # Jekyll: `tags: a b` is two tags
    return normalise_tags(value, warnings, key)


def _unpublished(
    meta: dict, date: dt.datetime | None, rules: ReadRules, now: dt.datetime | None,
    warnings: list[str],
) -> bool:  # fmt: skip
    """True if the site would not publish the post (Hugo's rules; Jekyll's `published`)."""
    if meta.get("published") is False or _bool(meta.get("headless"), "headless", warnings):
        return True
    build = meta.get("_build", meta.get("build"))
    if isinstance(build, dict):
        listed = {str(k).lower(): v for k, v in build.items()}.get("list")
        if listed is False or str(listed).lower() == "never":
            return True
    now = now or dt.datetime.now(dt.UTC)
    if not rules.build_future:
        key, value = _value(meta, PUBLISH_KEYS[:3])
        when = parse_date(value) if value is not None and value is not True else date
        if when is not None and when > now:
            return True
    if not rules.build_expired:
        key, value = _value(meta, EXPIRY_KEYS)
        when = parse_date(value)
        if value is not None and when is None:
            warnings.append(f"{key} {value!r} is not a date; ignored")
        if when is not None and when <= now:
            return True
    return False


def _title(meta: dict, keys: tuple[str, ...], pid: str, warnings: list[str]) -> str:
    if _value(meta, keys)[1] is None:
        stem = Path(pid).parent.name if Path(pid).stem == "index" else Path(pid).stem
        fallback = stem.replace("-", " ").replace("_", " ").strip() or pid
        warnings.append(f"no title; using the file name {fallback!r}")
        return fallback
    return _text(meta, keys, warnings)


def _text(meta: dict, keys: tuple[str, ...], warnings: list[str]) -> str:
    name, value = _value(meta, keys)
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, (int, float, dt.date)):
        text = str(value)
    else:
        parts = list(_strings(value))
        warnings.append(f"{name} is a {kind_name(value)}, not text; its strings were joined")
        text = " ".join(parts)
    return _CONTROL.sub(" ", text).strip()


def _strings(value: Any, depth: int = 0) -> Iterator[str]:
    if depth > 20:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v, depth + 1)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v, depth + 1)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield str(value)


def normalise_tags(value: Any, warnings: list[str], key: str = "tags") -> list[str]:
    """A flat list of trimmed tag strings, as written, without duplicates.

    A comma-separated string is split; numbers become strings; anything else
    (null, nested lists, mappings, empty strings) is dropped with a warning.
    """
    if value is None:
        return []
    if isinstance(value, str):
        items: Iterable[Any] = value.split(",")
        if "," in value:
            warnings.append(f"{key} is one comma-separated string; split into a list")
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        warnings.append(f"{key} must be a list of strings, not a {kind_name(value)}; ignored")
        return []
    tags: list[str] = []
    dropped: list[str] = []
    seen: set[str] = set()
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            dropped.append("null" if item is None else kind_name(item))
            continue
        tag = " ".join(_INVISIBLE.sub("", _CONTROL.sub(" ", str(item))).split())
        if not tag:
            if isinstance(value, str):
                continue  # "a, b," has a trailing empty part; not worth a warning
            dropped.append("empty string")
            continue
        if tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
    if dropped:
        warnings.append(f"{key}: dropped {', '.join(dropped)} (tags must be strings)")
    return tags


def _bool(value: Any, name: str, warnings: list[str]) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, (int, float)):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in TRUE_STRINGS:
            return True
        if lowered in FALSE_STRINGS:
            return False
    warnings.append(f"{name} should be true or false, got {value!r}; using false")
    return False


_JEKYLL_DATE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*([+-]\d{2}:?\d{2}|Z)?$"
)


def parse_date(value: Any) -> dt.datetime | None:
    """A timezone-aware datetime (UTC when none is given), or None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, dt.date):
        when = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, float)):
        try:
            return dt.datetime.fromtimestamp(value, dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(value, str):
        text = value.strip()
        try:
            when = dt.datetime.fromisoformat(text)
        except ValueError:
            m = _JEKYLL_DATE.match(text)
            if not m:
                return None
            try:
                hour, rest = m[2].split(":", 1)
                when = dt.datetime.fromisoformat(f"{m[1]}T{hour.zfill(2)}:{rest}{m[3] or ''}")
            except ValueError:
                return None
    else:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when


def _date(value: Any, warnings: list[str]) -> dt.datetime | None:
    if value in (None, ""):
        return None
    when = parse_date(value)
    if when is None:
        warnings.append(f"date {value!r} is not a date; the post has no date")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        warnings.append(f"date {value!r} is a number; read as Unix time {when:%Y-%m-%d}")
    return when
