"""Issue 14: the demo's referral history had times in the future (referrals "sent" later today
than the moment the demo was made), so a referral's history read out of order."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from ipmo.referrals import demo
from ipmo.referrals.models import ReferralEvent
from ipmo.store import session_scope


def test_demo_referral_events_are_never_in_the_future(sample_ics, monkeypatch):
    monkeypatch.setattr(demo, "DAYS", 2)  # two days back and today: today is the case at risk
    made = datetime(2026, 6, 15, 11, 30)  # mid-morning: later today is in the future
    demo.populate(sample_ics, seed=3, now=made)
    with session_scope(sample_ics) as s:
        events = s.scalar(select(func.count()).select_from(ReferralEvent))
        latest = s.scalar(select(func.max(ReferralEvent.at)))
    assert events > 0, "the demo made referrals"
    assert latest <= made
