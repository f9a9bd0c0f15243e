"""Issue 6: "Interventions become proposed changes on the One Medication Record and are audited".
A review's stop/start/switch/dose-change interventions (accepted in the shared decision) show on
the patient's record as pending proposals, each with an audit entry; monitoring and referral
interventions, and changes the patient declined, do not. When the proposal is accepted or
rejected on the record, the intervention becomes applied or rejected with the reason."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from ipmo.patients.models import Patient
from ipmo.review.models import Intervention, MedicationReview
from ipmo.review.service import proposal_outcome
from ipmo.security.models import AuditEvent
from ipmo.store import session_scope

ADA = "9990000018"  # registered at A10001: the PCN pharmacist has a relationship with her
NOON = datetime(2026, 6, 15, 12)  # the app's clock (UTC): the record's index date
DAY = NOON.date()  # the reviews' date


def _pharmacist(client_as):
    c = client_as("pcn.pharmacist")
    c.app.state.clock = lambda: NOON
    return c


def test_stop_intervention_becomes_a_pending_change_on_the_record(sample_ics, client_as):
    c = _pharmacist(client_as)
    before = c.get(f"/api/records/patients/{ADA}")
    assert before.status_code == 200 and before.json()["proposed_changes"] == []
    r = c.post(
        f"/api/review/patients/{ADA}/reviews",
        json={
            "review_date": DAY.isoformat(),
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
    c = _pharmacist(client_as)
    r = c.post(
        f"/api/review/patients/{ADA}/reviews",
        json={
            "review_date": DAY.isoformat(),
            "interventions": [{"kind": "stop"}],
            "shared_decision": "Stop something",
        },
    )
    assert r.status_code == 422 and "must name the medicine" in r.text
    assert c.get(f"/api/review/patients/{ADA}/reviews").json() == []
    assert c.get(f"/api/records/patients/{ADA}").json()["proposed_changes"] == []


def _intervention(engine, kind: str = "stop") -> int:
    with session_scope(engine) as s:
        ada = s.scalars(select(Patient).filter_by(nhs_number=ADA)).one()
        review = MedicationReview(patient_id=ada.id, reviewer="p", review_date=DAY)
        review.interventions.append(Intervention(kind=kind, medicine="Ibuprofen 400mg tablets"))
        s.add(review)
        s.flush()
        return review.interventions[0].id


def test_an_accepted_proposal_marks_the_intervention_applied(sample_ics):
    iid = _intervention(sample_ics)
    at = datetime(2026, 1, 2, 3, 4)
    with session_scope(sample_ics) as s:
        proposal_outcome(s, str(iid), status="accepted", reason=None, by="pharm", at=at)
    with session_scope(sample_ics) as s:
        i = s.get(Intervention, iid)
        assert (i.status, i.outcome_by, i.outcome_at, i.outcome_reason) == (
            "applied",
            "pharm",
            at,
            None,
        )


def test_a_rejected_proposal_marks_the_intervention_rejected_with_the_reason(sample_ics):
    iid = _intervention(sample_ics)
    with session_scope(sample_ics) as s:
        proposal_outcome(s, str(iid), status="rejected", reason="not tolerated", by="gp", at=NOON)
    with session_scope(sample_ics) as s:
        i = s.get(Intervention, iid)
        assert (i.status, i.outcome_reason) == ("rejected", "not tolerated")


def test_an_unknown_outcome_is_refused_and_a_missing_intervention_ignored(sample_ics):
    iid = _intervention(sample_ics)
    with (
        pytest.raises(ValueError, match="unknown proposal outcome"),
        session_scope(sample_ics) as s,
    ):
        proposal_outcome(s, str(iid), status="pending", reason=None, by="x", at=None)
    with session_scope(sample_ics) as s:
        assert s.get(Intervention, iid).status == "proposed"
        proposal_outcome(s, "999999", status="accepted", reason=None, by="x", at=None)  # no error
        proposal_outcome(s, "not-a-number", status="accepted", reason=None, by="x", at=None)
