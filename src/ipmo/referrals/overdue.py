"""The overdue sweep the background worker runs: every referral not accepted by its deadline is
re-routed to the next suitable pharmacy or returned to the referrer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.referrals import lifecycle as lc
from ipmo.referrals.errors import ReferralConflict
from ipmo.referrals.models import Referral
from ipmo.referrals.organisations import pharmacies
from ipmo.referrals.state_changes import reroute_or_return
from ipmo.referrals.trail import SYSTEM
from ipmo.store import utcnow


@dataclass
class SweepReport:
    scanned: int = 0
    rerouted: int = 0
    returned: int = 0
    conflicts: int = 0


def overdue_ids(session: Session, now: datetime, limit: int | None = None) -> list[int]:
    """Referrals not accepted by their deadline (uses ix_referrals_status_accept_by)."""
    q = (
        select(Referral.id)
        .where(
            Referral.status.in_([s.value for s in lc.AWAITING_ACCEPT]),
            Referral.accept_by < now,
        )
        .order_by(Referral.accept_by)
    )
    if limit:
        q = q.limit(limit)
    return list(session.scalars(q))


def escalate_overdue(
    session: Session, now: datetime | None = None, limit: int | None = None
) -> SweepReport:
    """What the background worker runs: every referral not accepted by its deadline is re-routed
    to the next pharmacy or returned to the referrer. Each referral is handled in a savepoint so
    one that a pharmacist accepts at the same moment is skipped, not lost."""
    now = now or utcnow()
    report = SweepReport()
    pool = pharmacies(session)
    for rid in overdue_ids(session, now, limit):
        report.scanned += 1
        try:
            with session.begin_nested():
                ref = session.get(Referral, rid)
                if ref is None or ref.status not in lc.AWAITING_ACCEPT or ref.accept_by >= now:
                    continue
                what = reroute_or_return(
                    session,
                    SYSTEM,
                    ref,
                    now,
                    f"not accepted by {ref.target_org_code} before {ref.accept_by:%Y-%m-%d %H:%M}",
                    pool,
                )
        except ReferralConflict:
            report.conflicts += 1
            continue
        if what == "rerouted":
            report.rerouted += 1
        else:
            report.returned += 1
    return report
