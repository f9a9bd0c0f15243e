"""Recording a review is idempotent with a key (issue 12: a resend loop stored 1,466 duplicates):
the same Idempotency-Key from the same organisation returns the first review and stores nothing;
the key used for another patient is refused; another organisation's key is its own."""

from __future__ import annotations

from sqlalchemy import func, select

from ipmo.review.models import MedicationReview
from ipmo.security.models import AuditEvent
from ipmo.store import session_scope

ADA = "9990000018"  # registered at A10001 (the demo GP's practice, in the PCN's U10001)
BERT = "9990000026"
BODY = {"review_date": "2026-11-18", "shared_decision": "Stop naproxen", "notes": "resent"}


def _reviews(engine) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(MedicationReview))


def test_a_resend_with_the_same_key_stores_nothing_new(client_as, sample_ics):
    gp = client_as("gp")
    url = f"/api/review/patients/{ADA}/reviews"
    first = gp.post(url, json=BODY, headers={"Idempotency-Key": "review-1"})
    assert first.status_code == 201, first.text
    for _ in range(3):
        again = gp.post(url, json=BODY, headers={"Idempotency-Key": "review-1"})
        assert again.status_code == 200 and again.headers["X-Idempotent-Replay"] == "true"
        assert again.json()["id"] == first.json()["id"]
    assert _reviews(sample_ics) == 1
    with session_scope(sample_ics) as s:
        replays = s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "review.record.replay")
        )
    assert replays == 3
    # without a key every post is a new review (as before)
    assert gp.post(url, json=BODY).status_code == 201
    assert _reviews(sample_ics) == 2


def test_a_key_reused_for_another_patient_is_refused(client_as, sample_ics):
    gp = client_as("gp")
    key = {"Idempotency-Key": "review-2"}
    assert gp.post(f"/api/review/patients/{ADA}/reviews", json=BODY, headers=key).status_code == 201
    other = gp.post(f"/api/review/patients/{BERT}/reviews", json=BODY, headers=key)
    assert other.status_code == 409 and "another patient" in other.json()["detail"]
    assert _reviews(sample_ics) == 1


def test_keys_are_each_organisations_own(client_as, sample_ics):
    key = {"Idempotency-Key": "review-3"}
    url = f"/api/review/patients/{ADA}/reviews"
    assert client_as("gp").post(url, json=BODY, headers=key).status_code == 201
    pcn = client_as("pcn.pharmacist").post(url, json=BODY, headers=key)
    assert pcn.status_code == 201 and "X-Idempotent-Replay" not in pcn.headers
    assert _reviews(sample_ics) == 2


def test_the_review_form_carries_a_key_so_a_double_submit_records_once(client_as, sample_ics):
    import re

    gp = client_as("gp")
    page = gp.get(f"/review/patients/{ADA}").text
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page)
    assert key, "the review form has no idempotency key"
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    form = {"shared_decision": "Continue", "idempotency_key": key.group(1)}
    if token:
        form["csrf_token"] = token.group(1)
    for _ in range(2):
        r = gp.post(f"/review/patients/{ADA}", data=form, follow_redirects=False)
        assert r.status_code == 303, r.text
    assert _reviews(sample_ics) == 1
