"""Bounded integer parameters for routes.

SQLite stores integers as signed 64-bit values and refuses a larger Python int with
``OverflowError`` (a 500), so every integer a client sends is bounded before it reaches SQL:
ids with :data:`RowId`, anything else with ``Query``/``Form``/``Field`` and ``le=DB_INT_MAX`` or a
tighter limit. ``tests/security/test_bad_input.py`` checks every route for unbounded integers.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator

DB_INT_MAX = 2**63 - 1  # SQLite INTEGER and PostgreSQL BIGINT

RowId = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="a record id")]

# Dates a client may ask to see the record "as of": date arithmetic near year 1 or 9999 overflows
# (``date.min - timedelta(...)``, a 500), and no medication record predates 1900.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2999, 12, 31)


def in_date_range(value: date) -> bool:
    return EARLIEST_DATE <= value <= LATEST_DATE


def _bounded(value: date) -> date:
    if not in_date_range(value):
        raise ValueError(f"must be between {EARLIEST_DATE:%d %B %Y} and {LATEST_DATE:%d %B %Y}")
    return value


# a date query parameter within those bounds (422 outside, never a 500 from date arithmetic)
Day = Annotated[date, AfterValidator(_bounded)]
