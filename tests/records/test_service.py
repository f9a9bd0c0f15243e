"""Store: idempotent ingest, versioned record (If-Match), decisions, publishing (both engines)."""

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from ipmo.patients.models import Patient
from ipmo.records.adapters import from_csv
from ipmo.records.models import ReconciliationDecision, SourceItem, SourceList
from ipmo.records.service import (
    PatientNotFound,
    RecordError,
    VersionConflict,
    decide,
    get_record,
    ingest,
)
from ipmo.store import session_scope

NHS = "9434765919"
INDEX = date(2025, 6, 1)
GP = """nhs_number,source_kind,source_org_code,name,status,dose_text,authored_on,category,dmd_code
9434765919,gp,A81001,Amlodipine 5mg tablets,active,1 tablet once a day,2025-01-02,repeat,900151
9434765919,gp,A81001,Warfarin 1mg tablets,active,1 tablet once a day,2025-01-02,repeat,900141
"""
HOSP = """nhs_number,source_kind,source_org_code,name,status,dose_text,authored_on,category,dmd_code
9434765919,hospital,RR8,Amlodipine 10mg tablets,active,1 tablet daily,2025-05-02,inpatient,900152
"""


def _with_patient(engine):
    with session_scope(engine) as s:
        s.add(
            Patient(
                nhs_number=NHS,
                given_name="A",
                family_name="B",
                birth_date=date(1940, 1, 1),
                sex="female",
            )
        )
    return engine


@pytest.fixture
def store(any_engine):
    return _with_patient(any_engine)


@pytest.fixture
def sqlite_store(engine):
    """Validation-only tests: the engine does not matter, so SQLite keeps them fast."""
    return _with_patient(engine)


def test_ingest_is_idempotent_and_newer_replaces(store, dictionary):
    with session_scope(store) as s:
        first = ingest(s, from_csv(GP))
    with session_scope(store) as s:
        again = ingest(s, from_csv(GP))
    assert (first.action, again.action) == ("created", "unchanged")
    assert again.version == first.version
    changed = GP.replace(
        "1 tablet once a day,2025-01-02,repeat,900141",
        "2 tablets once a day,2025-01-02,repeat,900141",
    )
    with session_scope(store) as s:
        third = ingest(s, from_csv(changed))
    assert third.action == "replaced" and third.version == first.version + 1
    with session_scope(store) as s:
        assert s.scalar(select(func.count()).select_from(SourceList)) == 1
        doses = sorted(s.scalars(select(SourceItem.dose_text)).all())
        assert doses == ["1 tablet once a day", "2 tablets once a day"]


def test_older_version_is_refused_and_nothing_written(store):
    doc = from_csv(GP)
    doc.resource_version = "5"
    with session_scope(store) as s:
        ingest(s, doc)
    old = from_csv(GP.replace("Amlodipine", "Amlodipine besilate"))
    old.resource_version = "4"
    with pytest.raises(RecordError, match="older version"), session_scope(store) as s:
        ingest(s, old)
    with session_scope(store) as s:
        assert "Amlodipine besilate 5mg tablets" not in s.scalars(select(SourceItem.name)).all()


def test_unknown_patient_writes_nothing(sqlite_store):
    store = sqlite_store
    other = GP.replace("9434765919", "9000000009")
    with pytest.raises(PatientNotFound), session_scope(store) as s:
        ingest(s, from_csv(other))
    with session_scope(store) as s:
        assert s.scalar(select(func.count()).select_from(SourceList)) == 0


def test_decisions_need_the_current_etag(store, dictionary):
    with session_scope(store) as s:
        ingest(s, from_csv(GP))
        ingest(s, from_csv(HOSP))
    with session_scope(store) as s:
        view = get_record(s, NHS, INDEX, dictionary)
    types = sorted(d.type for d in view.reconciliation.discrepancies)
    assert types == ["dose", "omission"]  # 5mg vs 10mg amlodipine; warfarin missing in hospital
    omission = next(d for d in view.reconciliation.discrepancies if d.type == "omission")
    stale = view.etag
    with session_scope(store) as s:
        v = decide(
            s,
            NHS,
            omission.id,
            action="needs_gp",
            reason="check with practice",
            decided_by="pharm1",
            if_match=stale,
            index_date=INDEX,
            dictionary=dictionary,
        )
    assert v == view.version + 1
    # a second writer who read the old version is refused, and nothing is written
    with pytest.raises(VersionConflict), session_scope(store) as s:
        decide(
            s,
            NHS,
            omission.id,
            action="confirm_intended",
            reason="x",
            decided_by="pharm2",
            if_match=stale,
            index_date=INDEX,
            dictionary=dictionary,
        )
    with session_scope(store) as s:
        assert s.scalar(select(func.count()).select_from(ReconciliationDecision)) == 1
        view2 = get_record(s, NHS, INDEX, dictionary)
    assert omission.id in view2.open_ids  # needs GP stays open
    with session_scope(store) as s:
        decide(
            s,
            NHS,
            omission.id,
            action="confirm_intended",
            reason="omitted on purpose",
            decided_by="pharm1",
            if_match=view2.etag,
            index_date=INDEX,
            dictionary=dictionary,
        )
        view3 = get_record(s, NHS, INDEX, dictionary)
    assert omission.id not in view3.open_ids
    shown = next(d for d in view3.to_json()["discrepancies"] if d["id"] == omission.id)
    assert shown["decision"]["reason"] == "omitted on purpose" and shown["open"] is False


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"action": "ignore", "reason": "x"}, "action must be"),
        ({"action": "stop", "reason": " "}, "needs a reason"),
        ({"action": "stop", "reason": "x", "if_match": None}, "If-Match"),
        ({"action": "correct_source", "reason": "x", "source_label": "nowhere"}, "correct_source"),
    ],
)
def test_bad_decisions_are_refused(sqlite_store, dictionary, kwargs, words):
    store = sqlite_store
    with session_scope(store) as s:
        ingest(s, from_csv(GP))
        ingest(s, from_csv(HOSP))
        view = get_record(s, NHS, INDEX, dictionary)
    args = {
        "decided_by": "p",
        "if_match": view.etag,
        "index_date": INDEX,
        "dictionary": dictionary,
    } | kwargs
    with pytest.raises(RecordError, match=words), session_scope(store) as s:
        decide(s, NHS, view.reconciliation.discrepancies[0].id, **args)


def test_published_bundle_is_valid_r4(store, dictionary):
    from fhir.resources.R4B.bundle import Bundle

    with session_scope(store) as s:
        ingest(s, from_csv(GP))
        ingest(s, from_csv(HOSP))
        view = get_record(s, NHS, INDEX, dictionary)
    bundle = view.fhir()
    Bundle.model_validate(json.loads(json.dumps(bundle)))
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds.count("List") == 1 and kinds.count("Provenance") == 1
    assert kinds.count("MedicationStatement") == 2 and kinds.count("DetectedIssue") == 2
    issue = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DetectedIssue"
    )
    assert issue["patient"]["identifier"]["value"] == NHS
