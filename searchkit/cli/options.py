"""Options shared by several commands, declared once (as sqlite-utils shares its output options)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import click

from searchkit.config import load_config
from searchkit.site.siteconfig import configure_site


def site_options(func: Callable) -> Callable:
    """--content, --index and --config; the command receives ``cfg``."""

    @click.option(
        "--content",
        type=click.Path(file_okay=False, path_type=Path),
        help="Content folder (default: from searchkit.toml, else ./content).",
    )
    @click.option(
        "--index",
        "index_dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Index folder (default: from searchkit.toml, else ./index).",
    )
    @click.option(
        "--config",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Config file (default: ./searchkit.toml if present).",
    )
    @functools.wraps(func)
    def wrapper(*args, content, index_dir, config, **kwargs):
        cfg = load_config(config, content=content, index=index_dir)
        configure_site(cfg)  # the site's own Hugo or Jekyll configuration
        if not cfg.content.is_dir():
            raise click.UsageError(f"content folder not found: {cfg.content}")
        return func(*args, cfg=cfg, **kwargs)

    return wrapper


def json_option(func: Callable) -> Callable:
    """--json: print JSON instead of text (the formats are in the README)."""
    return click.option(
        "--json", "as_json", is_flag=True, help="Print JSON (format in the README)."
    )(func)


def quiet_option(func: Callable) -> Callable:
    """-q/--quiet: print errors only, no warnings or progress."""
    return click.option(
        "-q", "--quiet", is_flag=True, help="Print errors only: no warnings, no progress."
    )(func)
