"""Accepting and rejecting proposed changes in the store (SQLite and PostgreSQL): applied to the
reconciled list with a new version, once only, never over a concurrent edit, audited, and the
review intervention told the outcome."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import func, select

from ipmo.patients.models import Patient
from ipmo.records.adapters import from_csv
from ipmo.records.models import ProposedChange, RecordAmendment
from ipmo.records.service import (
    Acceptance,
    PreconditionRequired,
    ProposalNotFound,
    ProposalResolved,
    RecordError,
    VersionConflict,
    accept_change,
    current_medications,
    get_record,
    ingest,
    reject_change,
)
from ipmo.review.models import Intervention
from ipmo.review.service import record_review
from ipmo.security.models import AuditEvent
from ipmo.store import session_scope

ADA = "9990000018"  # registered at A10001, Riverside PCN: the PCN pharmacist's patient
DEV = "9990000042"
TODAY = date(2026, 6, 15)  # the day every call below is made on
AUTHORED = (TODAY - timedelta(days=60)).isoformat()
GP = f"""nhs_number,source_kind,source_org_code,name,status,dose_text,authored_on,category,dmd_code
{ADA},gp,A10001,Ibuprofen 400mg tablets,active,1 tablet three times a day,{AUTHORED},repeat,900121
{ADA},gp,A10001,Amlodipine 5mg tablets,active,1 tablet once a day,{AUTHORED},repeat,900151
"""


def _patient(s, nhs=ADA) -> Patient:
    return s.scalars(select(Patient).filter_by(nhs_number=nhs)).one()


def _setup(engine, principal_of, *interventions: dict) -> list[int]:
    """GP list for Ada, then a review with ``interventions``; returns the proposals' ids."""
    with session_scope(engine) as s:
        ingest(s, from_csv(GP))
        record_review(
            s,
            principal_of(s, "pcn.pharmacist"),
            _patient(s),
            review_date=TODAY,
            findings_addressed=[],
            interventions=list(interventions),
            shared_decision="agreed with Ada",
        )
    with session_scope(engine) as s:
        return list(s.scalars(select(ProposedChange.id).order_by(ProposedChange.id)))


def _view(engine, dictionary, on=TODAY):
    with session_scope(engine) as s:
        return get_record(s, ADA, on, dictionary)


def _accept(engine, principal_of, dictionary, pid, etag, **kw):
    with session_scope(engine) as s:
        change = accept_change(
            s,
            principal_of(s, kw.pop("user", "pcn.pharmacist")),
            _patient(s),
            pid,
            if_match=etag,
            on=kw.pop("on", TODAY),
            dictionary=dictionary,
            how=Acceptance(**kw),
        )
        return change.status, change.resolution_version


def _lines(view) -> dict:
    return {line.name: line for line in view.reconciliation.lines}


STOP_IBUPROFEN = {"kind": "stop", "medicine": "Ibuprofen 400mg tablets", "detail": "GI risk"}


def test_accepting_a_stop_applies_it_with_a_new_version(ics_any, principal_of, dictionary):
    [pid] = _setup(ics_any, principal_of, STOP_IBUPROFEN)
    before = _view(ics_any, dictionary)
    assert _lines(before)["Ibuprofen"].status == "current"
    status, version = _accept(ics_any, principal_of, dictionary, pid, before.etag)
    assert (status, version) == ("accepted", before.version + 1)
    after = _view(ics_any, dictionary)
    assert after.version == version and after.proposals == []
    assert _lines(after)["Ibuprofen"].status == "stopped"
    assert _lines(after)["Amlodipine"].status == "current"
    [resolved] = after.resolved
    assert resolved["resolution"]["by"] == "pcn.pharmacist"
    assert [a["state"] for a in after.amendments] == ["applied"]
    # the published list says so (valid R4), and DMS (current_medications) no longer sees it
    bundle = after.fhir()
    Bundle.model_validate(json.loads(json.dumps(bundle)))
    statements = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "MedicationStatement"
    ]
    ibu = next(m for m in statements if "Ibuprofen" in str(m["medicationCodeableConcept"]))
    assert ibu["status"] == "stopped" and ibu["statusReason"] == [{"text": "GI risk"}]
    with session_scope(ics_any) as s:
        names = [m.name for m in current_medications(s, _patient(s).id, TODAY, dictionary)]
    assert names == ["Amlodipine 5mg tablets"]


