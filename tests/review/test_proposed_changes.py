"""Issue 6: "Interventions become proposed changes on the One Medication Record and are audited".
A review's stop/start/switch/dose-change interventions (accepted in the shared decision) show on
the patient's record as pending proposals, each with an audit entry; monitoring and referral
interventions, and changes the patient declined, do not."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ipmo.security.models import AuditEvent
from ipmo.store import session_scope

ADA = "9990000018"  # registered at A10001: the PCN pharmacist has a relationship with her


def test_stop_intervention_becomes_a_pending_change_on_the_record(sample_ics, client_as):
    c = client_as("pcn.pharmacist")
    before = c.get(f"/api/records/patients/{ADA}")
    assert before.status_code == 200 and before.json()["proposed_changes"] == []
    r = c.post(
        f"/api/review/patients/{ADA}/reviews",
        json={
            "review_date": date.today().isoformat(),
            "findings_addressed": ["PINCER-D"],
            "interventions": [
                {"kind": "stop", "medicine": "Ibuprofen 400mg tablets", "detail": "GI risk"},
                {"kind": "monitoring", "detail": "U&E in 2 weeks"},
                {"kind": "start", "medicine": "Omeprazole 20mg", "accepted_by_patient": False},
            ],
            "shared_decision": "Stop ibuprofen",
        },
    )
    assert r.status_code == 201, r.text
    stop_id = r.json()["interventions"][0]["id"]
    after = c.get(f"/api/records/patients/{ADA}")
    [change] = after.json()["proposed_changes"]
    assert (change["kind"], change["medicine"], change["status"]) == (
        "stop",
        "Ibuprofen 400mg tablets",
        "pending",
    )
    assert change["origin"] == f"review-intervention:{stop_id}"
    assert after.headers["ETag"] != before.headers["ETag"]
    page = c.get(f"/records/patients/{ADA}")
    assert "Proposed changes (pending)" in page.text and "Ibuprofen 400mg tablets" in page.text
    with session_scope(sample_ics) as s:
        event = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "record.propose_change")
        ).one()
        assert event.patient_nhs_number == ADA and event.username == "pcn.pharmacist"
        assert event.detail["proposal_id"] == change["id"]


def test_a_change_without_a_medicine_is_refused_and_nothing_is_recorded(sample_ics, client_as):
    c = client_as("pcn.pharmacist")
    r = c.post(
        f"/api/review/patients/{ADA}/reviews",
        json={
            "review_date": date.today().isoformat(),
            "interventions": [{"kind": "stop"}],
            "shared_decision": "Stop something",
        },
    )
    assert r.status_code == 422 and "must name the medicine" in r.text
    assert c.get(f"/api/review/patients/{ADA}/reviews").json() == []
    assert c.get(f"/api/records/patients/{ADA}").json()["proposed_changes"] == []
