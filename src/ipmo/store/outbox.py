"""At-least-once delivery of queued messages, shared by every domain that keeps an outbox table.

A domain's outbox row has ``id`` and the delivery columns of :class:`OutboxColumns` (``attempts``,
``next_attempt_at``, ``delivered_at``, ``last_error``). :func:`deliver_due` sends the rows that
are due, each in its own transaction: the transport is called, then the row is marked delivered.
If the process dies between the two, the message is sent again later (at least once; the
recipient de-duplicates on the message's key). A failure is recorded (``attempts``,
``last_error``) and the row waits ``BACKOFF_BASE`` doubling per attempt, capped at
``BACKOFF_MAX``, before it is tried again. A delivered row is never sent again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import DateTime, Engine, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ipmo.store.base import utcnow
from ipmo.store.engine import session_scope

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)

Row = TypeVar("Row")


class OutboxColumns:
    """The columns :func:`deliver_due` reads and writes, mixed into a domain's outbox table
    (declared once, so every outbox keeps its delivery state alike)."""

    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: base, 2×base, 4×base, … up to the cap."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0


def deliver_due(
    engine: Engine,
    model: type[Row],
    transport: Callable[[Session, Row], None],
    now: datetime | None = None,
    batch: int = 500,
) -> DeliveryReport:
    """Send every undelivered ``model`` row whose next attempt is due at ``now``."""
    now = now or utcnow()
    report = DeliveryReport()
    table: Any = model  # the outbox columns named in the module docstring
    with session_scope(engine) as s:
        ids = list(
            s.scalars(
                select(table.id)
                .where(table.delivered_at.is_(None), table.next_attempt_at <= now)
                .order_by(table.id)
                .limit(batch)
            )
        )
    for mid in ids:
        try:
            with session_scope(engine) as s:
                message: Any = s.get(model, mid)
                if message is None or message.delivered_at is not None:
                    continue
                transport(s, message)
                message.attempts += 1
                message.delivered_at = now
                message.last_error = None
            report.delivered += 1
        except Exception as exc:  # noqa: BLE001 - any transport failure is retried later
            with session_scope(engine) as s:
                message = s.get_one(model, mid)  # it was there a moment ago
                message.attempts += 1
                message.next_attempt_at = now + backoff(message.attempts)
                message.last_error = f"{type(exc).__name__}: {exc}"[:300]
            report.failed += 1
    return report
