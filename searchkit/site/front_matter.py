"""Splitting a post into front matter and body, and loading the front matter safely.

python-frontmatter does the splitting; the checks here catch what it lets
through silently (an unterminated block, a front matter that is a list or a
scalar) and what a plain YAML load would suffer (alias bombs, duplicate keys).
"""

from __future__ import annotations

import json
import re
from typing import Any

from searchkit.errors import ContentError

# The largest number of YAML nodes a front matter may expand to through
# aliases; real front matter has a few hundred at most, an alias bomb millions.
MAX_YAML_NODES = 100_000


def split_front_matter(text: str, warnings: list[str]) -> tuple[dict, str]:
    """Split a post into its front-matter mapping and its body.

    Uses python-frontmatter's handlers, but checks what they let through
    silently: an unterminated block, a front matter that is not a mapping.
    """
    stripped = text.lstrip("\ufeff")
    first = stripped.split("\n", 1)[0].rstrip("\r").strip()
    if first == "---":
        handler, fmt = _yaml_handler(warnings), "YAML"
    elif first == "+++":
        handler, fmt = _toml_handler(), "TOML"
    elif stripped.lstrip().startswith("{"):
        return _split_json(stripped)
    else:
        raise ContentError(
            "no front matter: the file must start with '---' (YAML), '+++' (TOML) or a JSON object"
        )
    if not handler.FM_BOUNDARY.match(stripped) or not _has_closing(stripped, first):
        raise ContentError(f"{fmt} front matter opened with '{first}' on line 1 is never closed")
    try:
        fm, body = handler.split(stripped)
        meta = handler.load(fm)
    except ContentError:
        raise
    except RecursionError:
        raise ContentError(f"{fmt} front matter is nested too deeply") from None
    except Exception as exc:  # YAML/TOML libraries raise many types
        raise ContentError(f"invalid {fmt} front matter: {_one_line(exc)}") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ContentError(
            f"{fmt} front matter must be a mapping of keys to values, not a {kind_name(meta)}"
        )
    return meta, body


def _has_closing(text: str, fence: str) -> bool:
    lines = text.split("\n")
    return any(line.rstrip("\r").rstrip() == fence for line in lines[1:])


def _split_json(text: str) -> tuple[dict, str]:
    try:
        meta, end = json.JSONDecoder().raw_decode(text.lstrip())
    except json.JSONDecodeError as exc:
        raise ContentError(f"invalid JSON front matter: {exc.msg} (line {exc.lineno})") from None
    except RecursionError:
        raise ContentError("JSON front matter is nested too deeply") from None
    if not isinstance(meta, dict):
        raise ContentError("JSON front matter must be an object")
    return meta, text.lstrip()[end:].lstrip("\r\n")


def _one_line(exc: Exception) -> str:
    msg = " ".join(str(exc).split())
    return msg[:300] or type(exc).__name__


def kind_name(value: Any) -> str:
    """A word for the type of a YAML, TOML or JSON value, for messages."""
    return {list: "list", str: "string", int: "number", float: "number"}.get(
        type(value), type(value).__name__
    )


def _yaml_handler(warnings: list[str]):
    """python-frontmatter's YAML handler with a loader that guards its input."""
    import yaml
    from frontmatter.default_handlers import YAMLHandler

    class Handler(YAMLHandler):
        def load(self, fm: str, **kwargs: object) -> Any:
            loader = _guarded_loader_class()(fm)
            loader.searchkit_warnings = warnings
            try:
                return loader.get_single_data()
            except yaml.MarkedYAMLError as exc:
                mark = exc.problem_mark
                # +2: the opening '---' is line 1 of the file
                where = f" at line {mark.line + 2}, column {mark.column + 1}" if mark else ""
                raise ContentError(f"invalid YAML front matter{where}: {exc.problem}") from None
            finally:
                loader.dispose()

    return Handler()


def _toml_handler():
    """A TOML handler on the standard library's tomllib (python-frontmatter's needs `toml`)."""
    import tomllib

    from frontmatter.default_handlers import BaseHandler

    class Handler(BaseHandler):
        FM_BOUNDARY = re.compile(r"^\+{3,}\s*$", re.MULTILINE)

        def load(self, fm: str, **kwargs: object) -> Any:
            try:
                return tomllib.loads(fm)
            except tomllib.TOMLDecodeError as exc:
                raise ContentError(f"invalid TOML front matter: {exc}") from None

    return Handler()


_LOADER = None


def _guarded_loader_class():
    """A safe YAML loader that warns on duplicate keys and refuses alias bombs."""
    global _LOADER
    if _LOADER is not None:
        return _LOADER
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class GuardedLoader(base):  # type: ignore[misc, valid-type]
        searchkit_warnings: list[str]

        def get_single_data(self):
            node = self.get_single_node()
            if node is None:
                return None
            _check_expansion(node)
            return self.construct_document(node)

        def construct_mapping(self, node, deep=False):
            if isinstance(node, yaml.MappingNode):
                seen: set = set()
                for key_node, _ in node.value:
                    key = getattr(key_node, "value", None)
                    if isinstance(key, str):
                        if key in seen:
                            self.searchkit_warnings.append(
                                f"duplicate key {key!r} in front matter; the last value is used"
                            )
                        seen.add(key)
            return super().construct_mapping(node, deep=deep)

    _LOADER = GuardedLoader
    return _LOADER


def _check_expansion(root) -> None:
    """Count the nodes a YAML graph expands to, without expanding it."""
    sizes: dict[int, int] = {}

    def size(node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        sizes[key] = 1  # cycles count once
        total = 1
        if isinstance(node.value, list):
            for item in node.value:
                if isinstance(item, tuple):
                    total += size(item[0]) + size(item[1])
                else:
                    total += size(item)
                if total > MAX_YAML_NODES:
                    break
        sizes[key] = total
        return total

    if size(root) > MAX_YAML_NODES:
        raise ContentError(
            "YAML front matter expands to too many values through aliases "
            f"(over {MAX_YAML_NODES:,}); refusing it (a 'billion laughs' pattern?)"
        )