def test_acceptance_is_audited_and_the_intervention_is_applied(ics_any, principal_of, dictionary):
    [pid] = _setup(ics_any, principal_of, STOP_IBUPROFEN)
    _accept(ics_any, principal_of, dictionary, pid, _view(ics_any, dictionary).etag)
    with session_scope(ics_any) as s:
        event = s.scalars(select(AuditEvent).filter_by(action="record.proposal.accept")).one()
        assert event.patient_nhs_number == ADA and event.username == "pcn.pharmacist"
        assert event.detail["proposal_id"] == pid and event.detail["amendments"] == ["stop"]
        intervention = s.scalars(select(Intervention)).one()
        assert intervention.status == "applied" and intervention.outcome_by == "pcn.pharmacist"


def test_accepting_twice_is_a_conflict_and_changes_nothing(ics_any, principal_of, dictionary):
    [pid] = _setup(ics_any, principal_of, STOP_IBUPROFEN)
    _, version = _accept(ics_any, principal_of, dictionary, pid, _view(ics_any, dictionary).etag)
    for etag in (f'W/"{version}"', f'W/"{version - 1}"'):  # current or stale: same answer
        with pytest.raises(ProposalResolved, match="already accepted by pcn.pharmacist"):
            _accept(ics_any, principal_of, dictionary, pid, etag)
    with pytest.raises(ProposalResolved), session_scope(ics_any) as s:
        reject_change(
            s, principal_of(s, "pcn.pharmacist"), _patient(s), pid, if_match="1", reason="x"
        )
    with session_scope(ics_any) as s:
        assert s.scalar(select(func.count()).select_from(RecordAmendment)) == 1
        events = s.scalars(select(AuditEvent.action)).all()
    assert events.count("record.proposal.accept") == 1
    assert "record.proposal.reject" not in events
    assert _view(ics_any, dictionary).version == version


def test_a_concurrent_edit_is_refused_and_nothing_is_written(ics_any, principal_of, dictionary):
    [pid] = _setup(ics_any, principal_of, STOP_IBUPROFEN)
    read = _view(ics_any, dictionary)
    with session_scope(ics_any) as s:  # someone else changes the record after our read
        ingest(s, from_csv(GP.replace(",gp,A10001,", ",pharmacy,FA001,")))
    with pytest.raises(VersionConflict):
        _accept(ics_any, principal_of, dictionary, pid, read.etag)
    with session_scope(ics_any) as s:
        assert s.get(ProposedChange, pid).status == "pending"
        assert s.scalar(select(func.count()).select_from(RecordAmendment)) == 0
        assert s.scalars(select(Intervention.status)).one() == "proposed"
    assert _lines(_view(ics_any, dictionary))["Ibuprofen"].status == "current"


def test_accepting_needs_the_version_it_was_made_against(ics_any, principal_of, dictionary):
    [pid] = _setup(ics_any, principal_of, STOP_IBUPROFEN)
    with pytest.raises(PreconditionRequired):
        _accept(ics_any, principal_of, dictionary, pid, None)
    with session_scope(ics_any) as s:
        assert s.get(ProposedChange, pid).status == "pending"


def test_rejecting_needs_a_reason_which_the_reviewer_sees(ics_any, principal_of, dictionary):
    [pid] = _setup(ics_any, principal_of, STOP_IBUPROFEN)
    view = _view(ics_any, dictionary)
    for blank in ("", "   "):
        with pytest.raises(RecordError, match="needs a reason"), session_scope(ics_any) as s:
            reject_change(
                s, principal_of(s, "pcn.pharmacist"), _patient(s), pid, if_match=view.etag,
                reason=blank,
            )  # fmt: skip
    with session_scope(ics_any) as s:
        change = reject_change(
            s,
            principal_of(s, "pcn.pharmacist"),
            _patient(s),
            pid,
            if_match=view.etag,
            reason="Patient's pain is controlled only by ibuprofen; PPI added instead",
        )
        assert change.status == "rejected" and change.resolution_version == view.version + 1
    after = _view(ics_any, dictionary)
    assert _lines(after)["Ibuprofen"].status == "current"  # the list is not changed
    assert after.proposals == [] and after.resolved[0]["status"] == "rejected"
    with session_scope(ics_any) as s:
        intervention = s.scalars(select(Intervention)).one()
        assert intervention.status == "rejected"
        assert intervention.outcome_reason.startswith("Patient's pain is controlled")
        assert s.scalars(select(AuditEvent).filter_by(action="record.proposal.reject")).one()


