"""`searchkit tags ...`: thin commands over `searchkit.tagging`.

Imports stay inside the commands so `searchkit query` never loads numpy
models, let alone scikit-learn.
"""

from __future__ import annotations

import json

import click

from searchkit.config import Config

from .main import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, cli
from .main import say as _say
from .options import json_option, quiet_option, site_options
from .progress import Bar


def _announce(cfg: Config) -> None:
    """Say which site configuration the posts are read with (if the site has one)."""
    if cfg.site.config_files:
        _say(cfg.site.describe())


@click.group()
def tags():
    """Suggest, apply, review and evaluate tags learned from your tagged posts.

    \b
    Example:
        searchkit tags suggest content/posts/new-post.md
    """


@tags.command()
@site_options
@quiet_option
def train(cfg: Config, quiet: bool):
    """Fit the tag model on the tagged, non-draft posts and store it in the index folder.

    \b
    Example:
        searchkit tags train --content content
    """
    from searchkit.tagging.workflow import train as train_site

    _announce(cfg)
    with Bar("training", enabled=not quiet) as bar:
        model = train_site(cfg.site, cfg.index, log=None if quiet else _say, progress=bar)
    m = model.meta
    click.echo(
        f"trained on {m['posts']} posts: {len(model.tags)} tags with >= {m['min_posts']} posts, "
        f"global threshold {model.threshold:.2f}, {m['train_seconds']} s"
    )


def _suggest_options(func):
    func = click.option("-n", "--limit", default=5, show_default=True,
                        type=click.IntRange(1), help="Suggestions per post.")(func)  # fmt: skip
    return click.option(
        "--threshold",
        type=click.FloatRange(0, 1),
        help="Minimum score (default: the threshold tuned at training for precision).",
    )(func)


@tags.command()
@site_options
@click.argument("paths", nargs=-1)
@_suggest_options
@click.option("--all", "show_all", is_flag=True, help="Also show tags the post has, marked.")
@json_option
def suggest(cfg: Config, paths, limit, threshold, show_all, as_json):
    """Suggest tags, with scores and reasons, for posts (default: every untagged post).

    PATHS are files, post ids (paths inside the content folder) or folders;
    - reads one post (front matter and body) from standard input, shown as
    "-" (for editors). Exit code 1 when an untagged post is listed (a
    finding, as in `tags review`), 0 when every listed post has tags or
    there is none to list.

    \b
    Example:
        searchkit tags suggest content/posts/new-post.md --json
        searchkit tags suggest - < draft.md
    """
    from searchkit.tagging.workflow import STDIN
    from searchkit.tagging.workflow import suggest as suggest_posts

    stdin = click.get_binary_stream("stdin").read() if STDIN in paths else None
    results = suggest_posts(
        cfg.site, cfg.index, paths, limit=limit, threshold=threshold,
        include_present=show_all, log=_say, stdin=stdin,
    )  # fmt: skip
    code = EXIT_FINDINGS if any(r.untagged for r in results) else EXIT_OK
    if as_json:
        click.echo(json.dumps([r.to_json() for r in results], ensure_ascii=False, indent=2))
        return code
    if not results:
        click.echo("no untagged posts")
    for r in results:
        click.echo(r.path)
        if not r.suggestions:
            click.echo("  (no suggestion above the threshold)")
        for s in r.suggestions:
            mark = "  (has it)" if s.present else ""
            click.echo(f"  {s.tag:<24} {s.score:.2f}  {'; '.join(s.reasons)}{mark}")
    return code


