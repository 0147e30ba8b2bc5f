"""The `searchkit` command: a thin layer over the library.

Each command parses its options, calls one library function and prints the
result. Library errors become one-line messages here, in one place, with the
exit codes: 0 success, 1 findings (e.g. no hits), 2 usage or input errors.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import sys
from pathlib import Path

import click

from . import __version__
from .config import Config, load_config
from .errors import SearchkitError

EXIT_FINDINGS = 1
EXIT_ERROR = 2


class Group(click.Group):
    """Turns library errors into a one-line message and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SearchkitError as exc:
            click.echo(f"searchkit: error: {exc}", err=True)
            ctx.exit(EXIT_ERROR)
        except KeyboardInterrupt:
            click.echo("searchkit: interrupted", err=True)
            ctx.exit(130)


def site_options(func):
    """--content, --index and --config, shared by every command."""

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
        if not cfg.content.is_dir():
            raise click.UsageError(f"content folder not found: {cfg.content}")
        return func(*args, cfg=cfg, **kwargs)

    return wrapper


class Root(Group):
    """The top-level group; command groups in ``LAZY`` load only when used."""

    # Keeps `searchkit query` from importing the tag commands' module (and its
    # option definitions) on every start.
    LAZY = {"tags": "searchkit.cli_tags"}

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def get_command(self, ctx, name):
        if name in self.LAZY and name not in self.commands:
            importlib.import_module(self.LAZY[name])  # adds the group to `cli`
        return super().get_command(ctx, name)


@click.group(cls=Root, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="searchkit")
def cli():
    """Search, tag and export a static site's Markdown posts.

    \b
    Example:
        searchkit query gitops
    """


def print_problems(problems, *, quiet: bool = False) -> None:
    for p in problems:
        if quiet and p.severity != "error":
            continue
        click.echo(str(p), err=True)


def _progress(total: int):
    """A progress bar on stderr for long runs on a terminal, else nothing."""
    if total < 200 or not sys.stderr.isatty():
        return None
    return click.progressbar(length=total, file=sys.stderr, label="indexing")


def run_update(
    cfg: Config, *, rebuild: bool = False, show_progress: bool = True, wait: float = 30.0
):
    from .indexer import update_index

    bar = None

    def on_start(total: int) -> None:
        nonlocal bar
        bar = _progress(total) if show_progress else None
        if bar:
            bar.__enter__()

    try:
        report = update_index(
            cfg.content,
            cfg.index,
            rebuild=rebuild,
            wait=wait,
            on_start=on_start,
            progress=lambda n: bar.update(n) if bar else None,
        )
    finally:
        if bar:
            bar.__exit__(None, None, None)
    if report.rebuilt and report.rebuilt != "--rebuild":
        click.echo(f"searchkit: rebuilding the index: {report.rebuilt}", err=True)
    return report


@cli.command()
@site_options
@click.option("--rebuild", is_flag=True, help="Start over instead of updating.")
@click.option("--strict", is_flag=True, help="Exit with code 2 if any post has an error.")
@click.option("-q", "--quiet", is_flag=True, help="Print errors only, not warnings.")
@click.option(
    "--wait",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds to wait for another run updating the same index.",
)
def index(cfg: Config, rebuild: bool, strict: bool, quiet: bool, wait: float):
    """Build or update the search index from the content folder.

    Only new, changed and removed posts are touched; a killed run leaves the
    previous index intact.

    \b
    Example:
        searchkit index --content content
    """
    report = run_update(cfg, rebuild=rebuild, wait=wait)
    print_problems(report.problems, quiet=quiet)
    click.echo(report.summary())
    if strict and report.errors:
        sys.exit(EXIT_ERROR)


def _color() -> bool | None:
    return False if os.environ.get("NO_COLOR") else None


