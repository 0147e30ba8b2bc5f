"""Writing accepted tags into a post's front matter with a minimal change.

Only the ``tags`` entry changes: the edit is made on the text, not by
re-serialising the front matter, so key order, quoting, comments, other
fields, the body and the line endings stay byte-for-byte the same. YAML
(block or flow lists), TOML and JSON front matter are supported. Every edit
is checked by parsing the result: the tags must be the old ones plus the new
ones and everything else must be unchanged, or the file is left alone.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from searchkit.atomic import remove_stale_temps, write_atomic
from searchkit.errors import SearchkitError
from searchkit.site.paths import post_id, repo_path
from searchkit.site.posts import fingerprint, parse_post
from searchkit.site.siteconfig import Site, open_site

STALE_TEMP_AGE = 3600.0  # seconds


class ApplyError(SearchkitError):
    """A post's tags cannot be edited safely; the file was not changed."""


@dataclass(frozen=True)
class Change:
    """A planned edit of one post: its bytes before and after."""

    path: Path
    post_id: str
    before: bytes
    after: bytes
    added: tuple[str, ...]

    def diff(self) -> str:
        """A unified diff that ``git apply`` accepts from the repository root."""
        old = self.before.decode("utf-8-sig").splitlines(keepends=True)
        new = self.after.decode("utf-8-sig").splitlines(keepends=True)
        name = repo_path(self.path)
        lines = difflib.unified_diff(old, new, f"a/{name}", f"b/{name}")
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


_YAML_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/+-]*$")
_YAML_SPECIAL = frozenset(["true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"])


def _yaml_key(key: str) -> re.Pattern:
    return re.compile(rf"^({re.escape(key)})[ \t]*:(.*)$", re.IGNORECASE)


def _toml_key(key: str) -> re.Pattern:
    return re.compile(rf"^({re.escape(key)})[ \t]*=[ \t]*(.*)$", re.IGNORECASE)


def plan_change(path: Path | str, root: Path | str | Site, new_tags: list[str]) -> Change | None:
    """The edit that adds ``new_tags`` to the post at ``path``; None if nothing to add.

    The tags go under the key the post's site reads them from (Hugo's
    taxonomy: ``tag:`` stays ``tag:``), the one the post already uses if
    the site reads several.
    """
    path = Path(path)
    site = open_site(root)
    raw = path.read_bytes()
    pid = post_id(path, site.content)
    post, problems = parse_post(raw, pid, site.rules)
    if post is None:
        raise ApplyError(f"{pid}: {problems[0].message if problems else 'unreadable'}")
    have = {t.casefold() for t in post.tags}
    add = [t for t in dict.fromkeys(new_tags) if t.casefold() not in have]
    if not add:
        return None
    keys = site.rules.tag_keys
    key = next((k for k in keys if post.fields.get(k) not in (None, "", [])), keys[0])
    after = add_tags(raw, add, key)
    _verify(raw, after, pid, post, add, site.rules, key)
    return Change(path, pid, raw, after, tuple(add))


def write_change(change: Change, expected_fingerprint: str | None = None) -> None:
    """Replace the file atomically, unless it changed since the change was planned."""
    current = change.path.read_bytes()
    if current != change.before or (
        expected_fingerprint is not None and fingerprint(current) != expected_fingerprint
    ):
        raise ApplyError(
            f"{change.post_id}: changed since the suggestion was computed; not overwritten"
        )
    # Through a symlink to its target: replacing the link itself would leave
    # the post it points to unchanged.
    target = change.path.resolve()
    # Temp files a killed earlier write of this post left behind (write_atomic
    # names them after the file); an hour old at least, so that a concurrent
    # run's write in progress is never taken away.
    remove_stale_temps(target.parent, target.name, min_age=STALE_TEMP_AGE)
    write_atomic(target, change.after, mode=target.stat().st_mode & 0o7777)


