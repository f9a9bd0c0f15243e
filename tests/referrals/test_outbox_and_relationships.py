"""Outcome outbox (delivered at least once, recorded once), the open-referral relationship, DMS
reconciliation and activity figures."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ipmo.patients.models import Patient
from ipmo.referrals.dms import Line, reconcile
from ipmo.referrals.figures import activity_figures
from ipmo.referrals.models import OutboxMessage, OutcomeNotice, Referral
from ipmo.referrals.new_referrals import NewReferral, create_referral
from ipmo.referrals.outbox import deliver_pending, local_inbox
from ipmo.referrals.outcome_details import ReferralOutcome
from ipmo.referrals.state_changes import accept, cancel, record_outcome
from ipmo.security.policy import relationship_for as find_relationship
from ipmo.store import session_scope

from .conftest import ADA, EVE, WED_10AM, principal

SENT = WED_10AM + timedelta(hours=2)  # after the outcome was recorded


def _complete(engine, nhs=ADA, outcome="supplied", reason=None):
    with session_scope(engine) as s:
        ref = create_referral(
            s,
            principal(s, "nhs111"),
            NewReferral(
                service="pharmacy-first",
                nhs_number=nhs,
                patient_choice="FA001",
                no_relationship_reason="NHS 111 caller",
            ),
            now=WED_10AM,
        )
        p = principal(s, "community.pharmacist")
        accept(s, p, ref, now=WED_10AM + timedelta(minutes=20))
        done = ReferralOutcome(outcome, reason, "done")
        record_outcome(s, p, ref, done, now=WED_10AM + timedelta(minutes=80))
        return ref.reference


def _notices(engine) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(OutcomeNotice))


def test_failed_deliveries_are_retried_with_backoff_and_recorded_once(ics_any):
    _complete(ics_any)
    calls = {"n": 0}

    def flaky(session, message):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise ConnectionError("recipient unavailable")
        local_inbox(session, message)

    first = deliver_pending(ics_any, flaky, now=SENT)
    assert (first.delivered, first.failed) == (0, 2)
    assert deliver_pending(ics_any, flaky, now=SENT).delivered == 0  # backing off
    later = deliver_pending(ics_any, flaky, now=SENT + timedelta(minutes=5))
    assert later.delivered == 2 and _notices(ics_any) == 2
    with Session(ics_any) as s:
        assert sorted(s.scalars(select(OutboxMessage.attempts))) == [2, 2]


def test_a_crash_after_sending_redelivers_but_the_recipient_records_once(ics):
    _complete(ics)

    def send_then_crash(session, message):
        local_inbox(session, message)
        session.commit()  # the recipient has it …
        raise RuntimeError("process died before marking the outbox row delivered")

    assert deliver_pending(ics, send_then_crash, now=SENT).failed == 2
    assert deliver_pending(ics, now=SENT + timedelta(hours=1)).delivered == 2
    assert _notices(ics) == 2  # one per recipient, not two


def test_open_referral_gives_the_receiving_pharmacy_a_relationship_until_it_closes(ics):
    # the sender (NHS 111) gets none: sending a referral must not open the record (issue 12;
    # this test used to assert the opposite)
    # Eve has no nomination: FA001 has no relationship with her until a referral is open
    with session_scope(ics) as s:
        p = principal(s, "community.pharmacist")
        patient = s.scalar(select(Patient).where(Patient.nhs_number == EVE))
        assert find_relationship(s, p, patient) is None
        create_referral(
            s,
            principal(s, "nhs111"),
            NewReferral(
                service="pharmacy-first",
                nhs_number=EVE,
                patient_choice="FA001",
                no_relationship_reason="NHS 111 caller",
            ),
            now=WED_10AM,
        )
    with session_scope(ics) as s:
        patient = s.scalar(select(Patient).where(Patient.nhs_number == EVE))
        assert (
            find_relationship(s, principal(s, "community.pharmacist"), patient) == "open-referral"
        )
        assert find_relationship(s, principal(s, "nhs111"), patient) is None
        assert find_relationship(s, principal(s, "hospital.pharmacist"), patient) is None
    _complete(ics, EVE)  # a second, completed referral does not keep access open …
    with session_scope(ics) as s:
        ref = s.scalar(select(Referral).where(Referral.status == "requested"))
        cancel(s, principal(s, "nhs111"), ref)  # … and closing the first ends it
    with session_scope(ics) as s:
        patient = s.scalar(select(Patient).where(Patient.nhs_number == EVE))
        assert find_relationship(s, principal(s, "community.pharmacist"), patient) is None


def test_dms_reconciliation_flags_each_kind_of_difference():
    discharge = [
        Line("Ramipril 5mg capsules", "1", "5 mg daily", "changed"),
        Line("Naproxen 500mg tablets", "2", None, "stopped"),
        Line("Apixaban 5mg tablets", "3", "5 mg twice daily", "started"),
        Line("Atorvastatin 20mg tablets", "4", "20 mg at night", "unchanged"),
        Line("Paracetamol 500mg tablets", "9", None, "stopped"),  # not on GP list either
    ]
    community = [
        Line("Ramipril 2.5mg capsules", "1", "2.5 mg daily"),
        Line("Naproxen 500mg tablets", "2"),
        Line("Atorvastatin 20mg tablets", "4", "20 mg at night"),
        Line("Omeprazole 20mg capsules", "5"),
    ]
    got = {f.name: f.kind for f in reconcile(discharge, community)}
    assert got == {
        "Ramipril 5mg capsules": "changed-dose",
        "Naproxen 500mg tablets": "stopped-still-on-repeat",
        "Apixaban 5mg tablets": "new",
        "Atorvastatin 20mg tablets": "confirmed",
        "Omeprazole 20mg capsules": "missing-from-discharge",
    }


def test_activity_figures_per_pharmacy_and_pcn(ics):
    _complete(ics, ADA, "supplied")
    _complete(ics, ADA, "no-supply", "out-of-stock")
    _complete(ics, EVE, "advice-given")
    with Session(ics) as s:
        by_pharmacy = activity_figures(s, by="pharmacy", month="2026-11")
        by_pcn = {g["group"]: g for g in activity_figures(s, by="pcn")}
        assert activity_figures(s, by="pharmacy", month="2026-10") == []
    [fa001] = by_pharmacy
    assert (fa001["group"], fa001["referrals"], fa001["completed"]) == ("FA001", 3, 3)
    assert fa001["completion_rate"] == 1.0 and fa001["no_supply_share"] == 0.5
    assert fa001["items_supplied"] == 1 and fa001["consultations"] == 3
    assert fa001["no_supply_reasons"] == {"out-of-stock": 1}
    assert fa001["mean_minutes_to_accept"] == 20.0 and fa001["mean_minutes_to_complete"] == 80.0
    assert by_pcn["U10001"]["referrals"] == 2 and by_pcn["U20001"]["referrals"] == 1
