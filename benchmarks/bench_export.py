"""Size and speed of `searchkit export` and of the JS client in headless Chromium.

Usage::

    python benchmarks/bench_export.py ../shared/corpora/linkblog
    python benchmarks/bench_export.py ../shared/corpora/linkblog --scale 10000

With ``--scale N`` (N above the corpus size) the corpus is replicated to N
posts (`benchmarks/corpus.py`). Prints the index and export times, the
export's bytes on disk (raw and gzip), and, measured in Debian's Chromium
against a local server that sends the export's .gz files with
``Content-Encoding: gzip`` (`searchkit serve`, in its own process; like
nginx or a CDN it keeps connections alive, sets TCP_NODELAY and serves
connections in parallel): the bytes transferred and
the milliseconds for the first query (client code + metadata + the shards
and display data the query needs) and for each later query (what it newly
fetches), as a visitor typing queries into a fresh page would see.

Bytes are Resource Timing ``encodedBodySize`` (gzip bodies, no HTTP headers;
``decodedBodySize`` is shown as "raw"). Replicated copies make postings
repeat, which gzip exploits: at 10,000 and 50,000 posts the raw figures are
the safer upper bound for a site whose posts are all different.
Queries run with the client's defaults (type-ahead on the last word, typo
tolerance). Needs the `playwright` Python package (no downloaded browsers).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import replicate  # noqa: E402

from searchkit.config import Config  # noqa: E402
from searchkit.export.webserve import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from searchkit.export.writer import export_site  # noqa: E402
from searchkit.indexing.build import update_index  # noqa: E402

FIRST = "kubernetes security"
LATER = [
    "gke release notes", "cilium network policy", "argo cd", "helm chart", "istio ambient",
    "gateway api", "opentelemetry collector", "prometheus", "autoscaling", "gpu inference",
    "etcd backup", "rke2", "windows nodes", "karpenter", "crossplane", "ebpf", "service mesh",
    "deprecated api removal", "cve", "tekton pipelines", "kubecon", "storage csi",
    "cost optimization", "multi cluster", "observability",
]  # fmt: skip

HARNESS = """<!doctype html><meta charset="utf-8"><title>bench</title>
<script type="module">
import { load } from "./searchkit.js";
const entries = () => performance.getEntriesByType("resource")
  .filter((e) => !e.name.includes("bench-harness"));