def add_tags(raw: bytes, tags: list[str], key: str = "tags") -> bytes:
    """``raw`` with ``tags`` appended to its front matter's list under ``key``."""
    bom = b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b""
    text = raw[len(bom) :].decode("utf-8")
    eol = "\r\n" if "\r\n" in text.split("\n", 1)[0] + "\n" else "\n"
    first = text.split("\n", 1)[0].rstrip("\r").strip()
    if first == "---":
        new = _edit_fenced(text, "---", eol, tags, lambda h, e, t: _edit_yaml(h, e, t, key))
    elif first == "+++":
        new = _edit_fenced(text, "+++", eol, tags, lambda h, e, t: _edit_toml(h, e, t, key))
    elif text.lstrip().startswith("{"):
        new = _edit_json(text, eol, tags, key)
    else:
        raise ApplyError("no front matter to edit")
    return bom + new.encode("utf-8")


def _edit_fenced(text: str, fence: str, eol: str, tags, edit) -> str:
    lines = text.split("\n")
    end = next(
        (i for i in range(1, len(lines)) if lines[i].rstrip("\r").rstrip() in (fence, "...")),
        None,
    )
    if end is None:
        raise ApplyError("front matter is never closed")
    head = "\n".join(lines[1:end])
    new_head = edit(head, eol, tags)
    return "\n".join([lines[0], new_head, *lines[end:]]) if head or new_head else text


def _quote_like(sample: str | None, tag: str, *, toml: bool = False) -> str:
    quote = sample[0] if sample and sample[0] in "\"'" else None
    if quote is None and not toml:
        plain = _YAML_PLAIN.match(tag) and tag.lower() not in _YAML_SPECIAL
        if plain and not re.fullmatch(r"[-+]?[0-9._]+([eE][-+]?[0-9]+)?", tag) and _plain_str(tag):
            return tag
        quote = '"'
    if quote == "'" and "'" not in tag and "\n" not in tag:
        return f"'{tag}'"
    return json.dumps(tag, ensure_ascii=False)


def _plain_str(tag: str) -> bool:
    """True if YAML reads ``tag`` unquoted as that very string (not 0b0, 1:20, a date)."""
    import yaml

    try:
        return yaml.safe_load(tag) == tag
    except yaml.YAMLError:
        return False


def _edit_yaml(head: str, eol: str, tags: list[str], key: str = "tags") -> str:
    lines = head.split("\n")
    cr = "\r" if eol == "\r\n" else ""
    key_re = _yaml_key(key)
    for i, line in enumerate(lines):
        m = key_re.match(line.rstrip("\r"))
        if not m:
            continue
        value = m.group(2).split(" #", 1)[0].strip()
        if value.startswith("["):
            return _insert_array(head, sum(len(x) + 1 for x in lines[:i]), tags, eol)
        if value in ("", "~", "null", "[]"):
            items = [j for j in range(i + 1, len(lines)) if re.match(r"^\s*- ", lines[j])]
            block = []
            for j in range(i + 1, len(lines)):
                s = lines[j].rstrip("\r")
                if re.match(r"^\s*- ", s) or (s.startswith((" ", "\t")) and s.strip()):
                    block.append(j)
                elif s.strip().startswith("#") or not s.strip():
                    continue
                else:
                    break
            items = [j for j in block if j in items]
            if value == "" and items:
                last = items[-1]
                prefix = re.match(r"^(\s*- )", lines[last]).group(1)
                sample = lines[last].rstrip("\r")[len(prefix) :].strip()
                new = [prefix + _quote_like(sample, t) + cr for t in tags]
                return "\n".join(lines[: last + 1] + new + lines[last + 1 :])
            flow = "[" + ", ".join(_quote_like(None, t) for t in tags) + "]"
            key_part = line[: line.index(":") + 1]
            lines[i] = f"{key_part} {flow}{cr}"
            return "\n".join(lines)
        # A scalar (one tag, or a comma-separated string): make it a flow list.
        old = [t.strip() for t in value.strip("\"'").split(",") if t.strip()]
        key_part = line[: line.index(":") + 1]
        items = [_quote_like(None, t) for t in old + tags]
        lines[i] = f"{key_part} [{', '.join(items)}]{cr}"
        return "\n".join(lines)
    flow = "[" + ", ".join(_quote_like(None, t) for t in tags) + "]"
    trailing = lines[-1] if lines and not lines[-1].strip() and len(lines) > 1 else None
    body = lines[:-1] if trailing is not None else lines
    return "\n".join([*body, f"{key}: {flow}{cr}", *([trailing] if trailing is not None else [])])


