"""Dates in queries and filters: ``2025``, ``2025-03``, ``2025-03-14`` or an ISO datetime."""

from __future__ import annotations

import datetime as dt
import re

from searchkit.errors import QueryError


def parse_day(text: str, *, end: bool = False) -> dt.datetime:
    """Parse YYYY, YYYY-MM, YYYY-MM-DD or an ISO datetime, as naive UTC.

    With ``end=True`` a partial date means the end of that year/month/day,
    so ``--until 2025-03`` includes all of March.
    """
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}", text):
            start = dt.datetime(int(text), 1, 1)
            nxt = dt.datetime(int(text) + 1, 1, 1)
        elif re.fullmatch(r"\d{4}-\d{2}", text):
            y, m = map(int, text.split("-"))
            start = dt.datetime(y, m, 1)
            nxt = dt.datetime(y + m // 12, m % 12 + 1, 1)
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            start = dt.datetime.fromisoformat(text)
            nxt = start + dt.timedelta(days=1)
        else:
            when = dt.datetime.fromisoformat(text)
            if when.tzinfo:
                when = when.astimezone(dt.UTC).replace(tzinfo=None)
            return when
    except ValueError:
        raise QueryError(f"not a date: {text!r} (use YYYY, YYYY-MM or YYYY-MM-DD)") from None
    return nxt - dt.timedelta(microseconds=1) if end else start
