"""Packing lists of small non-negative integers into short JSON-safe strings.

Each integer is written as base-32 digits, least significant first, one
character per digit; the character set has 64 symbols so that every digit
also says whether more digits follow. None of the 64 symbols needs escaping
in JSON, and a JavaScript decoder is a dozen lines (``searchkit/export/web``).

Measured on the linkblog export (1,638 posts): the term shards with packed
postings take 58 % of the bytes of the same postings as JSON arrays of
numbers (996 kB vs 1,713 kB), 86 % once gzipped (587 kB vs 684 kB).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

# 0-31: last digit of a number; 32-63: a digit with more to follow.
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVabcdefghijklmnopqrstuvwxyz!#$%&("
_INDEX = {ch: i for i, ch in enumerate(ALPHABET)}
assert len(set(ALPHABET)) == 64 and '"' not in ALPHABET and "\\" not in ALPHABET


def _encode(n: int) -> str:
    if n < 0:
        raise ValueError(f"cannot pack a negative number: {n}")
    out: list[str] = []
    while n >= 32:
        out.append(ALPHABET[32 + (n & 31)])
        n >>= 5
    out.append(ALPHABET[n])
    return "".join(out)


@functools.cache
def _small() -> list[str]:
    # Numbers below 2**15 (three digits) from a table, made on first use (10 ms):
    # packing is most of an export's time after scoring, and nearly every
    # number packed is small.
    return [_encode(n) for n in range(1 << 15)]


def pack(numbers: Iterable[int]) -> str:
    """Encode non-negative integers as one string."""
    small = _small()
    return "".join([small[n] if 0 <= n < 32768 else _encode(n) for n in numbers])


def unpack(text: str) -> list[int]:
    """Decode a string made by `pack`."""
    numbers: list[int] = []
    n = shift = 0
    for ch in text:
        d = _INDEX[ch]
        if d >= 32:
            n |= (d - 32) << shift
            shift += 5
        else:
            numbers.append(n | (d << shift))
            n = shift = 0
    if shift:
        raise ValueError("packed string ends in the middle of a number")
    return numbers


def deltas(sorted_ids: Iterable[int]) -> list[int]:
    """Gaps between ascending ids, minus one (the first id counts from -1)."""
    out: list[int] = []
    prev = -1
    for i in sorted_ids:
        out.append(i - prev - 1)
        prev = i
    return out
