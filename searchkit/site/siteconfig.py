"""A site's own configuration (Hugo's or Jekyll's), read for what matters to search.

A content folder that sits in a Hugo site (``hugo.toml|yaml|json``,
``config.toml|yaml|yml|json`` or ``config/_default/`` beside it) or a Jekyll
site (``_config.yml``) is read the way that site is built: tags from the
site's taxonomy, the summary from the keys the site uses, Hugo's publishing
rules, its ``baseURL`` and ``permalinks``. A bare folder reads as before.
`Site` carries all of it and stands for the content folder (it is path-like),
so library calls that take a content folder take a `Site` too.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from searchkit.errors import ConfigError

HUGO_FILES = (
    "hugo.toml", "hugo.yaml", "hugo.yml", "hugo.json",
    "config.toml", "config.yaml", "config.yml", "config.json",
)  # fmt: skip
JEKYLL_FILES = ("_config.yml", "_config.yaml")
# Hugo's taxonomies when a site declares none (gohugo.io/content-management/taxonomies).
HUGO_DEFAULT_TAXONOMIES = {"tag": "tags", "category": "categories"}


@dataclass
class ReadRules:
    """How front matter becomes a post: which keys hold each field, what is published.

    ``keys`` maps a searchkit field to the front-matter keys it is read from
    (lower case; the first one with a value wins). Posts the site would not
    publish are read as drafts (``--drafts`` includes them).
    """

    keys: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(_front_matter_keys()))
    generator: str = ""  # "hugo", "jekyll" or "" (a bare content folder)
    build_drafts: bool = False
    build_future: bool = True  # a bare folder keeps posts dated in the future
    build_expired: bool = False
    split_tag_words: bool = False  # Jekyll: `tags: a b` is two tags

    @property
    def tag_keys(self) -> tuple[str, ...]:
        return self.keys["tags"]


@dataclass
class Site:
    """A content folder and how its site reads it (path-like: the content folder).

    The configuration files are found when the `Site` is made but parsed
    only when something needs them (a query on a fresh index never does:
    parsing YAML alone costs ~15 ms); `key` reads their bytes, not their sense.
    """

    content: Path
    generator: str = ""  # "hugo", "jekyll" or ""
    config_files: tuple[Path, ...] = ()
    fields: dict[str, list[str] | str] = field(default_factory=dict)  # searchkit.toml [fields]

    def __fspath__(self) -> str:
        return os.fspath(self.content)

    @cached_property
    def settings(self) -> SiteSettings:
        """The site's settings, parsed on first use."""
        out = SiteSettings()
        data = _read_config(list(self.config_files)) if self.config_files else {}
        if self.generator == "hugo":
            _apply_hugo(out, data)
        elif self.generator == "jekyll":
            _apply_jekyll(out, data)
        if self.fields:
            _apply_fields(out, self.fields)
        return out

    @property
    def rules(self) -> ReadRules:
        return self.settings.rules

    def rules_key(self) -> str:
        """A text that changes when the rules read posts differently (parses the files)."""
        r = self.rules
        return json.dumps(
            [sorted(r.keys.items()), r.generator, r.build_drafts, r.build_future,
             r.build_expired, r.split_tag_words],
        )  # fmt: skip

    def config_digest(self) -> str:
        """A digest of the configuration files and settings, without parsing them."""
        try:  # hashlib.blake2b itself, without hashlib loading OpenSSL (4 ms a query)
            from _blake2 import blake2b
        except ImportError:
            from hashlib import blake2b

        h = blake2b(digest_size=12)
        h.update(json.dumps([self.generator, self.fields]).encode())
        for f in self.config_files:
            h.update(str(f).encode() + b"\0")
            with contextlib.suppress(OSError):  # a vanished file: the digest changes anyway
                h.update(f.read_bytes())
        return h.hexdigest()

    def describe(self) -> str:
        """One line saying which configuration is used, for stderr."""
        if not self.config_files:
            where = "no Hugo or Jekyll configuration"
        else:
            files = ", ".join(str(f) for f in self.config_files)
            where = f"the {self.generator.capitalize()} configuration {files}"
        s = self.settings
        keys = "/".join(s.rules.tag_keys)
        lang = f", language {s.language}" if s.language else ""
        return f"reading {self.content} with {where} (tags from '{keys}'{s.tag_source}{lang})"


