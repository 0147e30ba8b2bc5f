"""Settings from ``searchkit.toml`` and the command line.

Looked up in the current directory unless ``--config`` names a file; paths
in it are relative to the file's own directory. Command-line options win.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from searchkit.errors import ConfigError

CONFIG_NAME = "searchkit.toml"


@dataclass
class Config:
    content: Path = Path("content")
    index: Path = Path("index")
    # Export: how a post's URL is made when its front matter has no `url`.
    base_url: str = "/"
    permalink: str = "/:sections/:filename/"  # Hugo tokens; see searchkit/site/urls.py
    link_posts_use_external_url: bool = False


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
    if content is not None:
        cfg.content = Path(content)
    if index is not None:
        cfg.index = Path(index)
    return cfg


def _apply_file(cfg: Config, file: Path) -> None:
    import tomllib  # here, not at the top: most runs have no config file (7 ms)

    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{file}: {exc}") from None
    known = {f.name: f for f in fields(Config)}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in known:
            raise ConfigError(f"{file}: unknown setting {key!r} (known: {', '.join(known)})")
        default = getattr(Config(), name)
        if isinstance(default, Path):
            if not isinstance(value, str):
                raise ConfigError(f"{file}: {key} must be a path string")
            value = file.parent / value
        elif not isinstance(value, type(default)):
            raise ConfigError(f"{file}: {key} must be a {type(default).__name__}")
        setattr(cfg, name, value)
