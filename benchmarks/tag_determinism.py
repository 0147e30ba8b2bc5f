"""Deterministic training: the same posts give byte-identical stored arrays.

Usage: python benchmarks/tag_determinism.py CORPUS_DIR [--threads 1,2]
Trains the tag model once per thread count, each in a fresh process with
OMP/OpenBLAS/MKL threads set to that count, and compares every array in the
stored model folder (and the JSON, apart from its creation time and train
seconds). Exit 1 when anything differs. Skips (exit 0) when the corpus is absent.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

_TRAIN = (
    "import sys; from pathlib import Path; from searchkit.tagging.workflow import train; "
    "train(Path(sys.argv[1]), Path(sys.argv[2]))"
)


def digest(index: Path) -> tuple[dict[str, str], dict]:
    """sha256 of every stored array, and the JSON without its time-dependent fields."""
    doc = json.loads((index / "tags-model.json").read_text())
    for key in ("created", "train_seconds"):
        doc["meta"].pop(key, None)
    doc = {k: v for k, v in doc.items() if k != "arrays"}  # a random folder name, by design
    folder = index / str(json.loads((index / "tags-model.json").read_text())["arrays"])
    arrays = {
        f.stem: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(folder.glob("*.npy"))
    }  # the whole .npy file: header (dtype, shape) and data bytes
    return arrays, doc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--threads", default="1,2")
    args = ap.parse_args()
    if not args.corpus.is_dir():
        print(f"skipped: corpus not found: {args.corpus}")
        return 0
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, n in enumerate(args.threads.split(",")):
            index = Path(tmp) / f"index{i}"
            env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS=n,
                       OPENBLAS_NUM_THREADS=n, MKL_NUM_THREADS=n)  # fmt: skip
            subprocess.run([sys.executable, "-c", _TRAIN, str(args.corpus), str(index)],
                           env=env, check=True)  # fmt: skip
            runs.append((n, *digest(index)))
    (n0, a0, d0), failed = runs[0], False
    for n, a, d in runs[1:]:
        diff = sorted(k for k in a0.keys() | a.keys() if a0.get(k) != a.get(k))
        same_json = d == d0
        print(f"threads {n0} vs {n}: {len(a0)} arrays, differing: {diff or 'none'}; "
              f"JSON {'identical' if same_json else 'DIFFERS'}")  # fmt: skip
        failed |= bool(diff) or not same_json
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
