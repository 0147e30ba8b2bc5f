"""Tagging speed: train seconds, suggest ms per post in process, cold-process suggest.

Usage: python benchmarks/bench_tags.py CORPUS_DIR [--posts N] [--runs N]
Trains into a temporary index folder; the corpus is only read. The cold
start (`searchkit tags suggest PATH` in a fresh process, the issue-11 goal:
<= 0.30 s on scottlowe) is printed beside two baselines timed in the same
run: a process that only imports numpy, and `searchkit --version`.
Run with OMP_NUM_THREADS=1 on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--posts", type=int, default=200, help="posts to time suggest on")
    ap.add_argument("--runs", type=int, default=7, help="cold processes per command")
    args = ap.parse_args()
    if not args.corpus.is_dir():
        print(f"skipped: corpus not found: {args.corpus}")
        return 0
    from searchkit.site.posts import load_posts
    from searchkit.tagging.store import load_model
    from searchkit.tagging.workflow import train

    posts = load_posts(args.corpus).posts
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        t0 = time.perf_counter()
        model = train(args.corpus, index)
        train_s = time.perf_counter() - t0
        size = sum(f.stat().st_size for f in index.rglob("*") if f.is_file()) / 1e6
        t0 = time.perf_counter()
        model = load_model(index)
        load_ms = (time.perf_counter() - t0) * 1000
        sample = posts[:: max(1, len(posts) // args.posts)][: args.posts]
        times = []
        for p in sample:
            t0 = time.perf_counter()
            model.suggest(p)
            times.append((time.perf_counter() - t0) * 1000)
        env = dict(os.environ, PYTHONPATH=str(REPO))
        cmd = [sys.executable, "-m", "searchkit", "tags", "suggest", "--content",
               str(args.corpus), "--index", str(index), str(sample[0].id and
               args.corpus / sample[0].id)]  # fmt: skip
        runs = {
            "searchkit tags suggest PATH": cmd,
            "python -c 'import numpy' (baseline)": [sys.executable, "-c", "import numpy"],
            "searchkit --version (baseline)": [sys.executable, "-m", "searchkit", "--version"],
        }
        cold: dict[str, float] = {}
        for name, argv in runs.items():
            subprocess.run(argv, env=env, check=True, capture_output=True)  # warm the page cache
            took = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                subprocess.run(argv, env=env, check=True, capture_output=True)
                took.append(time.perf_counter() - t0)
            cold[name] = statistics.median(took)
    print(f"corpus: {args.corpus} ({len(posts)} posts, {len(model.tags)} tags learned)")
    print(f"train: {train_s:.1f} s; model on disk {size:.1f} MB; load {load_ms:.0f} ms")
    print(
        f"suggest in process: median {statistics.median(times):.1f} ms/post, "
        f"p95 {sorted(times)[int(len(times) * 0.95) - 1]:.1f} ms ({len(times)} posts)"
    )
    first = next(iter(cold.values()))
    for name, sec in cold.items():
        ratio = "" if sec == first else f" (tags suggest takes {first / sec:.1f}x this)"
        print(f"cold process {name}: median {sec:.3f} s{ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
