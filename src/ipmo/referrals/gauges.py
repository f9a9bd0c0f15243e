"""Queue readings for ``/metrics`` (offered as ``OPERATIONS_GAUGES``; issue 20): how much work is
waiting on the background worker (``ipmo referrals worker``) and how far behind it is."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ipmo.referrals.lifecycle import AWAITING_ACCEPT
from ipmo.referrals.models import OutboxMessage, Referral


def _age_seconds(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - since).total_seconds()) if since else 0.0


def queue_gauges(session: Session, now: datetime) -> dict[str, tuple[str, float]]:
    pending, oldest_notice = session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.delivered_at.is_(None)
        )
    ).one()
    overdue, oldest_deadline = session.execute(
        select(func.count(), func.min(Referral.accept_by)).where(
            Referral.status.in_([s.value for s in AWAITING_ACCEPT]), Referral.accept_by < now
        )
    ).one()
    return {
        "ipmo_referral_outbox_pending": (
            "Outcome notices not yet delivered to the referrer or GP practice",
            float(pending),
        ),
        "ipmo_referral_outbox_oldest_pending_seconds": (
            "Age of the oldest undelivered outcome notice",
            _age_seconds(now, oldest_notice),
        ),
        "ipmo_referrals_overdue_unswept": (
            "Referrals past their accept-by deadline that the sweep has not yet re-routed",
            float(overdue),
        ),
        "ipmo_referral_sweep_lag_seconds": (
            "How far the overdue sweep is behind: time since the oldest unswept deadline passed",
            _age_seconds(now, oldest_deadline),
        ),
    }