@dataclass
class SiteSettings:
    """What the site's configuration says, as searchkit uses it."""

    rules: ReadRules = field(default_factory=ReadRules)
    base_url: str | None = None
    permalinks: dict[str, str] = field(default_factory=dict)
    language: str = ""
    tag_source: str = ""  # where the tag key came from, for `describe`


def open_site(content: Path | str | Site) -> Site:
    """The `Site` for ``content``: itself if it is one, else discovered beside it."""
    if isinstance(content, Site):
        return content
    return discover_site(Path(content))


def discover_site(
    content: Path,
    *,
    root: Path | None = None,
    fields: Mapping[str, list[str] | str] | None = None,
) -> Site:
    """The site ``content`` belongs to, with its Hugo or Jekyll configuration files.

    ``root`` is the site folder if known (else the content folder's parent,
    then for Jekyll the content folder itself); ``fields`` are searchkit.toml's
    ``[fields]``, which win over what the site says.
    """
    content = Path(content)
    site = Site(content, fields=dict(fields or {}))
    found = _find_config(content, root)
    if found is not None:
        site.generator, files = found
        site.config_files = tuple(files)
    elif content.name == "_posts" or (content / "_posts").is_dir():
        site.generator = "jekyll"  # a Jekyll posts folder without its _config.yml
    if fields:
        _apply_fields(SiteSettings(), fields)  # report bad [fields] now, not at first use
    return site


def find_content_dir(root: Path) -> Path | None:
    """The content folder a Hugo site at ``root`` names (``contentDir``), if it names one."""
    found = _find_config(None, root)
    if found is None or found[0] != "hugo":
        return None
    # Parsing YAML costs ~15 ms on every query; skip it when the key is absent.
    if not any("contentdir" in f.read_text(encoding="utf-8", errors="replace").lower()
               for f in found[1]):  # fmt: skip
        return None
    value = _read_config(found[1]).get("contentdir")
    return root / value if isinstance(value, str) and value else None


def _find_config(content: Path | None, root: Path | None) -> tuple[str, list[Path]] | None:
    folders = [root] if root is not None else [content.parent, content]
    for folder in folders:
        for name in HUGO_FILES:
            if (folder / name).is_file():
                return "hugo", [folder / name]
        default = folder / "config" / "_default"
        if default.is_dir():
            files = sorted(
                p for p in default.iterdir()
                if p.suffix in (".toml", ".yaml", ".yml", ".json") and p.is_file()
            )  # fmt: skip
            if files:
                return "hugo", files
        for name in JEKYLL_FILES:
            if (folder / name).is_file():
                return "jekyll", [folder / name]
    return None


def _read_config(files: list[Path]) -> dict[str, Any]:
    """The merged settings of ``files``, keys lower-cased (Hugo's are case-insensitive).

    In ``config/_default/`` a file named after a key (``params.toml``,
    ``taxonomies.yaml``) holds that key's value.
    """
    merged: dict[str, Any] = {}
    for file in files:
        data = _load(file)
        if file.parent.name == "_default" and file.stem not in ("hugo", "config"):
            data = {file.stem: data}
        merged.update(_lower_keys(data))
    return merged


def _load(file: Path) -> dict:
    try:
        text = file.read_text(encoding="utf-8-sig")
        if file.suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        elif file.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except Exception as exc:  # OSError, UnicodeDecodeError and each parser's own errors
        msg = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise ConfigError(f"{file}: cannot read the site configuration: {msg}") from None
    return data if isinstance(data, dict) else {}


def _lower_keys(value: Any, depth: int = 0) -> Any:
    if isinstance(value, dict) and depth < 20:
        return {str(k).lower(): _lower_keys(v, depth + 1) for k, v in value.items()}
    return value


def _bool(data: dict, key: str, default: bool) -> bool:
    value = data.get(key, default)
    return value if isinstance(value, bool) else default


