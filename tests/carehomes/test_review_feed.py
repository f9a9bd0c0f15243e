"""Store-backed findings reach the SMR worklist and the review page; best-interests decisions
recorded by the home cover covert doses; a dementia diagnosis on the GP record brings the
antipsychotic reassessment (NICE NG97 1.7)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ipmo.carehomes.actions import (
    BestInterestsError,
    emar_feed,
    ingest_rows,
    record_best_interests,
    resident_findings,
)
from ipmo.carehomes.administrations import csv_rows
from ipmo.patients import Condition, Patient
from ipmo.review import codelist
from ipmo.review import service as review_service
from ipmo.store import session_scope

NOW = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)  # the app's clock: the review page reads it
TODAY = NOW.date()  # every time below is relative to it
ADA = "9990000018"  # resident of Oak Lodge (VM001), registered at a Riverside PCN practice
HEADER = "administration_id,nhs_number,medicine_code,medicine_name,outcome,at,covert\n"


def _at(days_ago: int) -> str:
    return (NOW - timedelta(days=days_ago, hours=3)).isoformat()


@pytest.fixture
def app_clock():
    """The app's clock stopped at :data:`NOW`."""
    return lambda: NOW


@pytest.fixture
def ics(sample_ics):
    rows = [
        f"c1,{ADA},777,Sertraline 50mg tablets,given,{_at(2)},Y",
        f"q1,{ADA},888,Quetiapine 25mg tablets,given,{_at(3)},N",
        f"r1,{ADA},999,Amlodipine 5mg tablets,refused,{_at(5)},N",
        f"r2,{ADA},999,Amlodipine 5mg tablets,refused,{_at(4)},N",
        f"r3,{ADA},999,Amlodipine 5mg tablets,omitted,{_at(3)},N",
    ]
    with session_scope(sample_ics) as s:
        ingest_rows(s, emar_feed("VM001"), "VM001", csv_rows(HEADER + "\n".join(rows)), "csv", NOW)
    return sample_ics


def _rules(engine, as_of=NOW):
    with session_scope(engine) as s:
        return sorted(f.rule for f in resident_findings(s, emar_feed("VM001"), ADA, as_of))


def _decide(engine, decided_on, review_by):
    with session_scope(engine) as s:
        record_best_interests(
            s,
            emar_feed("VM001"),
            ADA,
            medicine_code="777",
            medicine_name="Sertraline 50mg tablets",
            decided_on=decided_on,
            review_by=review_by,
            participants="GP, care-home pharmacist, daughter (LPA)",
            today=TODAY,
        )


def test_best_interests_decision_covers_covert_doses_until_its_review_date(ics):
    assert "covert-without-best-interests" in _rules(ics)
    # a decision past its review date does not cover the doses
    _decide(ics, TODAY - timedelta(days=200), TODAY - timedelta(days=1))
    assert "covert-without-best-interests" in _rules(ics)
    _decide(ics, TODAY - timedelta(days=30), TODAY + timedelta(days=60))
    assert "covert-without-best-interests" not in _rules(ics)


def test_best_interests_bad_input_refused_nothing_written(ics):
    args = dict(medicine_code="777", medicine_name="Sertraline", participants="GP", today=TODAY)
    with pytest.raises(BestInterestsError, match="review_by"), session_scope(ics) as s:
        record_best_interests(s, emar_feed("VM001"), ADA, decided_on=TODAY, review_by=TODAY, **args)
    with pytest.raises(BestInterestsError, match="decided_on"), session_scope(ics) as s:
        record_best_interests(
            s,
            emar_feed("VM001"),
            ADA,
            decided_on=TODAY + timedelta(days=1),
            review_by=TODAY + timedelta(days=90),
            **args,
        )
    assert "covert-without-best-interests" in _rules(ics)


def test_antipsychotic_in_dementia_needs_the_diagnosis_on_the_gp_record(ics):
    assert "antipsychotic-in-dementia" not in _rules(ics)
    with session_scope(ics) as s:
        pid = s.scalar(select(Patient.id).where(Patient.nhs_number == ADA))
        code = sorted(codelist("dementia"))[0]
        s.add(Condition(patient_id=pid, snomed_code=code, term="Dementia", onset_date=None))
    assert "antipsychotic-in-dementia" in _rules(ics)


def test_findings_feed_the_smr_worklist_and_the_review_page(ics, client_as):
    review_service.run(ics, TODAY)
    rows = client_as("pcn.pharmacist").get("/api/review/worklist").json()
    ada = next(r for r in rows if r["nhs_number"] == ADA)
    assert "carehomes.repeated-refusals-or-omissions" in ada["rule_ids"]
    assert any(r.startswith("eMAR: 3 doses refused or omitted") for r in ada["reasons"])
    page = client_as("pcn.pharmacist").get(f"/review/patients/{ADA}")
    assert page.status_code == 200
    assert "From the care home" in page.text and "Amlodipine 5mg tablets" in page.text
