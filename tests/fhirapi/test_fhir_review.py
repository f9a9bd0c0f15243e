"""Medication review findings as DetectedIssue and interventions as Task in the FHIR API
(issue 18, item 1): through the access policy, for roles that may see reviews only."""

from __future__ import annotations

import pytest
from tests.fhirapi.test_fhir_api import validate
from tests.records.test_api import ADA, GP_CSV, post_csv
from tests.review.test_web import TODAY, ics  # noqa: F401 (fixture)

from ipmo.review.fhir_output import RULE_SYSTEM


@pytest.fixture
def reviewed(ics, client_as):  # noqa: F811 (the review tests' fixture)
    """ADA on ibuprofen and warfarin (PINCER findings: the review tests' ``ics``), and a review
    stopping the ibuprofen."""
    c = client_as("pcn.pharmacist")
    assert post_csv(c, ADA, GP_CSV).status_code == 201
    r = c.post(
        f"/api/review/patients/{ADA}/reviews",
        json={
            "review_date": TODAY.isoformat(),
            "findings_addressed": ["PINCER-D"],
            "interventions": [{"kind": "stop", "medicine": "Ibuprofen 400mg tablets"}],
            "shared_decision": "Stop ibuprofen",
        },
    )
    assert r.status_code == 201, r.text
    return c


def test_review_findings_are_detected_issues(reviewed, client_as):
    bundle = reviewed.get("/fhir/R4/DetectedIssue", params={"patient": ADA}).json()
    validate(bundle)
    issues = [e["resource"] for e in bundle["entry"]]
    rules = {
        i["code"]["coding"][0]["code"]
        for i in issues
        if i["code"]["coding"][0]["system"] == RULE_SYSTEM
    }
    assert {"PINCER-A", "PINCER-D"} <= rules
    finding = next(i for i in issues if i["code"]["coding"][0].get("code") == "PINCER-D")
    assert finding["patient"]["reference"] == f"Patient/{ADA}" and "criterion" in finding["detail"]
    # a role that may read the record but not reviews: the reconciliation issues only
    other = client_as("community.pharmacist").get("/fhir/R4/DetectedIssue", params={"patient": ADA})
    assert other.status_code == 200
    assert all(
        i["resource"]["code"]["coding"][0]["system"] != RULE_SYSTEM
        for i in other.json().get("entry", [])
    )


def test_review_interventions_are_tasks(reviewed, client_as):
    bundle = reviewed.get("/fhir/R4/Task", params={"patient": ADA}).json()
    validate(bundle)
    [task] = [e["resource"] for e in bundle["entry"]]
    assert task["id"].startswith("review-intervention-")
    assert (task["status"], task["intent"], task["code"]["coding"][0]["code"]) == (
        "requested",
        "proposal",
        "stop",
    )
    assert task["for"]["reference"] == f"Patient/{ADA}"
    assert (
        reviewed.get("/fhir/R4/Task", params={"patient": ADA, "status": "completed"}).json()[
            "total"
        ]
        == 0
    )
    read = reviewed.get(f"/fhir/R4/Task/{task['id']}")
    assert read.status_code == 200 and read.json() == task and read.headers["etag"]
    for missing in ("review-intervention-999999", "review-intervention-x"):
        r = reviewed.get(f"/fhir/R4/Task/{missing}")
        assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"
    # a role without review.view does not see interventions (but may see referrals)
    other = client_as("community.pharmacist")
    assert other.get(f"/fhir/R4/Task/{task['id']}").status_code == 404
    assert other.get("/fhir/R4/Task", params={"patient": ADA}).json()["total"] == 0
