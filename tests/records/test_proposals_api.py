"""REST: accept or reject a proposed change (SQLite and PostgreSQL). Access-checked and audited
like every patient write; If-Match required (428), stale refused (412), acting twice refused
(409); the reviewer's API and the published FHIR List show the outcome."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from ipmo.records.models import RecordAmendment
from ipmo.security.models import AuditEvent
from ipmo.store import session_scope

ADA = "9990000018"  # Riverside PCN (A10001), nominated pharmacy FA001
DEV = "9990000042"  # Hillside PCN: no relationship for the Riverside PCN pharmacist
NOON = datetime(2026, 6, 15, 12)  # the app's clock (UTC): the record's today
TODAY = NOON.date()
AUTHORED = (TODAY - timedelta(days=60)).isoformat()
GP = f"""nhs_number,source_kind,source_org_code,name,status,dose_text,authored_on,category
{ADA},gp,A10001,Ibuprofen 400mg tablets,active,1 tablet three times a day,{AUTHORED},repeat
{ADA},gp,A10001,Amlodipine 5mg tablets,active,1 tablet once a day,{AUTHORED},repeat
"""
RECORD = f"/api/records/patients/{ADA}"


@pytest.fixture
def app_clock():
    return lambda: NOON


def _propose(c, *interventions) -> tuple[list[int], str]:
    """GP list + a review with ``interventions``; returns (proposal ids, the record's ETag)."""
    r = c.post(f"{RECORD}/sources", content=GP, headers={"content-type": "text/csv"})
    assert r.status_code == 201, r.text
    review = {
        "review_date": TODAY.isoformat(),
        "interventions": list(interventions),
        "shared_decision": "agreed with Ada",
    }
    assert c.post(f"/api/review/patients/{ADA}/reviews", json=review).status_code == 201
    r = c.get(RECORD)
    return [p["id"] for p in r.json()["proposed_changes"]], r.headers["ETag"]


def _line(c, name: str) -> dict:
    return next(m for m in c.get(RECORD).json()["medications"] if m["name"] == name)


STOP = {"kind": "stop", "medicine": "Ibuprofen 400mg tablets", "detail": "GI risk"}


def test_accept_applies_the_change_and_the_fhir_list_shows_it(ics_any, client_on):
    c = client_on(ics_any, "pcn.pharmacist")
    [pid], etag = _propose(c, STOP)
    url = f"{RECORD}/proposed-changes/{pid}/accept"
    assert c.post(url).status_code == 428
    stale = c.post(url, headers={"If-Match": 'W/"1"'})
    assert stale.status_code == 412 and stale.headers["ETag"] == etag
    ok = c.post(url, headers={"If-Match": etag})
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["proposed_change"]["status"] == "accepted"
    assert ok.headers["ETag"] == f'W/"{body["version"]}"' != etag
    assert _line(c, "Ibuprofen")["status"] == "stopped"
    assert _line(c, "Ibuprofen")["changes"][0]["kind"] == "stop"
    record = c.get(RECORD).json()
    assert record["proposed_changes"] == [] and record["resolved_changes"][0]["id"] == pid
    fhir = c.get("/fhir/R4/List", params={"patient": ADA, "_include": "List:item"})
    assert fhir.headers["ETag"] == ok.headers["ETag"]
    resources = [e["resource"] for e in fhir.json()["entry"]]
    [med_list] = [r for r in resources if r["resourceType"] == "List"]
    assert med_list["meta"]["versionId"] == str(body["version"])
    statements = {
        r["medicationCodeableConcept"].get("text")
        or r["medicationCodeableConcept"]["coding"][0]["display"]: r
        for r in resources
        if r["resourceType"] == "MedicationStatement"
    }
    ibuprofen = next(v for k, v in statements.items() if "buprofen" in k)
    assert ibuprofen["status"] == "stopped" and "Stopped on" in ibuprofen["note"][0]["text"]
    # the reviewer sees the intervention applied
    [review] = c.get(f"/api/review/patients/{ADA}/reviews").json()
    assert review["interventions"][0]["status"] == "applied"


def test_accepting_twice_is_a_conflict_and_changes_nothing(ics_any, client_on):
    c = client_on(ics_any, "pcn.pharmacist")
    [pid], etag = _propose(c, STOP)
    url = f"{RECORD}/proposed-changes/{pid}/accept"
    first = c.post(url, headers={"If-Match": etag})
    assert first.status_code == 200
    for tag in (first.headers["ETag"], etag):
        again = c.post(url, headers={"If-Match": tag})
        assert again.status_code == 409 and "already accepted" in again.json()["detail"]
    assert c.get(RECORD).headers["ETag"] == first.headers["ETag"]
    with session_scope(ics_any) as s:
        [amendment] = s.scalars(select(RecordAmendment)).all()
        assert amendment.effective_on == TODAY  # from the app's today (records.amend M1)


def test_reject_needs_a_reason_and_the_reviewer_sees_it(ics_any, client_on):
    c = client_on(ics_any, "pcn.pharmacist")
    [pid], etag = _propose(c, STOP)
    url = f"{RECORD}/proposed-changes/{pid}/reject"
    assert c.post(url, json={}, headers={"If-Match": etag}).status_code == 422
    blank = c.post(url, json={"reason": "  "}, headers={"If-Match": etag})
    assert blank.status_code == 422 and "needs a reason" in blank.text
    assert c.post(url, json={"reason": "x"}).status_code == 428
    ok = c.post(url, json={"reason": "Pain not controlled otherwise"}, headers={"If-Match": etag})
    assert ok.status_code == 200 and ok.json()["proposed_change"]["status"] == "rejected"
    assert _line(c, "Ibuprofen")["status"] == "current"
    [review] = c.get(f"/api/review/patients/{ADA}/reviews").json()
    intervention = review["interventions"][0]
    assert intervention["status"] == "rejected"
    assert intervention["outcome"]["reason"] == "Pain not controlled otherwise"
    assert intervention["outcome"]["by"] == "pcn.pharmacist"
    accept_url = f"{RECORD}/proposed-changes/{pid}/accept"
    accept = c.post(accept_url, headers={"If-Match": ok.headers["ETag"]})
    assert accept.status_code == 409 and "already rejected" in accept.text


def test_a_change_that_does_not_fit_is_refused_with_the_reason(ics_any, client_on):
    c = client_on(ics_any, "pcn.pharmacist")
    [dose], etag = _propose(c, {"kind": "dose_change", "medicine": "Amlodipine 5mg tablets"})
    url = f"{RECORD}/proposed-changes/{dose}/accept"
    r = c.post(url, headers={"If-Match": etag})
    assert r.status_code == 422 and "needs the new dose" in r.text
    r = c.post(url, json={"dose_text": "2 tablets once a day"}, headers={"If-Match": etag})
    assert r.status_code == 200 and _line(c, "Amlodipine")["dose_text"] == "2 tablets once a day"


def test_only_record_writers_with_a_relationship_may_act(ics_any, client_on):
    pharmacist = client_on(ics_any, "pcn.pharmacist")
    [pid], etag = _propose(pharmacist, STOP)
    url = f"{RECORD}/proposed-changes/{pid}/accept"
    analyst = client_on(ics_any, "analyst")  # no record.reconcile activity
    assert analyst.post(url, headers={"If-Match": etag}).status_code == 403
    # a pharmacist without a relationship to the patient: refused and the refusal audited
    other = f"/api/records/patients/{DEV}/proposed-changes/{pid}/accept"
    assert pharmacist.post(other, headers={"If-Match": etag}).status_code == 403
    with session_scope(ics_any) as s:
        refused = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "record.proposal.accept", AuditEvent.outcome == "refused"
            )
        ).one()
        assert refused.patient_nhs_number == DEV
    missing = f"{RECORD}/proposed-changes/999999/accept"
    assert pharmacist.post(missing, headers={"If-Match": etag}).status_code == 404
    # the community pharmacist at Ada's nominated pharmacy may accept it
    community = client_on(ics_any, "community.pharmacist")
    ok = community.post(url, headers={"If-Match": etag})
    assert ok.status_code == 200, ok.text
    assert ok.json()["proposed_change"]["resolution"]["by"] == "community.pharmacist"
    with session_scope(ics_any) as s:
        permitted = s.scalars(
            select(AuditEvent.username).where(
                AuditEvent.action == "record.proposal.accept", AuditEvent.outcome == "permitted"
            )
        ).all()
    # the 404 attempt's access check, then the community pharmacist's access check and change
    assert permitted == ["pcn.pharmacist", "community.pharmacist", "community.pharmacist"]
