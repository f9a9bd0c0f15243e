"""Delivering outcome notices from the outbox: at least once, recorded once.

Outcomes are written to ``referral_outbox`` in the same transaction as the state change (so none
is lost). This module sends them. Each message is delivered in its own transaction: the transport
is called, then the row is marked delivered. If the process dies between the two, the message is
sent again later, and the recipient records it once because its ``idempotency_key`` is unique.
Failures back off exponentially (``BACKOFF_BASE`` doubling, capped at ``BACKOFF_MAX``).

The default transport is ipmo's own inbox (``referral_notices``), which is where the referrer's and
GP practice's pages read outcomes from. A MESH / GP Connect Update Record sender would be another
transport with the same contract.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ipmo.referrals.models import OutboxMessage, OutcomeNotice
from ipmo.store import session_scope, utcnow

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)

Transport = Callable[[Session, OutboxMessage], None]


def local_inbox(session: Session, message: OutboxMessage) -> None:
    """Record the notice in the recipient's inbox, once per idempotency key."""
    exists = session.scalar(
        select(OutcomeNotice.id).where(OutcomeNotice.idempotency_key == message.idempotency_key)
    )
    if exists:
        return
    try:
        with session.begin_nested():
            session.add(
                OutcomeNotice(
                    idempotency_key=message.idempotency_key,
                    recipient_org_code=message.recipient_org_code,
                    referral_id=message.referral_id,
                    kind=message.kind,
                    payload=message.payload,
                )
            )
    except IntegrityError:
        pass  # a concurrent delivery recorded it first


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0


def deliver_pending(
    engine: Engine,
    transport: Transport = local_inbox,
    now: datetime | None = None,
    batch: int = 500,
) -> DeliveryReport:
    now = now or utcnow()
    report = DeliveryReport()
    with session_scope(engine) as s:
        ids = list(
            s.scalars(
                select(OutboxMessage.id)
                .where(OutboxMessage.delivered_at.is_(None), OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.id)
                .limit(batch)
            )
        )
    for mid in ids:
        try:
            with session_scope(engine) as s:
                message = s.get(OutboxMessage, mid)
                if message is None or message.delivered_at is not None:
                    continue
                transport(s, message)
                message.attempts += 1
                message.delivered_at = now
                message.last_error = None
            report.delivered += 1
        except Exception as exc:  # noqa: BLE001 - any transport failure is retried later
            with session_scope(engine) as s:
                message = s.get_one(OutboxMessage, mid)  # it was there a moment ago
                message.attempts += 1
                message.next_attempt_at = now + backoff(message.attempts)
                message.last_error = f"{type(exc).__name__}: {exc}"[:300]
            report.failed += 1
    return report
