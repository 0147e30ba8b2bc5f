"""Soak test: kill -9 during indexing, concurrent use, and query fuzzing on a real site.

    python benchmarks/soak.py [CORPUS_DIR] --posts 1638 --kills 50 --soak 120 --fuzz 10000

Builds a site of ``--posts`` posts from the corpus (`benchmarks/corpus.py`)
in a temporary folder, then runs three parts and prints, for each, the
counts of trials, errors, tracebacks and mismatches (all should be zero):

1. ``--kills`` trials: a full (``--rebuild``) or incremental ``searchkit
   index`` process (after a few posts were edited, added or deleted) is
   killed with SIGKILL at a random moment. Then the index must answer
   through the Python API as it is, the next ``searchkit index`` must
   succeed, and (every ``--compare-every`` trials and at the end) the top
   10 of a fixed query set, scores included, must equal a clean rebuild's.
2. ``--soak`` seconds of concurrency: two indexer loops, an editor, CLI
   queries and one long-lived Python API searcher opened at the start and
   searching until the end; then the index must equal a rebuild.
3. ``--fuzz`` random queries (syntax fragments, unicode, control
   characters), through the API (with random options) and a share through
   the CLI (``--cli-share``). A `QueryError` (API) or exit code 2 with a
   one-line message (CLI) is an answer; anything else is an error.

Skips (exit 0) when the corpus folder is absent. Exit code 1 if any count
of errors, tracebacks or mismatches is not zero.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import DEFAULT_CORPUS, corpus_missing, read_sources, replicate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
QUERIES = ["kubernetes", "helm chart", "gitops", "security", "release notes", "argo*",
           "gitpos~2", "title:flux", "kubernetes -docker", '"service mesh"']  # fmt: skip
FRAGMENTS = ['"', "(", ")", "*", "~", "~2", "~9", ":", "-", "+", "AND", "OR", "NOT", "ANDNOT",
             "title:", "tag:", "kind:", "source:", "date:", "date:2025", "date:>2025-01",
             "date:..", "url:", "body:", "[", "]", "{", "}", "^", "\\", "/", "'", "&", "|",
             "kubernetes", "helm", "gitops", "flux", "release", "k8s", "x", "café", "naïve",
             "日本語", "🚀", "\u200b", "\u202e", "\x00", "\x07", "\t", "\n", "\r", "%00",
             "a*", "*e*", "**", "?", "é*", "ß~", "İ"]  # fmt: skip


@dataclass
class Counts:
    """What one part of the soak found."""

    trials: int = 0
    errors: int = 0
    tracebacks: int = 0
    mismatches: int = 0
    notes: list[str] = field(default_factory=list)

    def note(self, kind: str, text: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.notes) < 10:
            self.notes.append(f"{kind}: {text[:300]}")

    def line(self, name: str) -> str:
        return (f"{name:<12} trials {self.trials:6d}  errors {self.errors}  "
                f"tracebacks {self.tracebacks}  mismatches {self.mismatches}")  # fmt: skip


def cli(site: Path, *args: str, index: str = "index") -> list[str]:
    return [sys.executable, "-m", "searchkit", *args, "--content", str(site / "content"),
            "--index", str(site / index)]  # fmt: skip


ENV = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")


def run(argv: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(argv, env=ENV, capture_output=True, text=True, timeout=timeout)


def check_run(r: subprocess.CompletedProcess, counts: Counts, what: str, ok=(0,)) -> None:
    if "Traceback" in r.stderr:
        counts.note("tracebacks", f"{what}: {r.stderr}")
    elif r.returncode not in ok:
        counts.note("errors", f"{what}: exit {r.returncode}: {r.stderr}")


def top10(index: Path) -> dict:
    from searchkit.search import open_searcher

    with open_searcher(index) as s:
        return {q: [(h.path, h.score) for h in s.search(q).hits] for q in QUERIES}


def compare_with_rebuild(site: Path, counts: Counts, what: str) -> None:
    shutil.rmtree(site / "reference", ignore_errors=True)
    check_run(run(cli(site, "index", "-q", index="reference")), counts, "reference build")
    try:
        if top10(site / "index") != top10(site / "reference"):
            counts.note("mismatches", f"{what}: the top 10 differs from a rebuild's")
    except Exception as exc:
        counts.note("errors", f"{what}: {type(exc).__name__}: {exc}")


def edit(site: Path, rng: random.Random, n: int) -> None:
    """Change ``n`` random posts: append a line, delete one, or bring one back."""
    posts = sorted((site / "content").rglob("*.md"))
    trash = site / "trash"
    trash.mkdir(exist_ok=True)
    for _ in range(n):
        roll = rng.random()
        gone = sorted(trash.glob("*.md"))
        if roll < 0.1 and gone:
            g = rng.choice(gone)
            g.rename(site / "content" / "docs" / g.name)
        elif roll < 0.2 and posts:
            p = rng.choice(posts)
            if p.exists():
                p.rename(trash / f"{rng.randrange(10**9)}-{p.name}")
        elif posts:
            p = rng.choice(posts)
            if p.exists():
                with open(p, "a", encoding="utf-8") as fh:
                    fh.write(f"\nsoak edit {rng.randrange(10**6)} {rng.choice(QUERIES)}\n")


def kill_trials(site: Path, n: int, every: int, rng: random.Random, full_s: float) -> Counts:
    """``n`` runs killed at a random moment (runs that finished first do not count)."""
    from searchkit.search import open_searcher

    c = Counts()
    durations = {"full": full_s, "incremental": 0.6}  # adapted to runs that finish
    attempt = 0
    while c.trials < n and attempt < 4 * n:
        attempt += 1
        kind = rng.choice(["full", "incremental"])
        if kind == "incremental":
            edit(site, rng, rng.randint(1, 40))
        args = ["index", "-q"] + (["--rebuild"] if kind == "full" else [])
        t0 = time.perf_counter()
        proc = subprocess.Popen(cli(site, *args), env=ENV, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
        time.sleep(rng.uniform(0.05, durations[kind]))
        killed = proc.poll() is None
        if killed:
            os.kill(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
        if not killed:
            durations[kind] = max(0.2, 0.9 * (time.perf_counter() - t0))
            if "Traceback" in err or proc.returncode:
                c.note("errors", f"attempt {attempt} ({kind}, not killed): {err}")
            continue
        c.trials += 1
        try:  # the index as the kill left it must answer
            with open_searcher(site / "index") as s:
                s.search(rng.choice(QUERIES))
        except Exception as exc:
            c.note("errors", f"kill {c.trials} ({kind}): search after the kill: {exc!r}")
        check_run(run(cli(site, "index", "-q")), c, f"kill {c.trials}: index after the kill")
        if c.trials % every == 0 or c.trials == n:
            compare_with_rebuild(site, c, f"kill {c.trials}")
    return c


def soak(site: Path, seconds: float, rng: random.Random) -> Counts:
    from searchkit.search import open_searcher

    c = Counts()
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def note(kind, text):
        with lock:
            c.note(kind, text)

    def count():
        with lock:
            c.trials += 1

    def indexer():
        while time.monotonic() < stop:
            r = run(cli(site, "index", "-q", "--wait", "120"))
            count()
            if "Traceback" in r.stderr:
                note("tracebacks", f"indexer: {r.stderr}")
            elif r.returncode:
                note("errors", f"indexer: exit {r.returncode}: {r.stderr}")

    def editor():
        erng = random.Random(rng.random())
        while time.monotonic() < stop:
            edit(site, erng, erng.randint(1, 5))
            count()
            time.sleep(erng.uniform(0.05, 1.0))

    def querier():
        qrng = random.Random(rng.random())
        while time.monotonic() < stop:
            r = run(cli(site, "query", "--json") + ["--", *qrng.choice(QUERIES).split()])
            count()
            if "Traceback" in r.stderr:
                note("tracebacks", f"query: {r.stderr}")
            elif r.returncode not in (0, 1):
                note("errors", f"query: exit {r.returncode}: {r.stderr}")

    def api_searcher():
        srng = random.Random(rng.random())
        with open_searcher(site / "index") as s:  # opened once, kept for the whole soak
            while time.monotonic() < stop:
                try:
                    s.search(srng.choice(QUERIES), facets=srng.random() < 0.3)
                except Exception as exc:
                    note("errors", f"long-lived searcher: {exc!r}")
                count()
                time.sleep(0.05)

    threads = [
        threading.Thread(target=f) for f in (indexer, indexer, editor, querier, api_searcher)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check_run(run(cli(site, "index", "-q")), c, "index after the soak")
    compare_with_rebuild(site, c, "after the soak")
    return c


def random_query(rng: random.Random) -> str:
    parts = [rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 12))]
    if rng.random() < 0.3:
        parts.append("".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randint(1, 20))))
    if rng.random() < 0.02:
        parts.append("x" * rng.randint(100, 3000))
    return (" " if rng.random() < 0.7 else "").join(parts)


def fuzz(site: Path, n: int, cli_share: float, rng: random.Random) -> Counts:
    from searchkit.errors import QueryError
    from searchkit.search import open_searcher

    c = Counts()
    with open_searcher(site / "index") as s:
        for _ in range(n):
            q = random_query(rng)
            c.trials += 1
            if rng.random() < cli_share:
                # (an argument cannot hold NUL: no shell can pass one)
                argv = cli(site, "query", "--json") + ["--", q.replace("\0", "")]
                if rng.random() < 0.3:
                    argv.insert(4, "--plain")
                r = run(argv)
                if "Traceback" in r.stderr:
                    c.note("tracebacks", f"CLI {q!r}: {r.stderr}")
                elif r.returncode not in (0, 1, 2) or (
                    r.returncode == 2 and len(r.stderr.strip().splitlines()) != 1
                ):
                    c.note("errors", f"CLI {q!r}: exit {r.returncode}: {r.stderr}")
                elif r.returncode in (0, 1):
                    json.loads(r.stdout)
                continue
            opts = {
                "limit": rng.choice([1, 10, None]),
                "sort": rng.choice(["relevance", "date"]),
                "facets": rng.random() < 0.2,
                "syntax": rng.random() < 0.8,
                "fuzzy_fallback": rng.random() < 0.3,
                "drafts": rng.random() < 0.2,
            }
            try:
                s.search(q, **opts)
            except QueryError as exc:
                if "\n" in str(exc):
                    c.note("errors", f"API {q!r}: a QueryError of several lines: {exc}")
            except Exception as exc:
                c.note("errors", f"API {q!r} {opts}: {type(exc).__name__}: {exc}")
    return c


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--posts", type=int, default=1638)
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--compare-every", type=int, default=5)
    ap.add_argument("--soak", type=float, default=120.0, help="seconds")
    ap.add_argument("--fuzz", type=int, default=10_000)
    ap.add_argument("--cli-share", type=float, default=0.03)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--parts", default="kill,soak,fuzz", help="which parts to run")
    args = ap.parse_args()
    missing = corpus_missing(args.corpus)
    if missing:
        print(f"skipped: {missing}")
        return 0
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="searchkit-soak-") as tmp:
        site = Path(tmp)
        replicate(args.corpus, site / "content", args.posts, sources=read_sources(args.corpus))
        print(f"site: {args.posts:,} posts from {args.corpus}; seed {args.seed}")
        t0 = time.perf_counter()
        run(cli(site, "index", "-q"))
        full_s = time.perf_counter() - t0
        results = {}
        parts = [
            (
                "kill",
                "kill -9",
                lambda: kill_trials(site, args.kills, args.compare_every, rng, full_s),
            ),
            ("soak", "concurrency", lambda: soak(site, args.soak, rng)),
            ("fuzz", "fuzz", lambda: fuzz(site, args.fuzz, args.cli_share, rng)),
        ]
        for key, name, part in parts:
            if key not in args.parts.split(","):
                continue
            t0 = time.perf_counter()
            results[name] = part()
            print(results[name].line(name) + f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
            for note in results[name].notes:
                print("   ", note)
    bad = sum(r.errors + r.tracebacks + r.mismatches for r in results.values())
    print("all zero" if not bad else f"{bad} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
