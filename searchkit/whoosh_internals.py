"""Every use of Whoosh's private parts, in one place, each with a test.

Whoosh's public API does not reach what three speed-ups need: the top-N
collector's per-match hook, the highlighter's token merging, the codec's
field-length column, and starting the multi-process writer's workers early.
Each is here with the stock behaviour as the fallback where one exists;
tests/test_whoosh_internals.py fails loudly if a Whoosh release changes one
(CI runs the suite against whoosh3 and whoosh 2.7.4).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from heapq import heappush, heapreplace

from whoosh import collectors
from whoosh.highlight import Highlighter


def merge_matched_tokens(tokens: Iterable) -> Iterable:
    """Whoosh's merge of adjacent matched tokens (``Highlighter._merge_matched_tokens``)."""
    return Highlighter._merge_matched_tokens(tokens)


def cancel_workers(writer) -> None:
    """Cancel a writer and end its worker processes.

    ``MpWriter.cancel`` only flags its workers, which then wait on the job
    queue for ever, and at exit ``multiprocessing`` joins them: a cancelled
    multi-process build would hang its process. The workers end first, so
    none is still writing into the folder the cancel removes.
    """
    try:
        end_workers(writer)
    finally:
        writer.cancel()


def end_workers(writer) -> None:
    """End the worker processes of a multi-process writer (``MpWriter.tasks``)."""
    for task in getattr(writer, "tasks", ()):
        if task.is_alive():
            task.terminate()
        task.join(5)


def start_workers(writer, procs: int) -> None:
    """Start every worker of a multi-process writer now (``MpWriter._new_task``).

    Before the job queue's feeder thread exists: Python 3.12+ warns about
    fork() in a threaded process. Without the hook, workers start on demand.
    """
    start = getattr(writer, "_new_task", None)
    while start and len(writer.tasks) < procs:
        start()


def field_length_reader(searcher, fieldname: str) -> Callable[[int], int | None] | None:
    """docnum -> length of ``fieldname`` in the searcher's segment, from one read.

    Whoosh reads each scored posting's length byte through five calls and a
    file seek; a one-word query matching half of 10,000 posts spent 40 % of
    its time there. This reads the segment's length column once (one byte a
    post, Whoosh's codec since 2.x) and decodes with Whoosh's own table.
    None (the scorer keeps Whoosh's way) when the column is not as expected.
    """
    raw = field_length_bytes(searcher.reader(), fieldname)
    if raw is None:
        return None
    table = length_table()
    count = len(raw)
    # A post past the column's end (or with byte 0) has no text in the field,
    # so it has no posting there to score.
    return lambda docnum: table[raw[docnum]] if docnum < count else None


@functools.cache
def length_table() -> list[int]:
    """Whoosh's decoding of a length byte, for each of the 256 bytes."""
    from whoosh.util.numeric import byte_to_length

    return [byte_to_length(b) for b in range(256)]


def field_length_bytes(reader, fieldname: str) -> bytes | None:
    """The raw length column of ``fieldname`` in a segment reader (cached), or None.

    It reaches into the codec's reader (``_perdoc``, the column reader's
    ``_dbfile``), so on any surprise it returns None.
    """
    cache = reader.__dict__.setdefault("_searchkit_lengths", {})
    if fieldname not in cache:
        try:
            from whoosh.codec.whoosh3 import LENGTHS_COLUMN

            col = reader._perdoc._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
            ok = col is not None and col._fixedlen == 1
            cache[fieldname] = bytes(col._dbfile.get(col._basepos, col._count)) if ok else None
        except Exception:
            cache[fieldname] = None
    return cache[fieldname]


class TopCollector(collectors.TopCollector):
    """The top N posts by score, equal scores in path order.

    Sorting every match by (score, path) facets reads and compares the path
    of each of them; here a path is read only when a post enters the top N
    or ties with the lowest score in it. No block skipping: a skipped post
    could tie on score and come first by path.
    """

    def __init__(self, limit: int):
        super().__init__(limit, usequality=False)

    def set_subsearcher(self, subsearcher, offset):
        super().set_subsearcher(subsearcher, offset)
        self._paths = subsearcher.reader().column_reader("path")

    def _collect(self, global_docnum, score):  # internal: called by collect() per match
        items = self.items
        self.total += 1
        if len(items) < self.limit:
            path = self._paths[global_docnum - self.offset]
            heappush(items, (score, _Reversed(path), global_docnum))
        elif score >= items[0][0]:
            path = self._paths[global_docnum - self.offset]
            if score == items[0][0] and path > items[0][1].value:
                return 0
            heapreplace(items, (score, _Reversed(path), global_docnum))
        return 0 - score

    def remove(self, global_docnum):  # the only caller is collapsing, which we do not use
        raise NotImplementedError

    def results(self):
        items = sorted(self.items, reverse=True)
        return self._results([(score, docnum) for score, _, docnum in items])  # internal


class _Reversed:
    """Orders strings backwards, so the heap's lowest entry has the last path."""

    __slots__ = ("value",)

    def __init__(self, value: str):
        self.value = value

    def __lt__(self, other: _Reversed) -> bool:
        return self.value > other.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.value == other.value


_PATCHED_WRITE_LENGTHS = False


def fast_write_lengths() -> None:
    """Make a segment writer read its field lengths from memory (``W3PerDocReader``).

    When a writer flushes its postings, Whoosh looks up each posting's field
    length in the segment's length column through a file seek and four calls
    (``doc_field_length_reader``): 10,000 linkblog posts have 1.8 million
    postings. This reads each length column once, as `field_length_bytes`
    does, and decodes with Whoosh's own table; same values, same None for a
    missing length. Any surprise keeps Whoosh's way. Patched once per process
    (forked writer workers inherit it).
    """
    global _PATCHED_WRITE_LENGTHS
    if _PATCHED_WRITE_LENGTHS:
        return
    from whoosh.codec import whoosh3

    stock = getattr(whoosh3.W3PerDocReader, "doc_field_length_reader", None)
    if stock is None:  # whoosh 2.7 writes lengths another way: nothing to speed up
        _PATCHED_WRITE_LENGTHS = True
        return

    def doc_field_length_reader(self, fieldname, default=0):
        try:
            col = self._cached_reader(whoosh3._lenfield(fieldname), whoosh3.LENGTHS_COLUMN)
            ok = col is not None and col._fixedlen == 1 and not col._default
            raw = bytes(col._dbfile.get(col._basepos, col._count)) if ok else None
        except Exception:
            raw = None
        if raw is None:
            return stock(self, fieldname, default)
        table = length_table()
        count = len(raw)

        def get(docnum):
            # Whoosh: the column's default (0) past its end, and None for a 0 byte.
            lbyte = raw[docnum] if docnum < count else 0
            return table[lbyte] if lbyte else None

        return get

    doc_field_length_reader.stock = stock  # for the test that compares them
    whoosh3.W3PerDocReader.doc_field_length_reader = doc_field_length_reader
    _PATCHED_WRITE_LENGTHS = True
