"""The referral queue readings on /metrics (issue 20): undelivered outcome notices and how far the
overdue sweep is behind, read from the store."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from ipmo.referrals.gauges import queue_gauges
from ipmo.referrals.models import OutboxMessage, Referral
from ipmo.referrals.new_referrals import NewReferral, create_referral
from ipmo.referrals.overdue import escalate_overdue
from ipmo.store import session_scope

from .conftest import ADA, BERT, WED_10AM, principal


def _send(engine, nhs_number):
    with session_scope(engine) as s:
        ref = create_referral(
            s,
            principal(s, "nhs111"),
            NewReferral(
                service="urgent-repeat-supply",
                nhs_number=nhs_number,
                no_relationship_reason="NHS 111 caller",
            ),
            now=WED_10AM,
        )
        return ref.accept_by


def _values(engine, now):
    with session_scope(engine) as s:
        return {name: value for name, (_, value) in queue_gauges(s, now).items()}


def test_nothing_overdue_before_the_deadline_and_the_lag_grows_after_it(ics):
    deadline = _send(ics, ADA)
    _send(ics, BERT)
    before = _values(ics, deadline - timedelta(minutes=1))
    assert before["ipmo_referrals_overdue_unswept"] == 0
    assert before["ipmo_referral_sweep_lag_seconds"] == 0
    after = _values(ics, deadline + timedelta(minutes=5))
    assert after["ipmo_referrals_overdue_unswept"] == 2
    assert after["ipmo_referral_sweep_lag_seconds"] == 300


def test_the_sweep_clears_what_it_handled(ics):
    deadline = _send(ics, ADA)
    late = deadline + timedelta(minutes=5)
    with session_scope(ics) as s:
        report = escalate_overdue(s, now=late)
    assert report.scanned == 1
    assert _values(ics, late)["ipmo_referrals_overdue_unswept"] == 0


def test_undelivered_notices_are_counted_until_delivered(ics):
    _send(ics, ADA)
    with session_scope(ics) as s:
        referral_id = s.scalar(select(Referral.id))
        s.add(
            OutboxMessage(
                idempotency_key="outcome-1",
                referral_id=referral_id,
                recipient_org_code="A10001",
                kind="outcome",
                payload={},
                created_at=WED_10AM,
            )
        )
    now = WED_10AM + timedelta(hours=1)
    values = _values(ics, now)
    assert values["ipmo_referral_outbox_pending"] == 1
    assert values["ipmo_referral_outbox_oldest_pending_seconds"] == 3600
    with session_scope(ics) as s:
        s.execute(update(OutboxMessage).values(delivered_at=now))
    values = _values(ics, now)
    assert values["ipmo_referral_outbox_pending"] == 0
    assert values["ipmo_referral_outbox_oldest_pending_seconds"] == 0