let seen = 0;
function fetched() {
  const all = entries();
  const fresh = all.slice(seen);
  seen = all.length;
  return {
    bytes: fresh.reduce((n, e) => n + e.encodedBodySize, 0),
    raw: fresh.reduce((n, e) => n + e.decodedBodySize, 0),
    files: fresh.length,
    // display chunks: hits whose rows no fetched shard carried (a second round trip)
    chunks: fresh.filter((e) => e.name.includes("/d/")).length,
  };
}
const texts = new Map();  // every response, to replay the client's work without the network
async function fetchJSON(url) {
  const res = await fetch(url);
  const text = await res.text();
  texts.set(url, text);
  return JSON.parse(text);
}
const offline = async (url) => JSON.parse(texts.get(url));
const metaUrl = () => new URL("searchkit.json", location.href).href;
window.bench = {
  async first(q) {
    const t0 = performance.now();
    window.ix = await load(metaUrl(), { fetchJSON });
    const r = await window.ix.search(q);
    const ms = performance.now() - t0;
    return { ms, total: r.total, ...fetched() };
  },
  async query(q) {
    const t0 = performance.now();
    const r = await window.ix.search(q);
    const ms = performance.now() - t0;
    return { ms, total: r.total, ...fetched() };
  },
  // A fresh client (nothing decoded yet) fed from memory: JSON parsing,
  // decoding, ranking and display data, without the network. (A fresh client
  // first fetches any file the long-lived one had no need for.)
  async offline(q) {
    await (await load(metaUrl(), { fetchJSON })).search(q);
    const ix = await load(metaUrl(), { fetchJSON: offline });
    const t0 = performance.now();
    const r = await ix.search(q);
    return { ms: performance.now() - t0, total: r.total };
  },
};
window.benchReady = true;
</script>
"""


def measure_browser(out: Path) -> dict:
    from playwright.sync_api import sync_playwright

    (out / "bench-harness.html").write_text(HARNESS, encoding="utf-8")
    with server_process(out) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(url + "bench-harness.html")
        page.wait_for_function("window.benchReady === true")
        first = page.evaluate("q => window.bench.first(q)", FIRST)
        later = [page.evaluate("q => window.bench.query(q)", q) for q in LATER]
        warm = [page.evaluate("q => window.bench.query(q)", q) for q in LATER]
        cold = [page.evaluate("q => window.bench.offline(q)", q) for q in LATER]
        browser.close()
    return {"first": first, "later": later, "warm": warm, "cold": cold}


@contextlib.contextmanager
def server_process(folder: Path):
    """`searchkit serve` in its own process, as a static server would be.

    In a thread of this process it shared the interpreter with the Playwright
    driver (10,000 posts: later-query median 38 ms in a thread, 34 ms apart).
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "searchkit", "serve", str(folder), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "searchkit.json", timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--scale", type=int, default=0, help="replicate to this many posts")
    parser.add_argument(
        "--keep", type=Path, help="work in this folder and keep it (reused by the next run)"
    )
    parser.add_argument(
        "--reuse-export",
        action="store_true",
        help="with --keep: measure only (the client is refreshed, the data is not)",
    )
    args = parser.parse_args()
    if not args.corpus.is_dir():
        sys.exit(f"corpus not found: {args.corpus} (skipping)")
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        content = args.corpus
        if args.scale and (work / "content").is_dir():
            content = work / "content"  # a kept folder from an earlier run
        elif args.scale:
            content = work / "content"
            t = time.perf_counter()
            replicate(args.corpus, content, args.scale)
            print(f"replicated to {args.scale} posts in {time.perf_counter() - t:.1f} s")
        cfg = Config(content=content, index=work / "index")
        t = time.perf_counter()
        update_index(cfg.content, cfg.index)
        print(f"index: {time.perf_counter() - t:.1f} s")
        if args.reuse_export and (work / "out" / "searchkit.json").is_file():
            client = (REPO / "searchkit" / "export" / "web" / "searchkit.js").read_bytes()
            (work / "out" / "searchkit.js").write_bytes(client)
            (work / "out" / "searchkit.js.gz").write_bytes(gzip.compress(client, 9, mtime=0))
            print("export: reusing the kept export (with the current client)")
        else:
            report = export_site(cfg, work / "out")
            print(report.summary())
            print(f"export: {report.seconds:.1f} s, {report.bytes:,} bytes raw, "
                  f"{report.gzip_bytes:,} bytes gzip, {report.files} files")  # fmt: skip
        try:
            res = measure_browser(work / "out")
        except ImportError:
            sys.exit("playwright is not installed: pip install -e '.[test]'")
        first, later, warm = res["first"], res["later"], res["warm"]
        kb = [r["bytes"] / 1024 for r in later]
        ms = [r["ms"] for r in later]
        raw = [r["raw"] / 1024 for r in later]
        print(f"first query {FIRST!r}: {first['bytes'] / 1024:.1f} kB gzip "
              f"({first['raw'] / 1024:.1f} kB raw) in {first['files']} files, "
              f"{first['ms']:.1f} ms (load + search), {first['total']} hits")  # fmt: skip
        print(f"later queries ({len(later)}): transfer median {statistics.median(kb):.1f} kB, "
              f"max {max(kb):.1f} kB gzip (raw median {statistics.median(raw):.1f} kB, "
              f"max {max(raw):.1f} kB); time median {statistics.median(ms):.1f} ms, "
              f"max {max(ms):.1f} ms")  # fmt: skip
        second = sum(1 for r in later if r["chunks"])
        print(f"later queries needing display chunks (a second round trip): {second} of "
              f"{len(later)}")  # fmt: skip
        wms = [r["ms"] for r in warm]
        print(f"repeated queries (shards cached): median {statistics.median(wms):.1f} ms, "
              f"max {max(wms):.1f} ms")  # fmt: skip
        cms = [r["ms"] for r in res["cold"]]
        print(f"later queries without the network (fresh client, files from memory): "
              f"median {statistics.median(cms):.1f} ms, max {max(cms):.1f} ms")  # fmt: skip
        for q, r in zip(LATER, later, strict=True):
            print(f"  {q!r:28} {r['bytes'] / 1024:6.1f} kB {r['files']:3} files "
                  f"{r['ms']:6.1f} ms {r['total']:6} hits")  # fmt: skip


if __name__ == "__main__":
    main()