@tags.command()
@site_options
@click.argument("paths", nargs=-1)
@_suggest_options
@click.option(
    "--from",
    "from_file",
    type=click.File("r"),
    help="Apply these suggestions (JSON from 'tags suggest --json', edited).",
)
@click.option("--write", is_flag=True, help="Change the files (default: print the diff).")
def apply(cfg: Config, paths, limit, threshold, from_file, write):
    """Write suggested tags into the posts' front matter, changing only the tags entry.

    Without --write, prints the diff it would make. A post changed since its
    suggestions were computed is not overwritten (exit 2).

    \b
    Example:
        searchkit tags apply content/posts/new-post.md --write
    """
    from searchkit.tagging.apply import ApplyError, plan_change, write_change
    from searchkit.tagging.workflow import suggest as suggest_posts

    if from_file:
        try:
            items = json.load(from_file)
            plan = [(i["path"], i.get("fingerprint"), [s["tag"] for s in i["suggestions"]])
                    for i in items]  # fmt: skip
        except (ValueError, KeyError, TypeError) as exc:
            raise click.UsageError(f"--from: not a suggestions JSON list ({exc})") from None
    else:
        results = suggest_posts(cfg.site, cfg.index, paths, limit=limit,
                                threshold=threshold, log=_say)  # fmt: skip
        plan = [(r.path, r.fingerprint, [s.tag for s in r.suggestions]) for r in results]
    from searchkit.site.paths import PostPathError, resolve_post

    failed = 0
    for rel, fp, new_tags in plan:
        try:
            # A post id from the list: nothing outside the content folder
            # (``..``, an absolute path, a symlink leading out) is edited.
            path = resolve_post(str(rel), cfg.content)
            change = plan_change(path, cfg.site, new_tags)
            if change is None:
                continue
            if write:
                write_change(change, fp)
                click.echo(f"{rel}: added {', '.join(change.added)}")
            else:
                click.echo(change.diff(), nl=False)
        except (ApplyError, PostPathError, OSError) as exc:
            failed += 1
            _say(f"error: {exc}")
    return EXIT_ERROR if failed else EXIT_OK


@tags.command()
@site_options
@click.argument("paths", nargs=-1)
@click.option(
    "--base", help="Git ref to compare with (default: merge base with the default branch)."
)
@click.option("-o", "--output", type=click.File("w"), help="Also write the report to this file.")
def review(cfg: Config, paths, base, output):
    """Report untagged and under-tagged posts added or changed since a git ref (Markdown).

    A tag counts as missing when `tags suggest` would show it: it scores at or
    above the model's threshold (tuned at training). Exit code 1 when something
    was found, 0 when clean, 2 on errors.

    \b
    Example:
        searchkit tags review --base origin/main > tag-review.md
    """
    from searchkit.tagging.review import review as run_review

    report = run_review(cfg.site, cfg.index, paths=paths, base=base, log=_say)
    text = report.to_markdown()
    click.echo(text, nl=False)
    if output:
        output.write(text)
    return EXIT_FINDINGS if report.findings else EXIT_OK


@tags.command(name="eval")
@site_options
@click.option("--split", type=click.Choice(["time", "kfold", "both"]), default="both",
              show_default=True)  # fmt: skip
@click.option("--folds", default=5, show_default=True, type=click.IntRange(2))
@click.option("--hide", type=click.Choice(["source", "kind"]), multiple=True,
              help="Also score the test posts with this front-matter field emptied.")  # fmt: skip
@quiet_option
def eval_(cfg: Config, split, folds, hide, quiet):
    """Measure the model and text baselines on the site's tagged posts (Markdown tables).

    \b
    Example:
        searchkit tags eval --split time --hide source
    """
    from searchkit.site.posts import load_posts
    from searchkit.tagging.evaluate import evaluate, format_result

    _announce(cfg)
    posts = load_posts(cfg.site).posts
    for name in ("time", "kfold") if split == "both" else (split,):
        with Bar(f"{name} split", enabled=not quiet) as bar:
            result = evaluate(posts, split=name, folds=folds, hide=hide, log=None, progress=bar)
        click.echo(format_result(result))


@tags.command()
@site_options
@json_option
def report(cfg: Config, as_json):
    """Tag vocabulary: counts, tags used once, likely duplicates and inseparable pairs.

    \b
    Example:
        searchkit tags report
    """
    from searchkit.site.posts import load_posts
    from searchkit.tagging.vocabulary import vocabulary_report

    _announce(cfg)
    result = vocabulary_report(load_posts(cfg.site).posts)
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(result.to_markdown(), nl=False)


cli.add_command(tags)