def test_accepting_a_start_adds_the_medicine(ics_any, principal_of, dictionary):
    start = {"kind": "start", "medicine": "Omeprazole 20mg gastro-resistant capsules"}
    [pid] = _setup(ics_any, principal_of, start)
    view = _view(ics_any, dictionary)
    assert "Omeprazole" not in _lines(view)
    _accept(ics_any, principal_of, dictionary, pid, view.etag, dose_text="1 capsule daily")
    after = _view(ics_any, dictionary)
    line = _lines(after)["Omeprazole"]
    assert (line.status, line.dose_text) == ("current", "1 capsule daily")
    bundle = after.fhir()
    Bundle.model_validate(json.loads(json.dumps(bundle)))
    [started] = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "MedicationStatement"
        and e["resource"].get("dosage") == [{"text": "1 capsule daily"}]
    ]
    assert started["status"] == "active" and "Started on" in started["note"][0]["text"]


def test_accepting_a_dose_change_needs_and_applies_the_new_dose(ics_any, principal_of, dictionary):
    change = {"kind": "dose_change", "medicine": "Amlodipine 5mg tablets", "detail": "BP high"}
    [pid] = _setup(ics_any, principal_of, change)
    view = _view(ics_any, dictionary)
    with pytest.raises(RecordError, match="needs the new dose"):
        _accept(ics_any, principal_of, dictionary, pid, view.etag)
    _accept(ics_any, principal_of, dictionary, pid, view.etag, dose_text="2 tablets once a day")
    line = _lines(_view(ics_any, dictionary))["Amlodipine"]
    assert line.dose_text == "2 tablets once a day"
    assert line.changes[0]["previous_dose"] == "1 tablet once a day"


def test_accepting_a_switch_stops_one_medicine_and_starts_another(
    ics_any, principal_of, dictionary
):
    switch = {"kind": "switch", "medicine": "Ibuprofen 400mg tablets", "detail": "to paracetamol"}
    [pid] = _setup(ics_any, principal_of, switch)
    view = _view(ics_any, dictionary)
    with pytest.raises(RecordError, match="needs the medicine to switch to"):
        _accept(ics_any, principal_of, dictionary, pid, view.etag)
    with pytest.raises(RecordError, match="different medicine"):
        _accept(ics_any, principal_of, dictionary, pid, view.etag, switch_to="Ibuprofen 200mg")
    _accept(
        ics_any, principal_of, dictionary, pid, view.etag, switch_to="Paracetamol 500mg tablets"
    )
    lines = _lines(_view(ics_any, dictionary))
    assert lines["Ibuprofen"].status == "stopped" and lines["Paracetamol"].status == "current"


def test_a_change_that_does_not_fit_the_list_writes_nothing(ics_any, principal_of, dictionary):
    [pid] = _setup(ics_any, principal_of, {"kind": "stop", "medicine": "Naproxen 500mg tablets"})
    view = _view(ics_any, dictionary)
    with pytest.raises(RecordError, match="not on the current list"):
        _accept(ics_any, principal_of, dictionary, pid, view.etag)
    with session_scope(ics_any) as s:
        assert s.get(ProposedChange, pid).status == "pending"
        assert s.scalar(select(func.count()).select_from(RecordAmendment)) == 0
    assert _view(ics_any, dictionary).version == view.version


def test_another_patients_proposal_is_not_found(ics_any, principal_of, dictionary):
    [pid] = _setup(ics_any, principal_of, STOP_IBUPROFEN)
    with pytest.raises(ProposalNotFound), session_scope(ics_any) as s:
        accept_change(
            s, principal_of(s, "pcn.pharmacist"), _patient(s, DEV), pid, Acceptance(),
            if_match='W/"1"', on=TODAY, dictionary=dictionary,
        )  # fmt: skip
    with session_scope(ics_any) as s:
        assert s.get(ProposedChange, pid).status == "pending"