def _edit_toml(head: str, eol: str, tags: list[str], key: str = "tags") -> str:
    lines = head.split("\n")
    key_re = _toml_key(key)
    offset = 0
    for line in lines:
        if line.lstrip().startswith("["):  # a table: top-level keys are over
            break
        m = key_re.match(line.rstrip("\r"))
        if m and m.group(2).startswith("["):
            return _insert_array(head, offset, tags, eol, toml=True)
        offset += len(line) + 1
    cr = "\r" if eol == "\r\n" else ""
    entry = (
        f"{_toml_bare(key)} = ["
        + ", ".join(json.dumps(t, ensure_ascii=False) for t in tags)
        + "]"
        + cr
    )
    at = next((i for i, x in enumerate(lines) if x.lstrip().startswith("[")), len(lines))
    while at > 0 and not lines[at - 1].strip():
        at -= 1
    return "\n".join(lines[:at] + [entry] + lines[at:])


def _edit_json(text: str, eol: str, tags: list[str], key: str = "tags") -> str:
    start = text.index("{")
    m = re.compile(rf"{re.escape(json.dumps(key))}\s*:\s*\[", re.IGNORECASE)
    depth, i, in_str = 0, start, False
    while i < len(text):  # find "tags" at the top level of the object
        c = text[i]
        if in_str:
            if c == "\\":
                i += 2
                continue
            in_str = c != '"'
        elif c == '"':
            hit = m.match(text, i)
            if depth == 1 and hit:
                return _insert_array(text, i, tags, eol, toml=True)
            in_str = True
        elif c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
            if depth == 0:
                break
        i += 1
    first_key = re.compile(r"\{([ \t]*\r?\n?)([ \t]*)").match(text, start)
    nl, indent = first_key.group(1), first_key.group(2)
    entry = (
        json.dumps(key) + ": [" + ", ".join(json.dumps(t, ensure_ascii=False) for t in tags) + "],"
    )
    pos = first_key.end()
    return text[:pos] + entry + (nl or " ") + indent + text[pos:] if nl else (
        text[:pos] + entry + " " + text[pos:])  # fmt: skip


def _insert_array(text: str, key_at: int, tags, eol: str, *, toml: bool = False) -> str:
    """Add ``tags`` at the end of the array that opens after ``key_at``."""
    open_at = text.index("[", key_at)
    i, quote = open_at + 1, None
    items: list[str] = []
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
            items.append(text[i:])
        elif c == "]":
            break
        elif not c.isspace() and c != "," and (not items or text[i - 1] in ", \t\n\r["):
            items.append(text[i:])
        i += 1
    else:
        raise ApplyError("tags list is never closed")
    close = i
    inner = text[open_at + 1 : close]
    sample = items[0] if items else None
    new = [_quote_like(sample, t, toml=toml) for t in tags]
    if not inner.strip():
        return text[: open_at + 1] + ", ".join(new) + text[close:]
    last = open_at + 1 + len(inner.rstrip())
    if "\n" in inner:  # one item per line: add lines with the same indent
        indent = re.search(r"\n([ \t]*)\S[^\n]*$", text[:last]).group(1)
        trailing_comma = text[last - 1] == ","
        sep = eol + indent
        added = "".join(sep + t + "," for t in new) if trailing_comma else "".join(
            "," + sep + t for t in new)  # fmt: skip
        return text[:last] + added + text[last:]
    return text[:last] + "".join(", " + t for t in new) + text[last:]


def _toml_bare(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _verify(before: bytes, after: bytes, pid: str, post, added, rules, key: str) -> None:
    new, _ = parse_post(after, pid, rules)
    if new is None or new.tags != post.tags + added:
        raise ApplyError(f"{pid}: cannot add tags to this front matter safely; edit it by hand")
    old_fields = {k: v for k, v in post.fields.items() if k != key}
    new_fields = {k: v for k, v in new.fields.items() if k != key}
    if old_fields != new_fields or new.body != post.body:
        raise ApplyError(f"{pid}: adding tags would change other fields; edit it by hand")
