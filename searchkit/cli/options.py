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


# Output formats for scripts, in the order --help lists them.
FORMATS = {
    "json": "Print JSON (format in the README).",
    "jsonl": "Print one JSON object a hit, a line each.",
    "csv": "Print CSV with a header row (rank, score, path, url, title, date, tags, "
    "source, kind, snippet).",
    "tsv": "Print the same columns separated by tabs.",
    "paths": "Print each hit's file, one a line (for xargs).",
}


def json_option(func: Callable) -> Callable:
    """--json: print JSON instead of text (the formats are in the README)."""
    return click.option("--json", "as_json", is_flag=True, help=FORMATS["json"])(func)


def quiet_option(func: Callable) -> Callable:
    """-q/--quiet: print errors only, no warnings or progress."""
    return click.option(
        "-q", "--quiet", is_flag=True, help="Print errors only: no warnings, no progress."
    )(func)


def output_options(func: Callable) -> Callable:
    """--json, --jsonl, --csv, --tsv, --paths (one at most) and --offset, for commands listing hits.

    The command receives ``output`` (``"text"`` or a format name) and ``offset``.
    """

    @functools.wraps(func)
    def wrapper(*args, offset, **kwargs):
        chosen = [name for name in FORMATS if kwargs.pop(f"as_{name}")]
        if len(chosen) > 1:
            flags = " and ".join(f"--{name}" for name in chosen)
            raise click.UsageError(f"{flags} cannot be combined: choose one output format")
        return func(*args, output=chosen[0] if chosen else "text", offset=offset, **kwargs)

    wrapper = click.option(
        "--offset",
        default=0,
        show_default=True,
        type=click.IntRange(0),
        help="Skip this many hits first (paging: --offset 10 -n 10 shows hits 11-20).",
    )(wrapper)
    for name, text in reversed(FORMATS.items()):
        wrapper = click.option(f"--{name}", f"as_{name}", is_flag=True, help=text)(wrapper)
    return wrapper
