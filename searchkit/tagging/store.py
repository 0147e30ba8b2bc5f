"""Saving and loading the tag model: JSON + ``.npz``, no pickle, atomic.

Layout under the index folder::

    tags-model.json        metadata, tag list, vocabulary, thresholds; names
    tags-model-<id>.npz    the arrays (np.load with allow_pickle=False)

The JSON is written last with os.replace, so a reader sees the old model or
the new one, never half of one; older ``.npz`` files are removed after.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import numpy as np

from searchkit.atomic import write_atomic
from searchkit.errors import ModelError

from .features import Vectorizer
from .model import FEATURES, Base, TagModel

MODEL_JSON = "tags-model.json"
# 2: the model's text counts a tldr that starts the summary once (as the index does).
FORMAT = 2
_BASE_ARRAYS = (
    "W", "b", "Y", "dates", "prior", "named_precision", "title_precision", "cooc",
    "sources", "source_rates", "kinds", "kind_rates",
)  # fmt: skip


def model_path(index_dir: Path | str) -> Path:
    return Path(index_dir) / MODEL_JSON


def save_model(model: TagModel, index_dir: Path | str) -> Path:
    """Write ``model`` under ``index_dir`` atomically; returns the JSON path."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    name = f"tags-model-{secrets.token_hex(6)}.npz"
    base = model.base
    arrays = {f"base_{k}": getattr(base, k) for k in _BASE_ARRAYS}
    arrays.update(
        idf=base.vec.idf,
        docs_indptr=base.docs[0], docs_rows=base.docs[1], docs_values=base.docs[2],
        tag_thresholds=model.tag_thresholds,
        **{f"tree_{k}": v for k, v in model.trees.items()},
    )  # fmt: skip
    write_atomic(index_dir / name, lambda fh: np.savez(fh, **arrays))
    doc = {
        "format": FORMAT,
        "arrays": name,
        "meta": model.meta,
        "tags": model.tags,
        "stem_keys": model.stem_keys,
        "threshold": model.threshold,
        "features": list(FEATURES),
        "terms": base.vec.terms,
    }
    write_atomic(index_dir / MODEL_JSON, json.dumps(doc, ensure_ascii=False).encode())
    for old in index_dir.glob("tags-model-*.npz"):
        if old.name != name:
            old.unlink(missing_ok=True)
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
    npz = Path(index_dir) / str(doc["arrays"])
    if npz.name != doc["arrays"] or not npz.name.startswith("tags-model-"):
        raise ModelError(f"{model_path(index_dir)}: bad array file name")
    try:
        with np.load(npz, allow_pickle=False) as z:
            a = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise ModelError(f"{npz}: unreadable tag model arrays ({exc}); retrain") from None
    vec = Vectorizer(list(doc["terms"]), a["idf"])
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
