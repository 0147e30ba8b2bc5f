"""Settings from ``searchkit.toml`` and the command line.

Looked up in the current directory unless ``--config`` names a file; paths
in it are relative to the file's own directory. Command-line options win.
What the site's own Hugo or Jekyll configuration says is added by
`searchkit.site.siteconfig.configure_site`, under whatever is set here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from searchkit.errors import ConfigError

CONFIG_NAME = "searchkit.toml"


@dataclass
class Config:
    content: Path = Path("content")
    index: Path = Path("index")
    # Export: how a post's URL is made when its front matter has no `url`.
    base_url: str = "/"
    permalink: str = "/:sections/:filename/"  # Hugo tokens; see searchkit/site/urls.py
    # Per-section patterns (Hugo's `permalinks`); a section not named uses `permalink`.
    permalinks: dict = field(default_factory=dict)
    link_posts_use_external_url: bool = False
    # Export: display rows each title word's shard carries (its best posts with
    # the word in the title). Fewer: a smaller export, more second requests.
    export_rows_per_word: int = 50
    # searchkit field -> front-matter key(s), e.g. {"summary": ["summary", "abstract"]}.
    fields: dict = field(default_factory=dict)
    # Not settings: where the site is and which settings were given (file or options).
    root: Path = field(default=Path("."), metadata={"internal": True})
    given: set = field(default_factory=set, metadata={"internal": True})
    site: Any = field(default=None, metadata={"internal": True})


def load_config(
    path: Path | str | None = None,
    *,
    content: Path | str | None = None,
    index: Path | str | None = None,
) -> Config:
    """Read the config file (if any) and apply command-line overrides."""
    cfg = Config()
    file = Path(path) if path else Path(CONFIG_NAME)
    if path and not file.is_file():
        raise ConfigError(f"config file not found: {file}")
    if file.is_file():
        _apply_file(cfg, file)
        cfg.root = file.parent
    if content is not None:
        cfg.content = Path(content)
        cfg.given.add("content")
    if index is not None:
        cfg.index = Path(index)
        cfg.given.add("index")
    return cfg


def _apply_file(cfg: Config, file: Path) -> None:
    import tomllib  # here, not at the top: most runs have no config file (7 ms)

    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{file}: {exc}") from None
    known = {f.name: f for f in fields(Config) if not f.metadata.get("internal")}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in known:
            raise ConfigError(f"{file}: unknown setting {key!r} (known: {', '.join(known)})")
        default = getattr(Config(), name)
        if isinstance(default, Path):
            if not isinstance(value, str):
                raise ConfigError(f"{file}: {key} must be a path string")
            value = file.parent / value
        elif name == "fields":
            value = _fields(file, value)
        elif name == "permalinks":
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise ConfigError(f"{file}: [permalinks] maps section names to patterns")
        elif not isinstance(value, type(default)) or isinstance(value, bool) != isinstance(
            default, bool
        ):
            kind = {bool: "true or false", int: "a whole number"}.get(type(default), "a string")
            raise ConfigError(f"{file}: {key} must be {kind}")
        elif isinstance(value, int) and not isinstance(value, bool) and value < 0:
            raise ConfigError(f"{file}: {key} must not be negative")
        setattr(cfg, name, value)
        cfg.given.add(name)


def _fields(file: Path, value: Any) -> dict[str, list[str]]:
    """``[fields]``: each searchkit field to a front-matter key or a list of them."""
    if not isinstance(value, dict):
        raise ConfigError(f'{file}: [fields] must be a table, e.g. summary = ["abstract"]')
    out = {}
    for name, keys in value.items():
        keys = [keys] if isinstance(keys, str) else keys
        if (
            not isinstance(keys, list)
            or not keys
            or not all(isinstance(k, str) and k.strip() for k in keys)
        ):
            raise ConfigError(f"{file}: [fields] {name} must be a key or a list of keys")
        out[name] = keys
    return out