@cli.command()
@site_options
@click.argument("words", nargs=-1)
@click.option("-n", "--limit", default=10, show_default=True, type=click.IntRange(1))
@click.option("--tag", "tags", multiple=True, help="Only posts with this tag (repeatable).")
@click.option("--source", help="Only posts from this source.")
@click.option("--kind", help="Only posts of this kind (link, release, article...).")
@click.option("--since", help="Only posts on or after this date (YYYY[-MM[-DD]]).")
@click.option("--until", help="Only posts on or before this date (YYYY[-MM[-DD]]).")
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (schema in the README).")
@click.option("--drafts", is_flag=True, help="Include draft posts.")
@click.option("--facets", is_flag=True, help="Also count tags and sources over all matches.")
@click.option(
    "--fuzzy-fallback/--no-fuzzy-fallback",
    default=True,
    show_default=True,
    help="When nothing matches, show the results of the spelling-corrected query.",
)
@click.option("--plain", is_flag=True, help="Read the words literally: no operators or fields.")
def query(
    cfg: Config, words, limit, tags, source, kind, since, until, sort, as_json, drafts,
    facets, fuzzy_fallback, plain,
):  # fmt: skip
    """Rank posts for a query, with highlighted snippets.

    Query syntax: words, "exact phrases", AND / OR / NOT, -word, (groups),
    title:word, tag:NAME, kind:NAME, source:"NAME", date:2025-01..2025-06,
    date:>2025-03-01, prefix*, fuzzy~ or fuzzy~2 (README, "Query language").
    Brings the index up to date first if the content changed. Exit code 1
    when nothing matches.

    \b
    Example:
        searchkit query gitops --tag kubernetes -n 5
        searchkit query 'kind:release flux date:2025' --facets
    """
    from .store import check_in_background

    fresh = check_in_background(cfg.content, cfg.index)  # before Whoosh loads
    from .search import search_fresh

    result = search_fresh(
        cfg.index, " ".join(words), fresh=fresh, refresh=lambda: _refresh_index(cfg),
        limit=limit, tags=tags, source=source, kind=kind, since=since, until=until,
        sort=sort, drafts=drafts, facets=facets, fuzzy_fallback=fuzzy_fallback,
        syntax=not plain,
    )  # fmt: skip
    _print_result(result, as_json)


@cli.command()
@site_options
@click.argument("path")
@click.option("-n", "--limit", default=5, show_default=True, type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True, help="Print JSON (same shape as query).")
@click.option("--drafts", is_flag=True, help="Include draft posts.")
def related(cfg: Config, path: str, limit: int, as_json: bool, drafts: bool):
    """List the posts most like the post at PATH (for "related posts").

    PATH is the post's file or its id (its path inside the content folder).
    Exit code 1 when no post is related.

    \b
    Example:
        searchkit related content/links/flux-oci-artifacts-gitops-without-git.md
    """
    from .related import resolve_post_id
    from .search import open_searcher

    _refresh_index(cfg)
    with open_searcher(cfg.index) as searcher:
        result = searcher.related(resolve_post_id(path, cfg.content), limit=limit, drafts=drafts)
    _print_result(result, as_json)


_MAIN = False  # set by main(): this process is the command, not a test runner


def _exit_now_if_main(code: int) -> None:
    """Leave at once, without tearing the interpreter down, if this is the command.

    Freeing the ~250 modules and objects of a query took 30 ms of a cold
    query's ~250 here. Output is flushed first; nothing else is pending (the
    index is closed, no atexit work). In tests (CliRunner) it does nothing.
    """
    if not _MAIN:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # e.g. `searchkit query ... | head -1`
        code = code or 1
    os._exit(code)


def _refresh_index(cfg: Config) -> None:
    """Update the index first if the content changed."""
    from .indexer import stale_reason  # with the content reader: only when needed

    reason = stale_reason(cfg.content, cfg.index)
    if reason:
        click.echo(f"searchkit: updating the index ({reason})", err=True)
        report = run_update(cfg)
        if report.errors:
            click.echo(
                f"searchkit: {len(report.errors)} post(s) could not be read; "
                "'searchkit index' lists them",
                err=True,
            )


def _print_result(result, as_json: bool) -> None:
    """Print hits; exit 1 if there are none (then, or after the output, at once)."""
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        from .render import render_result

        click.echo(render_result(result), color=_color())
    code = 0 if result.hits else EXIT_FINDINGS
    _exit_now_if_main(code)
    if code:
        sys.exit(code)


@cli.command()
@site_options
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("search"),
    show_default=True,
    help="Folder to write (created if needed).",
)
@click.option("--demo", is_flag=True, help="Also write index.html, a ready-made search page.")
@click.option("--base-url", help="Prefix of post URLs (default: from searchkit.toml, else /).")
def export(cfg: Config, out: Path, demo: bool, base_url: str | None):
    """Write the client-side search index (JSON + JavaScript) for static hosting.

    Brings the index up to date first; draft posts are left out. Serve the
    folder with your site and load it with searchkit.js (see
    docs/export-format.md).

    \b
    Example:
        searchkit export --out public/search --demo
    """
    from .export import export_site

    _refresh_index(cfg)
    if base_url is not None:
        cfg.base_url = base_url
    click.echo(export_site(cfg, out, demo=demo).summary())


def main() -> None:
    global _MAIN
    _MAIN = True
    cli(prog_name="searchkit")
