"""Delivering outcome notices from the outbox: at least once, recorded once.

Outcomes are written to ``referral_outbox`` in the same transaction as the state change (so none
is lost). This module sends them. Each message is delivered in its own transaction: the transport
is called, then the row is marked delivered. If the process dies between the two, the message is
sent again later, and the recipient records it once because its ``idempotency_key`` is unique.
Failures back off exponentially (``BACKOFF_BASE`` doubling, capped at ``BACKOFF_MAX``): the
mechanism is the spine's :mod:`ipmo.store.outbox`, shared with Pharmacy First's Update Records.

The default transport is ipmo's own inbox (``referral_notices``), which is where the referrer's and
GP practice's pages read outcomes from. A MESH / GP Connect Update Record sender would be another
transport with the same contract.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ipmo.referrals.models import OutboxMessage, OutcomeNotice
from ipmo.store.outbox import BACKOFF_BASE, BACKOFF_MAX, DeliveryReport, backoff, deliver_due

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_MAX",
    "DeliveryReport",
    "Transport",
    "backoff",
    "deliver_pending",
    "local_inbox",
]

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


def deliver_pending(
    engine: Engine,
    transport: Transport = local_inbox,
    now: datetime | None = None,
    batch: int = 500,
) -> DeliveryReport:
    """Send the due outcome notices (:func:`ipmo.store.outbox.deliver_due`)."""
    return deliver_due(engine, OutboxMessage, transport, now, batch)
