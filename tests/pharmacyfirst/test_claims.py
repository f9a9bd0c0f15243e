"""Claim readiness: what a claim for a completed consultation still lacks, one check each."""

from __future__ import annotations

from datetime import date, datetime

from ipmo.pharmacyfirst.claims import missing_for, readiness
from ipmo.pharmacyfirst.models import Consultation, ConsultationItem
from ipmo.store import session_scope


def _done(**kw) -> Consultation:
    base = dict(
        reference="PF-1",
        kind="clinical-pathway",
        channel="walk-in",
        org_code="FA001",
        pharmacist="p",
        nhs_number="9990000034",
        practice_code="A10002",
        consulted_on=date(2026, 11, 18),
        pathway="uti",
        pathway_version="2024-01-31",
        gateway_passed=True,
        status="completed",
        outcome="advice-given",
        consent=True,
        update_record_sent_at=datetime(2026, 11, 18, 12),
    )
    return Consultation(**(base | kw))


def test_a_complete_record_is_ready_and_each_gap_is_named():
    assert missing_for(_done()) == ()
    assert missing_for(_done(pathway_version=None)) == ("pathway",)
    assert missing_for(_done(gateway_passed=None)) == ("gateway",)
    assert missing_for(_done(outcome="no-supply")) == ("outcome",)  # no reason
    assert missing_for(_done(outcome="referred-on", referred_to="gp")) == ("outcome",)  # urgency
    assert missing_for(_done(consent=False)) == ("consent",)
    assert missing_for(_done(update_record_sent_at=None)) == ("update-record",)
    supplied = _done(outcome="supplied")
    assert missing_for(supplied) == ("supply",)  # supplied, but no item
    supplied.items.append(
        ConsultationItem(
            name="N",
            dmd_code="39108511000001108",
            supply_type="pgd",
            outcome="supplied",
            quantity=6,
            unit="capsule",
        )
    )
    assert missing_for(supplied) == ()
    # a patient who declined needs no consent to be claimable as a consultation
    declined = _done(outcome="no-supply", no_supply_reason="patient-declined", consent=False)
    assert missing_for(declined) == ()


def test_readiness_lists_one_month_of_one_pharmacy(engine):
    with session_scope(engine) as s:
        s.add_all(
            [
                _done(),
                _done(reference="PF-2", consent=False),
                _done(reference="PF-3", consulted_on=date(2026, 12, 1)),
                _done(reference="PF-4", org_code="FA002"),
                _done(reference="PF-5", status="in-progress", outcome=None),
            ]
        )
    with session_scope(engine) as s:
        rows = readiness(s, "2026-11", "FA001")
    assert [(r.reference, r.ready, r.missing) for r in rows] == [
        ("PF-1", True, ()),
        ("PF-2", False, ("consent",)),
    ]
