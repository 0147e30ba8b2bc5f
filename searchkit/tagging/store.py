"""Saving and loading the tag model: JSON + ``.npy`` arrays, no pickle, atomic.

Layout under the index folder::

    tags-model.json        metadata, tag list, threshold; names the folder
    tags-model-<id>/       one NAME.npy per array (vocabulary included)

Arrays are opened with ``np.load(mmap_mode="r", allow_pickle=False)``:
nothing is executed, and suggesting for one post reads only the pages it
touches (the SVM weight rows and posting lists of the post's own terms), not
the whole 29 MB model: on scottlowe loading went from ~0.4 s to a few ms.
The folder is complete before the JSON naming it is written with os.replace,
so a reader sees the old model or the new one, never half of one; older
folders (and ``.npz`` files of format 2) are removed after.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from pathlib import Path

import numpy as np

from searchkit.atomic import fsync_dir, write_atomic
from searchkit.errors import ModelError

from .features import Vectorizer
from .model import FEATURES, Base, TagModel

MODEL_JSON = "tags-model.json"
# 2: the model's text counts a tldr that starts the summary once (as the index does).
# 3: text-only vectors, source/kind as lifts, candidates, GradientBoostingClassifier trees.
FORMAT = 3
_BASE_ARRAYS = (
    "W", "b", "Y", "dates", "prior", "named_precision", "title_precision", "cooc",
    "centroid_norms", "sources", "source_rates", "source_counts", "kinds", "kind_rates",
)  # fmt: skip


def model_path(index_dir: Path | str) -> Path:
    return Path(index_dir) / MODEL_JSON


def save_model(model: TagModel, index_dir: Path | str) -> Path:
    """Write ``model`` under ``index_dir`` atomically; returns the JSON path."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    name = f"tags-model-{secrets.token_hex(6)}"
    base = model.base
    arrays = {f"base_{k}": getattr(base, k) for k in _BASE_ARRAYS}
    arrays.update(
        terms=base.vec.terms, idf=base.vec.idf,
        docs_indptr=base.docs[0], docs_rows=base.docs[1], docs_values=base.docs[2],
        tag_thresholds=model.tag_thresholds,
        **{f"tree_{k}": v for k, v in model.trees.items()},
    )  # fmt: skip
    tmp = Path(tempfile.mkdtemp(dir=index_dir, prefix=".tags-model-"))
    try:
        for key, value in arrays.items():
            with open(tmp / f"{key}.npy", "wb") as fh:
                np.save(fh, np.ascontiguousarray(value), allow_pickle=False)
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o755)
        fsync_dir(tmp)
        os.replace(tmp, index_dir / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_dir(index_dir)
    doc = {
        "format": FORMAT,
        "arrays": name,
        "meta": model.meta,
        "tags": model.tags,
        "stem_keys": model.stem_keys,
        "threshold": model.threshold,
        "features": list(FEATURES),
    }
    write_atomic(index_dir / MODEL_JSON, json.dumps(doc, ensure_ascii=False).encode())
    for old in index_dir.glob("tags-model-*"):
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    return index_dir / MODEL_JSON


def read_model_meta(index_dir: Path | str) -> dict | None:
    """The stored model's JSON document, or None when there is no model."""
    path = model_path(index_dir)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"{path}: unreadable tag model ({exc}); run 'searchkit tags train'"
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelError(f"{path}: tag model format not supported; run 'searchkit tags train'")
    return doc


def load_model(index_dir: Path | str) -> TagModel:
    """Load the model saved under ``index_dir``. Executes nothing it reads."""
    doc = read_model_meta(index_dir)
    if doc is None:
        raise ModelError(f"no tag model in {index_dir}; run 'searchkit tags train'")
    if doc.get("features") != list(FEATURES):
        raise ModelError("the tag model was made by another searchkit version; retrain it")
    folder = Path(index_dir) / str(doc["arrays"])
    if folder.name != doc["arrays"] or not folder.name.startswith("tags-model-"):
        raise ModelError(f"{model_path(index_dir)}: bad array folder name")
    try:
        # Memory-mapped, read-only: pages are read when a post's terms touch them.
        a = {f.stem: np.load(f, mmap_mode="r", allow_pickle=False)
             for f in sorted(folder.glob("*.npy"))}  # fmt: skip
    except (OSError, ValueError) as exc:
        raise ModelError(f"{folder}: unreadable tag model arrays ({exc}); retrain") from None
    missing = {"terms", "idf", "tag_thresholds"} - a.keys()
    if missing:
        raise ModelError(f"{folder}: tag model arrays missing ({', '.join(sorted(missing))})")
    vec = Vectorizer(a["terms"], a["idf"])
    base = Base(
        vec=vec,
        docs=(a["docs_indptr"], a["docs_rows"], a["docs_values"]),
        **{k: a[f"base_{k}"] for k in _BASE_ARRAYS},
    )
    trees = {k[5:]: v for k, v in a.items() if k.startswith("tree_")}
    return TagModel(
        tags=list(doc["tags"]),
        stem_keys=list(doc["stem_keys"]),
        base=base,
        trees=trees,
        threshold=float(doc["threshold"]),
        tag_thresholds=a["tag_thresholds"],
        meta=dict(doc.get("meta", {})),
    )