def _apply_hugo(site: SiteSettings, data: dict) -> None:
    rules = site.rules
    rules.generator = "hugo"
    rules.build_drafts = _bool(data, "builddrafts", False)
    rules.build_future = _bool(data, "buildfuture", False)
    rules.build_expired = _bool(data, "buildexpired", False)
    taxonomies = data.get("taxonomies")
    if not isinstance(taxonomies, dict):
        taxonomies = HUGO_DEFAULT_TAXONOMIES
    key = tags_taxonomy(taxonomies)
    if key:
        rules.keys["tags"] = (key,)
        site.tag_source = f": the site's taxonomy '{key}'"
    if isinstance(data.get("baseurl"), str):
        site.base_url = data["baseurl"]
    site.permalinks = _permalinks(data.get("permalinks"))
    lang = data.get("defaultcontentlanguage")
    site.language = lang if isinstance(lang, str) else ""


def tags_taxonomy(taxonomies: Mapping[str, Any]) -> str:
    """The front-matter key of the taxonomy searchkit reads as tags ('' if none fits).

    Hugo maps a singular name to the plural that posts use as their key. The
    site's ``tags`` taxonomy if it has one, else its ``tag`` one.
    """
    plural = {str(k).lower(): str(v).lower() for k, v in taxonomies.items() if v}
    for wanted in ("tags", "tag"):
        if wanted in plural.values():
            return wanted
        if wanted in plural:
            return plural[wanted]
    return ""


def _permalinks(value: Any) -> dict[str, str]:
    """Hugo ``permalinks``: section -> pattern (the newer ``page:`` table included)."""
    if not isinstance(value, dict):
        return {}
    if isinstance(value.get("page"), dict):
        value = value["page"]
    return {str(k): v for k, v in value.items() if isinstance(v, str)}


def _apply_jekyll(site: SiteSettings, data: dict) -> None:
    rules = site.rules
    rules.generator = "jekyll"
    rules.build_future = _bool(data, "future", False)
    rules.build_drafts = _bool(data, "show_drafts", False)
    rules.build_expired = True  # Jekyll has no expiry date
    rules.split_tag_words = True
    # Jekyll reads `tag`, else `tags` (Utils.pluralized_array_from_hash).
    rules.keys["tags"] = ("tag", "tags")
    url, base = data.get("url"), data.get("baseurl")
    if isinstance(url, str) or isinstance(base, str):
        site.base_url = (url if isinstance(url, str) else "").rstrip("/") + "/" + (
            base.strip("/") + "/" if isinstance(base, str) and base.strip("/") else "")  # fmt: skip


def _front_matter_keys() -> dict[str, tuple[str, ...]]:
    # Imported here: `searchkit.schema` loads Whoosh, which a query imports
    # only after forking its freshness check (see searchkit.search.fresh).
    from searchkit.schema import FRONT_MATTER_KEYS

    return FRONT_MATTER_KEYS


def _apply_fields(site: SiteSettings, fields: Mapping[str, list[str] | str]) -> None:
    for name, keys in fields.items():
        if name not in _front_matter_keys():
            known = ", ".join(_front_matter_keys())
            raise ConfigError(f"[fields]: unknown field {name!r} (known: {known})")
        if isinstance(keys, str):
            keys = [keys]
        if not keys or not all(isinstance(k, str) and k.strip() for k in keys):
            raise ConfigError(f"[fields] {name} must be a key or a list of front-matter keys")
        site.rules.keys[name] = tuple(k.strip().lower() for k in keys)
        if name == "tags":
            site.tag_source = ": searchkit.toml"


def configure_site(cfg: Any) -> Site:
    """Find the site of a `searchkit.config.Config` and set ``cfg.site`` (and content).

    Only what searchkit.toml and the options leave unset comes from the site:
    its ``contentDir`` when no content folder is given.
    """
    root = None
    if "content" not in cfg.given:
        found = find_content_dir(cfg.root)
        if found is not None:
            cfg.content, root = found, cfg.root
    cfg.site = discover_site(cfg.content, root=root, fields=cfg.fields)
    return cfg.site


def url_settings(cfg: Any) -> tuple[str, str, dict[str, str]]:
    """(base URL, permalink, per-section permalinks): searchkit.toml's, else the site's."""
    site = cfg.site if isinstance(cfg.site, Site) else open_site(cfg.content)
    s = site.settings
    base = cfg.base_url if "base_url" in cfg.given or s.base_url is None else s.base_url
    permalinks = cfg.permalinks if "permalinks" in cfg.given else s.permalinks
    return base, cfg.permalink, permalinks
