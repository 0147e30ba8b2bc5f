"""The `searchkit` command: a thin layer over the library.

Each command parses its options, calls one library function, prints the
result and returns its exit code. Errors become one-line messages in one
place, `Root.invoke`: 0 success, 1 findings (e.g. no hits), 2 usage or input
errors (library errors, unreadable input, unwritable output), 130 Ctrl-C.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import click

from searchkit import __version__
from searchkit.config import Config
from searchkit.errors import SearchkitError

from .options import output_options, quiet_option, site_options
from .progress import Bar, IndexProgress

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


def say(msg: str) -> None:
    """A line for the person at the terminal, on stderr."""
    click.echo(f"searchkit: {msg}", err=True)


class Root(click.Group):
    """The top-level group: the one map from errors and results to exit codes.

    A command returns its exit code (None is 0); nested groups pass it up.
    Command groups in ``LAZY`` load only when used, which keeps
    `searchkit query` from importing the tag commands on every start.
    """

    LAZY = {"tags": "searchkit.cli.tags"}

    def invoke(self, ctx: click.Context):
        try:
            code = super().invoke(ctx)
        except SearchkitError as exc:
            say(f"error: {exc}")
            code = EXIT_ERROR
        except BrokenPipeError:  # `searchkit query ... | head -1`: the reader left
            _silence_stdout()
            code = EXIT_FINDINGS
        except OSError as exc:  # unwritable output, full disk, busy port, ...
            say(f"error: {_os_message(exc)}")
            code = EXIT_ERROR
        except KeyboardInterrupt:
            say("interrupted")
            code = EXIT_INTERRUPTED
        ctx.exit(code or EXIT_OK)

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def get_command(self, ctx, name):
        if name in self.LAZY and name not in self.commands:
            importlib.import_module(self.LAZY[name])  # adds the group to `cli`
        return super().get_command(ctx, name)


def _os_message(exc: OSError) -> str:
    where = f": {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"


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


def refresh_index(cfg: Config, *, quiet: bool = False) -> None:
    """Update the index first if the content changed, saying so on stderr."""
    from searchkit.indexing import refresh

    progress = IndexProgress(not quiet)
    try:
        refresh(cfg.site, cfg.index, log=say, **progress.options())
    finally:
        progress.close()


@cli.command()
@site_options
@click.option("--rebuild", is_flag=True, help="Start over instead of updating.")
@click.option("--strict", is_flag=True, help="Exit with code 2 if any post has an error.")
@quiet_option
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
    from searchkit.indexing import update_index

    progress = IndexProgress(not quiet)
    try:
        report = update_index(cfg.site, cfg.index, rebuild=rebuild, wait=wait, **progress.options())
    finally:
        progress.close()
    if report.site and not quiet:
        say(report.site)
    if report.rebuilt and report.rebuilt != "--rebuild":
        say(f"rebuilding the index: {report.rebuilt}")
    print_problems(report.problems, quiet=quiet)
    click.echo(report.summary())
    return EXIT_ERROR if strict and report.errors else EXIT_OK


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
@output_options
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
    cfg: Config, words, limit, tags, source, kind, since, until, sort, output, offset, drafts,
    facets, fuzzy_fallback, plain,
):  # fmt: skip
    """Rank posts for a query, with highlighted snippets.

    Query syntax: words, "exact phrases", AND / OR / NOT, -word, (groups),
    title:word, tag:NAME, kind:NAME, source:"NAME", date:2025-01..2025-06,
    date:>2025-03-01, prefix*, fuzzy~ or fuzzy~2 (README, "Query language").
    Brings the index up to date first if the content changed. Exit code 1
    when no hit is printed (nothing matches, or --offset is past the end).

    \b
    Example:
        searchkit query gitops --tag kubernetes -n 5
        searchkit query 'kind:release flux date:2025' --facets
        searchkit query gitops --csv -n 100 > gitops.csv
        searchkit query gitops --paths | xargs -d '\\n' grep -l flux
    """
    from searchkit.search.fresh import search_site

    progress = IndexProgress()
    try:
        result = search_site(
            cfg.site, cfg.index, " ".join(words), log=say,
            update_options=progress.options(), limit=limit, offset=offset, tags=tags, source=source,
            kind=kind, since=since, until=until, sort=sort, drafts=drafts, facets=facets,
            fuzzy_fallback=fuzzy_fallback, syntax=not plain,
        )  # fmt: skip
    finally:
        progress.close()
    return _print_result(result, output, cfg)


@cli.command()
@site_options
@click.argument("path")
@click.option("-n", "--limit", default=5, show_default=True, type=click.IntRange(1))
@output_options
@click.option("--drafts", is_flag=True, help="Include draft posts.")
def related(cfg: Config, path: str, limit: int, output: str, offset: int, drafts: bool):
    """List the posts most like the post at PATH (for "related posts").

    PATH is the post's file or its id (its path inside the content folder).
    Exit code 1 when no post is related.

    \b
    Example:
        searchkit related content/links/flux-oci-artifacts-gitops-without-git.md
        searchkit related links/flux-oci-artifacts-gitops-without-git.md --jsonl
    """
    from searchkit.search import open_searcher
    from searchkit.site import post_id, resolve_post

    refresh_index(cfg)
    pid = post_id(resolve_post(path, cfg.content, must_exist=False), cfg.content)
    with open_searcher(cfg.index) as searcher:
        result = searcher.related(pid, limit=limit, offset=offset, drafts=drafts)
    return _print_result(result, output, cfg)


def _print_result(result, output: str, cfg: Config) -> int:
    """Print hits as text or in a format for scripts; exit code 1 if there are none."""
    global _FAST_EXIT
    from searchkit.site.urls import set_hit_urls

    set_hit_urls(result.hits, cfg)  # the export's URLs, from one rule
    if output == "text":
        from .render import render_result

        click.echo(render_result(result), color=_color())
    else:
        from .render import render_for_scripts

        click.echo(render_for_scripts(result, output, cfg.content), nl=False)
    _FAST_EXIT = True
    return EXIT_OK if result.hits else EXIT_FINDINGS


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
@quiet_option
def export(cfg: Config, out: Path, demo: bool, base_url: str | None, quiet: bool):
    """Write the client-side search index (JSON + JavaScript) for static hosting.

    Brings the index up to date first; draft posts are left out. Serve the
    folder with your site and load it with searchkit.js (see
    docs/export-format.md).

    \b
    Example:
        searchkit export --out public/search --demo
    """
    from searchkit.export import export_site

    refresh_index(cfg, quiet=quiet)
    if base_url is not None:
        cfg.base_url = base_url
        cfg.given.add("base_url")
    with Bar("exporting", enabled=not quiet) as bar:
        report = export_site(cfg, out, demo=demo, progress=bar)
    click.echo(report.summary())


@cli.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--bind", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface).")  # fmt: skip
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")  # fmt: skip
def serve(directory: Path, bind: str, port: int):
    """Preview an export (or a built site) on a local web server, gzip copies included.

    Stop it with Ctrl-C.

    \b
    Example:
        searchkit export --out public/search --demo && searchkit serve public
    """
    from searchkit.export.webserve import make_server, server_url

    server = make_server(directory, port, bind)
    try:
        say(f"serving {directory} at {server_url(server)} (Ctrl-C to stop)")
        server.serve_forever()
    except KeyboardInterrupt:  # the usual way to stop it: not an error
        say("stopped")
    finally:
        server.server_close()
    return EXIT_OK


# Set by commands that only read and print (query, related): freeing the ~250
# modules and objects of a query took 30 ms of a cold query's ~250, so those
# leave without tearing the interpreter down once their output is flushed.
_FAST_EXIT = False


def main() -> None:
    """The console script: run the command, flush its output, exit with its code."""
    try:
        cli.main(prog_name="searchkit")
        code = EXIT_OK
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else 1)
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. `searchkit query ... | head -1`: the reader left
        _silence_stdout()
    except OSError as exc:  # e.g. a full disk
        _silence_stdout()
        say(f"error: cannot write the output: {_os_message(exc)}")
        code = EXIT_ERROR
    if _FAST_EXIT:
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's own last flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
