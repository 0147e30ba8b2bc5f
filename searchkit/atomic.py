"""Writing a file so that readers see the old or the new one, never half of it.

Every file searchkit replaces (the index's manifest and ``CURRENT`` pointer,
the tag model, export files, a post whose tags are applied) goes through
`write_atomic`: a temporary file in the same folder, fsync, rename, fsync of
the folder. A run killed midway leaves at most a hidden ``.NAME.*.tmp``
file, which `remove_stale_temps` clears on a later run.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

TEMP_SUFFIX = ".tmp"


def write_atomic(
    path: Path | str,
    data: bytes | Callable[[BinaryIO], None],
    *,
    mode: int = 0o644,
    durable: bool = True,
) -> None:
    """Replace ``path`` with ``data`` (bytes, or a function that writes to a file).

    ``durable=False`` skips the fsyncs, for files that can be made again
    (an export's data files are made durable by the rename of their folder).
    """
    import tempfile  # here: the query path imports this module and never writes

    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as fh:
            if callable(data):
                data(fh)
            else:
                fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)


def fsync_dir(path: Path | str) -> None:
    """Make a rename inside ``path`` durable (best effort: not every filesystem allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_stale_temps(folder: Path | str, name: str, *, min_age: float = 0.0) -> None:
    """Remove temporary files that a killed `write_atomic` of ``folder/name`` left.

    ``min_age`` (seconds) spares younger ones: another process's write in progress.
    """
    import glob
    import time

    now = time.time()
    for tmp in Path(folder).glob(f".{glob.escape(name)}.*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            if now - tmp.lstat().st_mtime >= min_age:
                tmp.unlink()
