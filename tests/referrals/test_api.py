"""REST and FHIR messaging: bad input refused with nothing stored, idempotency, access limited to
the organisations involved (every access audited), conflicts as 409."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from ipmo.referrals.models import OutboxMessage
from ipmo.security.models import AuditEvent
from ipmo.store import session_scope

from .apihelpers import always_open, message, post, referrals


def audit(engine) -> list[AuditEvent]:
    """Audit entries written by this test (the log is shared by the module's tests)."""
    with session_scope(engine) as s:
        rows = s.scalars(
            select(AuditEvent).where(AuditEvent.seq > MARK[0]).order_by(AuditEvent.seq)
        ).all()
        s.expunge_all()
        return rows


MARK = [0]


@pytest.fixture(autouse=True)
def _audit_mark(mod, sample_ics):
    MARK[0] = mod.audit_mark


def _without(kind: str) -> dict:
    body = message()
    body["entry"] = [e for e in body["entry"] if e["resource"]["resourceType"] != kind]
    return body


def _stu3_header() -> dict:
    body = message()
    header = body["entry"][0]["resource"]
    header["event"] = header.pop("eventCoding")  # STU3 MessageHeader.event
    return body


@pytest.mark.parametrize(
    "body, ctype, status, code, text",
    [
        (message(service="hair-cut"), None, 422, "not-supported", "unknown service"),
        (message(receiver="FX999"), None, 422, "not-found", "unknown pharmacy FX999"),
        (message(receiver="SHUT1"), None, 422, "business-rule", "not open before"),
        (message(receiver="A10001"), None, 422, "not-supported", "not a community pharmacy"),
        (message(nhs_number="9990000019"), None, 400, "value", "Modulus 11"),
        (_without("Patient"), None, 400, "required", "no Patient"),
        (_without("Task"), None, 400, "required", "no Task"),
        (_without("ServiceRequest"), None, 400, "required", "no ServiceRequest"),
        (message(), "application/fhir+json; fhirVersion=3.0", 415, "not-supported", "R4"),
        (_stu3_header(), None, 400, "structure", "not a valid FHIR R4"),
        ({**message(), "meta": {"versionId": "2.0.0"}}, None, 422, "not-supported", "2.0.0"),
        ({**message(), "type": "collection"}, None, 400, "structure", "type 'message'"),
        ("{not json", None, 400, "invalid", "malformed JSON"),
    ],
    ids=[
        "unknown-service",
        "unknown-pharmacy",
        "closed-pharmacy",
        "not-a-pharmacy",
        "invalid-nhs-number",
        "no-patient",
        "no-task",
        "no-service-request",
        "fhir-version-header",
        "stu3-resource",
        "bars-version",
        "not-a-message",
        "malformed",
    ],
)
def test_bad_messages_get_operation_outcome_and_nothing_is_stored(
    mod, sample_ics, body, ctype, status, code, text
):
    from sqlalchemy import update

    from ipmo.organisations.models import Organisation

    always_open(sample_ics, "SHUT1")
    with session_scope(sample_ics) as s:
        s.execute(
            update(Organisation).where(Organisation.ods_code == "SHUT1").values(opening_hours={})
        )
    r = post(mod.client("nhs111"), body, ctype or "application/fhir+json")
    assert r.status_code == status, r.text
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == code and text in outcome["issue"][0]["diagnostics"]
    assert referrals(sample_ics) == [] and audit(sample_ics) == []


def test_same_message_id_twice_is_accepted_once(mod, sample_ics):
    body = message(receiver="FA001")
    first, second = post(mod.client("nhs111"), body), post(mod.client("nhs111"), body)
    assert first.status_code == second.status_code == 200
    ref = first.json()["entry"][1]["resource"]["identifier"][0]["value"]
    assert second.json()["entry"][1]["resource"]["identifier"][0]["value"] == ref
    assert [r.reference for r in referrals(sample_ics)] == [ref]


def test_senders_need_the_referral_send_activity(mod, sample_ics):
    r = post(mod.client("analyst"), message())
    # a FHIR route refuses with an OperationOutcome (issue 18)
    assert r.status_code == 403 and r.json()["resourceType"] == "OperationOutcome"
    assert "referral.send" in r.json()["issue"][0]["diagnostics"]
    from fastapi.testclient import TestClient

    anonymous = TestClient(mod.app)
    assert post(anonymous, message()).status_code == 401


def test_bearer_token_sender_and_cancellation_by_message(mod, sample_ics):
    from ipmo.security.models import User
    from ipmo.security.tokens import issue_token

    with session_scope(sample_ics) as s:
        user = s.scalar(select(User).where(User.username == "nhs111"))
        token = issue_token("k", user.id, user.token_generation)
    from fastapi.testclient import TestClient

    system = TestClient(mod.app, headers={"Authorization": f"Bearer {token}"})
    body = message(receiver="FA001")
    assert post(system, body).status_code == 200
    cancel = json.loads(json.dumps(body))
    cancel["id"] = "cancel-1"
    cancel["entry"][0]["resource"]["reason"]["coding"][0]["code"] = "update"
    sr = cancel["entry"][1]["resource"]
    sr["status"] = "revoked"
    sr["identifier"] = [{"system": "urn:bars:original-message", "value": body["id"]}]
    r = post(system, cancel)
    assert r.status_code == 200, r.text
    assert referrals(sample_ics)[0].status == "cancelled"
    assert post(system, cancel).status_code == 200  # the retried cancellation is idempotent too


def test_only_involved_organisations_see_a_referral_and_every_access_is_audited(mod, sample_ics):
    ref = post(mod.client("nhs111"), message(receiver="FA001")).json()["entry"][1]["resource"][
        "identifier"
    ][0]["value"]
    expected = {
        "nhs111": 200,  # referrer
        "community.pharmacist": 200,  # FA001, the receiver
        "gp": 200,  # Ada's practice A10001 gets the outcome
        "pcn.pharmacist": 200,  # the practice's PCN
        "safety.officer": 200,  # ICS-wide role
        "hospital.pharmacist": 403,  # not involved
        "analyst": 403,  # no referral.view activity
    }
    for user, status in expected.items():
        r = mod.client(user).get(f"/api/referrals/{ref}")
        assert r.status_code == status, (user, r.text)
        listed = mod.client(user).get("/api/referrals")
        if status == 200:
            assert [x["reference"] for x in listed.json()] == [ref]
    reads = [(a.username, a.outcome) for a in audit(sample_ics) if a.action == "referral.read"]
    assert ("hospital.pharmacist", "refused") in reads
    assert {u for u, o in reads if o == "permitted"} == {u for u, s in expected.items() if s == 200}
    assert all(
        a.patient_nhs_number == "9990000018"
        for a in audit(sample_ics)
        if a.action == "referral.read"
    )


def test_two_accepts_one_wins_the_other_gets_409_and_outcome_reaches_referrer(mod, sample_ics):
    nhs111, pharmacist = mod.client("nhs111"), mod.client("community.pharmacist")
    ref = post(nhs111, message(receiver="FA001")).json()["entry"][1]["resource"]["identifier"][0][
        "value"
    ]
    version = pharmacist.get(f"/api/referrals/{ref}").json()["version"]  # reading marks it received
    first = pharmacist.post(f"/api/referrals/{ref}/accept", json={"version": version})
    second = pharmacist.post(f"/api/referrals/{ref}/accept", json={"version": version})
    assert first.status_code == 200 and second.status_code == 409
    assert "changed since you opened it" in second.json()["detail"]
    done = pharmacist.post(
        f"/api/referrals/{ref}/outcome",
        json={"outcome": "supplied", "note": "7 days supplied", "version": first.json()["version"]},
    )
    assert done.status_code == 200 and done.json()["status"] == "completed"
    seen = nhs111.get(f"/api/referrals/{ref}").json()
    assert (seen["status"], seen["outcome"], seen["outcome_note"]) == (
        "completed",
        "supplied",
        "7 days supplied",
    )
    with session_scope(sample_ics) as s:
        assert sorted(s.scalars(select(OutboxMessage.recipient_org_code))) == ["A10001", "NHS111"]


def test_filters_and_rest_errors(mod, sample_ics):
    nhs111, pharmacist = mod.client("nhs111"), mod.client("community.pharmacist")
    post(nhs111, message(receiver="FA001"))
    post(nhs111, message(receiver="FB001", service="pharmacy-first"))
    assert [r["pharmacy"] for r in nhs111.get("/api/referrals?pharmacy=FB001").json()] == ["FB001"]
    assert [r["service"] for r in nhs111.get("/api/referrals?service=pharmacy-first").json()] == [
        "pharmacy-first"
    ]
    assert nhs111.get("/api/referrals?status=completed").json() == []
    assert nhs111.get("/api/referrals?overdue=true").json() == []
    ref = pharmacist.get("/api/referrals").json()[0]["reference"]
    bad = pharmacist.post(f"/api/referrals/{ref}/outcome", json={"outcome": "no-supply"})
    assert bad.status_code == 422 and "needs a reason" in bad.json()["detail"]
    assert pharmacist.post("/api/referrals/R-NOPE/accept").status_code == 404
    other = [r for r in nhs111.get("/api/referrals").json() if r["pharmacy"] == "FB001"][0]
    assert pharmacist.post(f"/api/referrals/{other['reference']}/accept").status_code == 403
    created = nhs111.post(
        "/api/referrals",
        json={
            "service": "urgent-repeat-supply",
            "nhs_number": "9990000034",
            "no_relationship_reason": "NHS 111 caller",
        },
    )
    assert created.status_code == 201 and created.json()["pharmacy"] == "FA001"  # Cara's nomination


def test_escalate_to_the_gp_completes_as_referred_on_and_opens_an_escalation(mod, sample_ics):
    """``POST …/escalate`` is the outcome referred-on with where to: this referral completes and
    an escalation referral to the patient's practice (Ada's: A10001) is opened."""
    nhs111, pharmacist = mod.client("nhs111"), mod.client("community.pharmacist")
    ref = post(nhs111, message(receiver="FA001")).json()["entry"][1]["resource"]["identifier"][0][
        "value"
    ]
    version = pharmacist.get(f"/api/referrals/{ref}").json()["version"]
    r = pharmacist.post(
        f"/api/referrals/{ref}/escalate",
        json={"to": "gp", "note": "needs a GP review", "version": version},
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["status"], done["outcome"], done["escalated_to"]) == (
        "completed",
        "referred-on",
        "gp",
    )
    assert done["outcome_note"] == "needs a GP review"
    rows = referrals(sample_ics)
    parent = next(x for x in rows if x.reference == ref)
    opened = [(x.service, x.target_org_code) for x in rows if x.parent_id == parent.id]
    assert opened == [("escalation", "A10001")]
