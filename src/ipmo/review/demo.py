"""Demo hook: evaluate every rule over the demo ICS so the SMR worklist and rates are ready."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from ipmo.review.service import run


def populate(engine: Engine, seed: int) -> str:  # noqa: ARG001 - rules are deterministic
    summary = run(engine, date.today())
    return str(summary)
