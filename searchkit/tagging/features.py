"""The tagger's features, computed with numpy only (suggesting never needs scikit-learn).

Three kinds of evidence feed the tag model:

* a sublinear TF-IDF vector of words and word bigrams of the post's text
  (title, tldr, summary and body, each counted once: see FIELD_WEIGHT);
  the front matter's ``source`` and ``post_kind`` are not in it, they are
  evidence the meta-model weighs (`tagging`), so a post whose source is
  missing or new is still tagged from its words;
* lexical matches of a tag's own name in the post: exact (case, punctuation
  and hyphens ignored, plural folded, so ``CI/CD`` matches ``ci-cd`` and
  ``Hyper-V`` matches ``hyperv``) and stemmed (``virtualization`` matches
  "virtualized"), counted separately in the title and in the rest;
* the learned scores (linear model, k-NN vote) computed in `tagging`.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from searchkit.schema import TEXT_FIELDS, analyze, indexed_texts

if TYPE_CHECKING:
    from searchkit.site.posts import Post

_WORD = re.compile(r"\w+")
_NON_ALNUM = re.compile(r"[\W_]+")
# Every text field counts once for tagging. The schema's field weights are
# chosen for search; for the tag SVM flat weights were better than the search
# weights of the time (title 2.0, tldr 1.75, summary 1.5, body 0.5) on every
# corpus (time split, SVM alone, P@1):
# scottlowe 0.599 -> 0.602, digitalgov 0.651 -> 0.664, linkblog 0.902 -> 0.942.
FIELD_WEIGHT = 1.0
MAX_NGRAM = 3  # "active directory" -> activedirectory, "ci / cd" -> cicd


def field_texts(post: Post) -> dict[str, str]:
    """The text of each full-text field of ``post``, by schema name."""
    return {f.name: post.text(f.name) or "" for f in TEXT_FIELDS}


def term_counts(post: Post) -> Counter[str]:
    """Counts of analysed words and bigrams in the post's text (no front-matter tokens)."""
    counts: Counter[str] = Counter()
    texts = indexed_texts(field_texts(post))  # as the index counts them: a tldr once
    for f in TEXT_FIELDS:
        toks = analyze(texts[f.name])
        for t in toks:
            counts[t] += FIELD_WEIGHT
        for a, b in zip(toks, toks[1:], strict=False):
            counts[f"{a} {b}"] += FIELD_WEIGHT
    return counts


@dataclass
class Vectorizer:
    """A fitted vocabulary and idf; turns term counts into l2-normalised rows.

    ``terms`` is a sorted array of str, looked up with binary search instead
    of a dict: a loaded model then needs no per-term Python objects (building
    a dict of 31,000 terms, and reading them from JSON, was part of the
    suggest command's start-up), and the array can be memory-mapped.
    """

    terms: np.ndarray
    idf: np.ndarray

    def __post_init__(self) -> None:
        self.terms = np.asarray(self.terms, dtype=str)

    @classmethod
    def fit(cls, docs: Sequence[Counter[str]], min_df: int = 2) -> Vectorizer:
        df: Counter[str] = Counter()
        for d in docs:
            df.update(d.keys())
        terms = sorted(t for t, n in df.items() if n >= min_df)
        n = len(docs)
        idf = np.array([math.log((1 + n) / (1 + df[t])) + 1.0 for t in terms])
        return cls(np.array(terms, dtype=str), idf.astype(np.float32))

    def lookup(self, words: Sequence[str]) -> np.ndarray:
        """Column of each word in ``terms``, -1 for a word not in the vocabulary."""
        if not len(self.terms) or not len(words):
            return np.full(len(words), -1, np.int64)
        keys = np.asarray(words, dtype=str)
        pos = np.minimum(np.searchsorted(self.terms, keys), len(self.terms) - 1)
        return np.where(self.terms[pos] == keys, pos, -1)

    def row(self, counts: Counter[str]) -> tuple[np.ndarray, np.ndarray]:
        """Column indices (ascending) and values of one document's vector."""
        words = list(counts)
        col = self.lookup(words)
        found = col >= 0
        if not found.any():
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        tf = np.fromiter((counts[w] for w in words), np.float32, len(words))[found]
        idx = col[found].astype(np.int32)
        order = np.argsort(idx, kind="stable")
        idx, tf = idx[order], tf[order]
        val = (1.0 + np.log(tf)) * self.idf[idx]  # sublinear tf (weights may be < 1)
        val = np.maximum(val, 1e-6)
        return idx, (val / np.linalg.norm(val)).astype(np.float32)

    def matrix(self, docs: Iterable[Counter[str]]):
        """A scipy CSR matrix of many documents (training and evaluation only)."""
        from scipy import sparse

        indptr, indices, data = [0], [], []
        for d in docs:
            i, v = self.row(d)
            indices.append(i)
            data.append(v)
            indptr.append(indptr[-1] + len(i))
        return sparse.csr_matrix(
            (
                np.concatenate(data) if data else np.zeros(0, np.float32),
                np.concatenate(indices) if indices else np.zeros(0, np.int32),
                np.array(indptr),
            ),
            shape=(len(indptr) - 1, len(self.terms)),
        )


# --------------------------------------------------------------------------
# Lexical evidence: does the post name the tag?


def name_key(text: str) -> str:
    """A tag or phrase reduced to lower-case letters and digits (``CI/CD`` -> ``cicd``)."""
    return _NON_ALNUM.sub("", text.casefold())


def name_variants(key: str) -> set[str]:
    """Keys that count as the same name: singular and plural forms."""
    out = {key}
    if len(key) > 3 and key.endswith("es"):
        out.add(key[:-2])
    if len(key) > 3 and key.endswith("s"):
        out.add(key[:-1])
    else:
        out.update({key + "s", key + "es"})
    return {k for k in out if k}


@functools.lru_cache(maxsize=4096)
def exact_keys(tag: str) -> frozenset[str]:
    """The keys a tag's name matches, cached: suggest calls this for every tag."""
    return frozenset(name_variants(name_key(tag)))


def ngram_keys(words: Sequence[str]) -> Counter[str]:
    """Keys of every run of 1 to MAX_NGRAM words, concatenated."""
    keys: Counter[str] = Counter()
    for n in range(1, MAX_NGRAM + 1):
        for i in range(len(words) - n + 1):
            keys["".join(words[i : i + n])] += 1
    return keys


def tag_stem_key(tag: str) -> str:
    """The stemmed form of a tag name, as one key (``virtualization`` -> ``virtual``)."""
    return "".join(analyze(re.sub(r"[-_/]", " ", tag))) or name_key(tag)


def lexical_matrix(post: Post, tags: Sequence[str], stem_keys: Sequence[str]) -> np.ndarray:
    """Counts of each tag's name in ``post``: shape (len(tags), 4).

    Columns: the exact name in the title, in the text, the stemmed name in
    the title, in the text.
    """
    title = post.title or ""
    rest = " ".join(t for name, t in field_texts(post).items() if name != "title")
    parts = []
    for text in (title, rest):
        words = [w for w in (name_key(w) for w in _WORD.findall(text)) if w]
        parts.append(ngram_keys(words))
    for text in (title, rest):
        parts.append(ngram_keys(analyze(text)))
    out = np.zeros((len(tags), 4), np.float32)
    for j, tag in enumerate(tags):
        exact = exact_keys(tag)
        out[j, 0] = sum(parts[0][k] for k in exact)
        out[j, 1] = sum(parts[1][k] for k in exact)
        out[j, 2] = parts[2][stem_keys[j]]
        out[j, 3] = parts[3][stem_keys[j]]
    return out
