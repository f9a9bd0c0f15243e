"""The two service functions other domains use: ``current_medications`` (issue 5, for the
Discharge Medicines Service) and ``propose_change`` (issue 6, from medication reviews)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from ipmo.patients.models import Patient
from ipmo.records.adapters import from_csv
from ipmo.records.models import ProposedChange
from ipmo.records.service import (
    RecordError,
    current_medications,
    decide,
    get_record,
    ingest,
    propose_change,
)
from ipmo.security.models import AuditEvent, User
from ipmo.security.principal import Principal
from ipmo.store import session_scope

ADA = "9990000018"
INDEX = date(2025, 6, 1)
HEADER = "nhs_number,source_kind,source_org_code,name,status,dose_text,authored_on,category,"
GP = (
    HEADER
    + f"""dmd_code
{ADA},gp,A10001,Amlodipine 5mg tablets,active,1 tablet once a day,2025-01-02,repeat,900151
{ADA},gp,A10001,Warfarin 1mg tablets,active,1 tablet once a day,2025-01-02,repeat,900141
{ADA},gp,A10001,Naproxen 500mg tablets,stopped,1 tablet twice a day,2025-01-02,repeat,900131
"""
)
HOSP = (
    HEADER
    + f"""dmd_code
{ADA},hospital,RXX,Amlodipine 10mg tablets,active,1 tablet daily,2025-05-02,inpatient,900152
{ADA},hospital,RXX,Warfarin 1mg tablets,active,1 tablet once a day,2025-05-02,inpatient,900141
"""
)


def _ada(s) -> Patient:
    return s.scalar(select(Patient).where(Patient.nhs_number == ADA))


def _principal(s, username: str = "pcn.pharmacist") -> Principal:
    return Principal.from_user(s.scalar(select(User).where(User.username == username)))


def test_current_medications_is_none_without_a_record(sample_ics, dictionary):
    with session_scope(sample_ics) as s:
        assert current_medications(s, _ada(s).id, INDEX, dictionary) is None


def test_current_medications_lists_current_lines_and_applies_stop_decisions(sample_ics, dictionary):
    with session_scope(sample_ics) as s:
        ingest(s, from_csv(GP))
        ingest(s, from_csv(HOSP))
    with session_scope(sample_ics) as s:
        current = current_medications(s, _ada(s).id, INDEX, dictionary)
        # the GP line is the reference; the stopped naproxen is not current
        assert {(m.name, m.dmd_code, m.dose_text) for m in current} == {
            ("Amlodipine 5mg tablets", "900151", "1 tablet once a day"),
            ("Warfarin 1mg tablets", "900141", "1 tablet once a day"),
        }
        view = get_record(s, ADA, INDEX, dictionary)
        dose = next(d for d in view.reconciliation.discrepancies if d.type == "dose")
        decide(
            s, ADA, dose.id, action="stop", reason="stopped at review", decided_by="x",
            if_match=view.etag, index_date=INDEX, dictionary=dictionary,
        )  # fmt: skip
    with session_scope(sample_ics) as s:
        current = current_medications(s, _ada(s).id, INDEX, dictionary)
        assert [m.name for m in current] == ["Warfarin 1mg tablets"]


def test_propose_change_is_pending_on_the_record_and_audited(sample_ics, dictionary):
    with session_scope(sample_ics) as s:
        before = get_record(s, ADA, INDEX, dictionary).version
        change = propose_change(
            s, _principal(s), _ada(s), kind="dose_change", medicine="Warfarin 1mg tablets",
            detail="INR high: reduce", origin="review-intervention:7",
        )  # fmt: skip
        pid = change.id
    with session_scope(sample_ics) as s:
        view = get_record(s, ADA, INDEX, dictionary)
        assert view.version == before + 1  # what the record shows changed: old ETags are stale
        [shown] = view.to_json()["proposed_changes"]
        assert (shown["id"], shown["kind"], shown["status"]) == (pid, "dose_change", "pending")
        assert shown["medicine"] == "Warfarin 1mg tablets"
        assert shown["proposed_by"] == "pcn.pharmacist"
        event = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "record.propose_change")
        ).one()
        assert event.patient_nhs_number == ADA
        assert event.detail["proposal_id"] == pid


@pytest.mark.parametrize(
    ("kind", "medicine", "message"),
    [("monitoring", "Warfarin", "must be one of"), ("stop", " ", "must name the medicine")],
)
def test_propose_change_refuses_bad_input_and_writes_nothing(sample_ics, kind, medicine, message):
    with pytest.raises(RecordError, match=message), session_scope(sample_ics) as s:
        propose_change(s, _principal(s), _ada(s), kind=kind, medicine=medicine, origin="t")
    with session_scope(sample_ics) as s:
        assert s.scalars(select(ProposedChange)).all() == []
        assert s.scalars(select(AuditEvent).where(AuditEvent.action.like("record.%"))).all() == []
