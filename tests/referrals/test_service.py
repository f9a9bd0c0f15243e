"""The referral lifecycle against the store (SQLite and PostgreSQL): routing, deadlines, optimistic
concurrency, outbox, audit and the overdue sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ipmo.organisations.models import Organisation
from ipmo.referrals.catalogue import URGENT_SUPPLY_ACCEPT_WITHIN
from ipmo.referrals.errors import NotInvolved, ReferralConflict, ReferralError
from ipmo.referrals.models import OutboxMessage, Referral, ReferralEvent
from ipmo.referrals.new_referrals import NewReferral, create_referral
from ipmo.referrals.outcome_details import ReferralOutcome
from ipmo.referrals.overdue import escalate_overdue
from ipmo.referrals.state_changes import accept, cancel, get_referral, record_outcome, start
from ipmo.security.models import AuditEvent
from ipmo.store import session_scope

from .conftest import ADA, BERT, EVE, WED_10AM, principal


def send(engine, username, now=WED_10AM, **kw):
    if username == "nhs111":  # 111 callers are nobody's patients at 111: the reason is stated
        kw.setdefault("no_relationship_reason", "NHS 111 caller")
    with session_scope(engine) as s:
        ref = create_referral(s, principal(s, username), NewReferral(**kw), now=now)
        return ref.reference


def load(engine, reference) -> Referral:
    with Session(engine) as s:
        ref = get_referral(s, reference)
        s.expunge(ref)
        return ref


def count(engine, model) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(model))


def test_routes_to_the_nominated_pharmacy_when_the_patient_has_no_choice(ics):
    r = load(ics, send(ics, "nhs111", service="urgent-repeat-supply", nhs_number=ADA))
    assert (r.target_org_code, r.routing_basis, r.status) == ("FA001", "nominated", "requested")
    assert r.practice_code == "A10001" and r.patient_name == "Ada Smith"
    assert r.accept_by == WED_10AM + URGENT_SUPPLY_ACCEPT_WITHIN


def test_patient_choice_wins_and_nearest_open_is_the_fallback(ics):
    r = load(
        ics, send(ics, "nhs111", service="pharmacy-first", nhs_number=ADA, patient_choice="FB001")
    )
    assert (r.target_org_code, r.routing_basis) == ("FB001", "patient-choice")
    with session_scope(ics) as s:  # put Eve's practice next to Hillside Pharmacy
        s.execute(
            update(Organisation)
            .where(Organisation.ods_code == "A20001")
            .values(latitude=53.70, longitude=-1.61)
        )
    r = load(ics, send(ics, "nhs111", service="pharmacy-first", nhs_number=EVE))
    assert (r.target_org_code, r.routing_basis) == ("FB001", "nearest-open")


def test_nominated_pharmacy_without_the_service_is_passed_over(ics):
    # Bert's nominated FA002 does not offer urgent supply
    r = load(ics, send(ics, "nhs111", service="urgent-repeat-supply", nhs_number=BERT))
    assert r.target_org_code != "FA002" and r.routing_basis == "nearest-open"


@pytest.mark.parametrize(
    "user, kw, message",
    [
        ("nhs111", {"service": "pharmacy-first", "nhs_number": "9990000019"}, "Modulus 11"),
        ("nhs111", {"service": "hair-cut", "nhs_number": ADA}, "unknown service"),
        (
            "nhs111",
            {"service": "discharge-medicines-service", "nhs_number": ADA},
            "cannot be sent by a nhs111",
        ),
        (
            "nhs111",
            {"service": "pharmacy-first", "nhs_number": ADA, "patient_choice": "FX999"},
            "not a pharmacy",
        ),
        ("gp", {"service": "pharmacy-first"}, "NHS number or name"),
    ],
)
def test_bad_referrals_are_refused_and_nothing_is_written(ics, user, kw, message):
    audited = count(ics, AuditEvent)
    with pytest.raises(ReferralError, match=message):
        send(ics, user, **kw)
    assert count(ics, Referral) == 0 and count(ics, AuditEvent) == audited


def test_closed_chosen_pharmacy_is_refused_on_saturday(ics):
    saturday = WED_10AM + timedelta(days=3)  # FA002 opens weekdays only; PF due within 24h
    with pytest.raises(ReferralError, match="FA002 is not open before"):
        send(
            ics,
            "nhs111",
            now=saturday,
            service="pharmacy-first",
            nhs_number=BERT,
            patient_choice="FA002",
        )


def test_evening_referral_starts_its_accept_clock_when_the_pharmacy_opens(ics):
    evening = WED_10AM.replace(hour=22, minute=30)  # FA001 closed 22:00-07:00
    r = load(ics, send(ics, "nhs111", now=evening, service="urgent-repeat-supply", nhs_number=ADA))
    assert r.target_org_code == "FA001"
    assert r.accept_by == WED_10AM.replace(day=19, hour=7) + URGENT_SUPPLY_ACCEPT_WITHIN


def test_two_pharmacists_accepting_at_once_one_wins_the_other_gets_a_conflict(ics_any):
    ref = send(ics_any, "nhs111", service="pharmacy-first", nhs_number=ADA)
    s1, s2 = Session(ics_any, expire_on_commit=False), Session(ics_any, expire_on_commit=False)
    try:
        p1, p2 = principal(s1, "community.pharmacist"), principal(s2, "community.pharmacist")
        r1, r2 = get_referral(s1, ref), get_referral(s2, ref)  # both read version 1
        s1.commit(), s2.commit()  # end the read transactions (as two web requests would)
        accept(s1, p1, r1, now=WED_10AM)
        s1.commit()
        with pytest.raises(ReferralConflict, match="changed by someone else"):
            accept(s2, p2, r2, now=WED_10AM)
        s2.rollback()
    finally:
        s1.close(), s2.close()
    r = load(ics_any, ref)
    assert r.status == "accepted" and r.version == 2
    with Session(ics_any) as s:
        kinds = s.scalars(select(ReferralEvent.kind).where(ReferralEvent.referral_id == r.id)).all()
    assert kinds.count("accepted") == 1


def test_stale_version_from_the_client_is_a_conflict(ics):
    ref = send(ics, "nhs111", service="pharmacy-first", nhs_number=ADA)
    with session_scope(ics) as s:
        p = principal(s, "community.pharmacist")
        accept(s, p, get_referral(s, ref), expected_version=1, now=WED_10AM)
    with session_scope(ics) as s, pytest.raises(ReferralConflict, match="has changed since"):
        start(s, principal(s, "community.pharmacist"), get_referral(s, ref), expected_version=1)


def test_only_the_receiving_pharmacy_may_accept(ics):
    ref = send(ics, "nhs111", service="pharmacy-first", nhs_number=ADA, patient_choice="FB001")
    with session_scope(ics) as s, pytest.raises(NotInvolved):
        accept(s, principal(s, "community.pharmacist"), get_referral(s, ref))  # FA001


def test_outcome_goes_to_referrer_and_practice_in_the_same_transaction_with_audit(ics_any):
    ref = send(ics_any, "nhs111", service="urgent-repeat-supply", nhs_number=ADA)
    with session_scope(ics_any) as s:
        p = principal(s, "community.pharmacist")
        r = get_referral(s, ref)
        accept(s, p, r, now=WED_10AM)
        record_outcome(
            s,
            p,
            r,
            ReferralOutcome("no-supply", "out-of-stock", "no stock locally"),
            now=WED_10AM + timedelta(minutes=30),
        )
    with Session(ics_any) as s:
        outbox = s.scalars(select(OutboxMessage).order_by(OutboxMessage.recipient_org_code)).all()
        assert [m.recipient_org_code for m in outbox] == ["A10001", "NHS111"]
        assert outbox[0].payload["businessStatus"]["coding"][0]["code"] == "no-supply"
        assert outbox[0].payload["statusReason"]["text"] == "out-of-stock"
        actions = s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
        assert actions == ["referral.created", "referral.accepted", "referral.completed"]
        assert s.scalars(select(AuditEvent.patient_nhs_number)).all() == [ADA] * 3


def test_failed_outcome_write_leaves_nothing(ics):
    ref = send(ics, "nhs111", service="urgent-repeat-supply", nhs_number=ADA)
    before = count(ics, AuditEvent)
    with pytest.raises(ReferralError), session_scope(ics) as s:
        record_outcome(
            s,
            principal(s, "community.pharmacist"),
            get_referral(s, ref),
            ReferralOutcome("no-supply"),
        )
    assert load(ics, ref).status == "requested"
    assert count(ics, AuditEvent) == before and count(ics, OutboxMessage) == 0


def test_referred_on_to_gp_opens_an_escalation_referral_at_the_practice(ics):
    ref = send(ics, "nhs111", service="pharmacy-first", nhs_number=ADA)
    with session_scope(ics) as s:
        p = principal(s, "community.pharmacist")
        record_outcome(
            s,
            p,
            get_referral(s, ref),
            ReferralOutcome("referred-on", note="red flags", escalate_to="gp"),
            now=WED_10AM,
        )
    with Session(ics) as s:
        child = s.scalar(select(Referral).where(Referral.service == "escalation"))
        parent = get_referral(s, ref)
        assert (child.target_org_code, child.parent_id, child.status) == (
            "A10001",
            parent.id,
            "requested",
        )
        assert (parent.status, parent.business_status, parent.escalated_to) == (
            "completed",
            "referred-on",
            "gp",
        )


def test_overdue_referrals_are_rerouted_then_returned_never_left_waiting(ics_any):
    ref = send(
        ics_any, "nhs111", service="urgent-repeat-supply", nhs_number=ADA
    )  # FA001, accept in 1h
    later = WED_10AM + timedelta(hours=1, minutes=1)
    with session_scope(ics_any) as s:
        assert escalate_overdue(s, now=later).rerouted == 1
    r = load(ics_any, ref)
    assert (r.target_org_code, r.status, r.escalations) == ("FB001", "requested", 1)
    assert r.tried_codes == ["FA001", "FB001"]
    with session_scope(
        ics_any
    ) as s:  # FB001 does not accept either; nobody else offers the service
        report = escalate_overdue(s, now=later + timedelta(hours=1, minutes=1))
    assert (report.rerouted, report.returned) == (0, 1)
    r = load(ics_any, ref)
    assert (r.status, r.business_status) == ("failed", "returned-to-referrer")
    with Session(ics_any) as s:
        sent = s.scalars(
            select(OutboxMessage.recipient_org_code).where(OutboxMessage.kind == "returned")
        ).all()
    assert sorted(sent) == ["A10001", "NHS111"]
    with session_scope(ics_any) as s:  # nothing left to do
        assert escalate_overdue(s, now=later + timedelta(days=1)).scanned == 0


def test_accepted_referrals_are_not_escalated(ics):
    ref = send(ics, "nhs111", service="urgent-repeat-supply", nhs_number=ADA)
    with session_scope(ics) as s:
        accept(s, principal(s, "community.pharmacist"), get_referral(s, ref), now=WED_10AM)
    with session_scope(ics) as s:
        assert escalate_overdue(s, now=WED_10AM + timedelta(hours=5)).scanned == 0


def test_cancel_by_referrer_only_and_the_pharmacy_is_told(ics):
    ref = send(ics, "nhs111", service="pharmacy-first", nhs_number=ADA)
    with session_scope(ics) as s, pytest.raises(NotInvolved):
        cancel(s, principal(s, "gp"), get_referral(s, ref))
    with session_scope(ics) as s:
        cancel(s, principal(s, "nhs111"), get_referral(s, ref), "patient recovered")
    assert load(ics, ref).status == "cancelled"
    with Session(ics) as s:
        assert s.scalars(select(OutboxMessage.recipient_org_code)).all() == ["FA001"]
    with session_scope(ics) as s, pytest.raises(ReferralConflict, match="already cancelled"):
        cancel(s, principal(s, "nhs111"), get_referral(s, ref))
