"""Bounded integer parameters for routes.

SQLite stores integers as signed 64-bit values and refuses a larger Python int with
``OverflowError`` (a 500), so every integer a client sends is bounded before it reaches SQL:
ids with :data:`RowId`, anything else with ``Query``/``Form``/``Field`` and ``le=DB_INT_MAX`` or a
tighter limit. ``tests/security/test_bad_input.py`` checks every route for unbounded integers.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

DB_INT_MAX = 2**63 - 1  # SQLite INTEGER and PostgreSQL BIGINT

RowId = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="a record id")]
