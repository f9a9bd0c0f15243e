"""Storing administrations: access through the policy, audit, idempotency and bad input."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from ipmo.carehomes.actions import (
    IngestError,
    emar_feed,
    ingest_administrations,
    ingest_rows,
    resident_findings,
)
from ipmo.carehomes.administrations import csv_rows, from_csv
from ipmo.carehomes.models import AdministrationRow, ImportRow
from ipmo.organisations import Organisation, OrgKind
from ipmo.patients import MedicationIssue, Patient
from ipmo.security import PatientAccessDenied
from ipmo.security.models import AuditEvent
from ipmo.store import init_store, session_scope

NOW = datetime(2026, 3, 15, 20, 0, tzinfo=UTC)
RESIDENT = "9000000009"  # at home VHOME1
ELSEWHERE = "9434765919"  # at home VHOME2
HEADER = "administration_id,nhs_number,medicine_code,medicine_name,outcome,at\n"


@pytest.fixture
def store(any_engine):
    init_store(any_engine)
    with session_scope(any_engine) as s:
        for code in ("VHOME1", "VHOME2"):
            s.add(Organisation(ods_code=code, name=f"Home {code}", kind=OrgKind.CARE_HOME))
        s.flush()
        for nhs, home in ((RESIDENT, "VHOME1"), (ELSEWHERE, "VHOME2")):
            s.add(
                Patient(
                    nhs_number=nhs,
                    given_name="A",
                    family_name="Resident",
                    birth_date=date(1935, 1, 1),
                    sex="female",
                    care_home_code=home,
                )
            )
        s.flush()
        pid = s.scalar(select(Patient.id).where(Patient.nhs_number == RESIDENT))
        s.add(
            MedicationIssue(
                patient_id=pid,
                dmd_code="222",
                name="Sertraline 50mg tablets",
                issue_date=date(2026, 2, 20),
                issue_type="repeat",
            )
        )
    return any_engine


def _csv(*rows):
    return from_csv(HEADER + "".join(r + "\n" for r in rows), "home.csv")


ROWS = (
    f"a1,{RESIDENT},222,Sertraline 50mg tablets,refused,2026-03-10T08:00:00Z",
    f"a2,{RESIDENT},222,Sertraline 50mg tablets,omitted,2026-03-11T08:00:00Z",
    f"a3,{RESIDENT},222,Sertraline 50mg tablets,refused,2026-03-12T08:00:00Z",
    f"a4,{RESIDENT},999,Haloperidol 500microgram tablets,given,2026-03-12T20:00:00Z",
)


def _count(engine):
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(AdministrationRow))


def test_ingest_is_idempotent_flags_not_on_record_and_audits(store):
    with session_scope(store) as s:
        first = ingest_administrations(s, emar_feed("VHOME1"), "VHOME1", _csv(*ROWS), "csv", NOW)
    assert (first.added, first.unchanged, first.not_on_record) == (4, 0, ["a4"])
    with session_scope(store) as s:
        again = ingest_administrations(s, emar_feed("VHOME1"), "VHOME1", _csv(*ROWS), "csv", NOW)
    assert (again.added, again.unchanged) == (0, 4)
    assert _count(store) == 4
    with session_scope(store) as s:
        flagged = s.scalar(select(AdministrationRow).where(AdministrationRow.identifier == "a4"))
        assert flagged.not_on_record
        audited = s.scalars(
            select(AuditEvent.reason).where(AuditEvent.action == "carehomes.administrations.write")
        ).all()
    assert audited == ["care-home", "care-home"]


def test_other_homes_resident_refused_nothing_written(store):
    rows = (*ROWS[:2], f"b1,{ELSEWHERE},222,Sertraline 50mg tablets,given,2026-03-10T08:00:00Z")
    refused = "administration b1: not a resident you may record"
    with pytest.raises(IngestError, match=refused), session_scope(store) as s:
        ingest_administrations(s, emar_feed("VHOME1"), "VHOME1", _csv(*rows), "csv", NOW)
    assert _count(store) == 0
    with session_scope(store) as s:
        refused = s.scalars(select(AuditEvent.outcome)).all()
    assert "refused" in refused


def test_unknown_resident_refused(store):
    unknown = "9876543210"
    with pytest.raises(IngestError, match="administration u1"), session_scope(store) as s:
        rows = _csv(f"u1,{unknown},222,Sertraline,given,2026-03-10T08:00:00Z")
        ingest_administrations(s, emar_feed("VHOME1"), "VHOME1", rows, "csv", NOW)
    assert _count(store) == 0


def test_future_timestamp_refused(store):
    rows = _csv(f"f1,{RESIDENT},222,Sertraline,given,2026-03-16T08:00:00Z")
    future = "administration f1: timed in the future"
    with pytest.raises(IngestError, match=future), session_scope(store) as s:
        ingest_administrations(s, emar_feed("VHOME1"), "VHOME1", rows, "csv", NOW)
    assert _count(store) == 0


def test_resident_findings_access_checked(store):
    with session_scope(store) as s:
        ingest_administrations(s, emar_feed("VHOME1"), "VHOME1", _csv(*ROWS), "csv", NOW)
    with session_scope(store) as s:
        found = resident_findings(s, emar_feed("VHOME1"), RESIDENT, NOW)
    assert [f.rule for f in found] == ["repeated-refusals-or-omissions"]
    with pytest.raises(PatientAccessDenied), session_scope(store) as s:
        resident_findings(s, emar_feed("VHOME2"), RESIDENT, NOW)


def test_same_dose_round_under_another_id_is_held_once_and_the_import_logged(store):
    """Idempotent per (resident, medicine, dose round, outcome), found in bulk: a re-export
    under new ids, and a repeat inside one batch, add nothing; a refusal then a later "given"
    in the same round are two administrations."""
    header = "administration_id,nhs_number,medicine_code,medicine_name,outcome,at,scheduled_at\n"
    rnd = "2026-03-10T08:00:00Z"
    first = (
        f"r1,{RESIDENT},222,Sertraline 50mg tablets,refused,2026-03-10T08:05:00Z,{rnd}\n"
        f"r2,{RESIDENT},222,Sertraline 50mg tablets,given,2026-03-10T09:00:00Z,{rnd}\n"
        f"r2b,{RESIDENT},222,Sertraline 50mg tablets,given,2026-03-10T09:00:00Z,{rnd}\n"
    )
    again = f"x9,{RESIDENT},222,Sertraline 50mg tablets,given,2026-03-10T09:01:00Z,{rnd}\n"
    with session_scope(store) as s:
        one = ingest_rows(s, emar_feed("VHOME1"), "VHOME1", csv_rows(header + first), "csv", NOW)
        two = ingest_rows(s, emar_feed("VHOME1"), "VHOME1", csv_rows(header + again), "csv", NOW)
    assert (one.added, one.unchanged, two.added, two.unchanged) == (2, 1, 0, 1)
    assert _count(store) == 2
    with session_scope(store) as s:
        logged = s.execute(
            select(ImportRow.sent_by, ImportRow.added, ImportRow.unchanged).order_by(ImportRow.id)
        ).all()
    assert [tuple(r) for r in logged] == [
        ("system:emar-import@VHOME1", 2, 1),
        ("system:emar-import@VHOME1", 0, 1),
    ]
