"""The Pharmacy First API end to end: a walk-in UTI consultation supplied under a PGD, its
Update Record, claim readiness; bad input refused with a sentence and nothing written."""

from __future__ import annotations

from sqlalchemy import func, select

from ipmo.pharmacyfirst.models import Consultation
from ipmo.store import session_scope

from .conftest import CARA, NITROFURANTOIN_MR

BASE = "/api/pharmacy-first"
ANSWERS = {
    "urinary_catheter": False,
    "recurrent_uti": False,
    "dysuria": True,
    "new_nocturia": True,
    "cloudy_urine": True,
    "vaginal_discharge": False,
    "renal_impairment": False,
    "pregnant": False,
}


def _new(client, **kw):
    body = {"nhs_number": CARA, "pathway": "uti", "consulted_on": "2026-11-18"} | kw
    return client.post(f"{BASE}/consultations", json=body, headers={"Idempotency-Key": "a-1"})


def test_a_pharmacist_takes_a_walk_in_through_the_uti_pathway(client_as):
    client = client_as("community.pharmacist")
    pathways = client.get(f"{BASE}/pathways", params={"on": "2026-11-18"}).json()
    assert [p["code"] for p in pathways][-1] == "uti"
    started = _new(client)
    assert started.status_code == 201, started.text
    ref = started.json()["reference"]
    again = _new(client)  # same Idempotency-Key: same consultation, answered as a replay
    assert again.status_code == 200 and again.headers["X-Idempotent-Replay"] == "true"
    assert again.json()["reference"] == ref
    assert "X-Idempotent-Replay" not in started.headers
    body = {"answers": ANSWERS, "red_flags": [], "version": started.json()["version"]}
    assessed = client.post(f"{BASE}/consultations/{ref}/assessment", json=body).json()
    assert assessed["gateway_passed"] is True
    assert {c["id"] for c in assessed["gateway"]} >= {"age", "sex", "pregnant"}
    assert all(c["source"] for c in assessed["gateway"])
    supply = {
        "outcome": "supplied",
        "consent": True,
        "version": assessed["version"],
        "items": [{"dmd_code": NITROFURANTOIN_MR, "quantity": 6}],
    }
    done = client.post(f"{BASE}/consultations/{ref}/outcome", json=supply)
    assert done.status_code == 200, done.text
    assert done.json()["items"][0]["name"].startswith("Nitrofurantoin 100mg")
    message = client.get(f"{BASE}/consultations/{ref}/update-record").json()
    assert message["resourceType"] == "Bundle" and message["type"] == "message"
    claims = client.get(f"{BASE}/claims", params={"month": "2026-11"}).json()
    assert [(c["reference"], c["ready"], c["missing"]) for c in claims] == [(ref, True, [])]


def test_bad_input_is_a_422_sentence_and_nothing_is_written(client_as, sample_ics):
    client = client_as("community.pharmacist")
    unknown = _new(client, pathway="earache")
    assert unknown.status_code == 422 and "unknown pathway" in unknown.json()["detail"]
    ref = client.post(
        f"{BASE}/consultations",
        json={"nhs_number": CARA, "pathway": "uti", "consulted_on": "2026-11-18"},
    ).json()["reference"]
    client.post(
        f"{BASE}/consultations/{ref}/assessment",
        json={"answers": ANSWERS | {"recurrent_uti": True}},
    )
    refused = client.post(
        f"{BASE}/consultations/{ref}/outcome",
        json={"outcome": "supplied", "consent": True, "items": [{"dmd_code": NITROFURANTOIN_MR}]},
    )
    assert refused.status_code == 422
    assert "Not recurrent UTI" in refused.json()["detail"]
    with session_scope(sample_ics) as s:
        assert s.scalar(select(Consultation.status).where(Consultation.reference == ref)) == (
            "in-progress"
        )
        assert s.scalar(select(func.count()).select_from(Consultation)) == 1


def test_people_without_the_activity_are_refused(client_as):
    analyst = client_as("workforce.lead")
    assert analyst.get(f"{BASE}/pathways", params={"on": "2026-11-18"}).status_code == 403
    assert analyst.get(f"{BASE}/claims", params={"month": "2026-11"}).status_code == 403
