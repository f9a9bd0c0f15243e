"""Role × route for every FHIR route (issue 18, item 6): each route is listed here with the
activity it needs, a route not listed fails the test, and every demo role (and nobody signed in)
is tried on every route over HTTP. A role without the activity gets 403 (an OperationOutcome
naming the activity); a role with it is never refused for its role (a patient it has no
relationship with is the access policy's separate, audited refusal)."""

from __future__ import annotations

import pytest
from tests.fhirapi.test_fhir_api import _all_routes
from tests.records.test_api import ADA

from ipmo.security import Activity
from ipmo.security.roles import get_role
from ipmo.security.users import DEMO_USERS

A = Activity
PUBLIC = None
SIGNED_IN = "any signed-in user"
# (method, route) → the activity it needs (the spec of this test, written out by hand)
EXPECTED: dict[tuple[str, str], Activity | str | None] = {
    ("GET", "/fhir/R4/metadata"): PUBLIC,
    ("GET", "/fhir/R4/Patient"): A.RECORD_VIEW,
    ("GET", "/fhir/R4/Patient/{nhs_number}"): A.RECORD_VIEW,
    ("GET", "/fhir/R4/Organization"): SIGNED_IN,
    ("GET", "/fhir/R4/Organization/{ods_code}"): SIGNED_IN,
    ("GET", "/fhir/R4/List"): A.RECORD_VIEW,
    ("GET", "/fhir/R4/MedicationStatement"): A.RECORD_VIEW,
    ("GET", "/fhir/R4/DetectedIssue"): A.RECORD_VIEW,
    ("GET", "/fhir/R4/Provenance"): A.RECORD_VIEW,
    ("GET", "/fhir/R4/MedicationRequest"): A.RECORD_VIEW,
    ("GET", "/fhir/R4/MedicationRequest/{rid}"): A.RECORD_VIEW,
    ("GET", "/fhir/R4/MedicationDispense"): A.RECORD_VIEW,
    ("GET", "/fhir/R4/MedicationDispense/{rid}"): A.RECORD_VIEW,
    ("GET", "/fhir/R4/Task"): A.REFERRAL_VIEW,
    ("GET", "/fhir/R4/Task/{reference}"): A.REFERRAL_VIEW,
    ("PUT", "/fhir/R4/Task/{reference}"): A.REFERRAL_RECEIVE,
    ("PATCH", "/fhir/R4/Task/{reference}"): A.REFERRAL_RECEIVE,
    ("GET", "/fhir/R4/ServiceRequest"): A.REFERRAL_VIEW,
    ("GET", "/fhir/R4/ServiceRequest/{reference}"): A.REFERRAL_VIEW,
    ("POST", "/fhir/R4/$process-message"): A.REFERRAL_SEND,
    ("GET", "/fhir/R4/$export"): A.ANALYTICS_EXPORT,
    ("GET", "/fhir/bulkstatus/{job_id}"): A.ANALYTICS_EXPORT,
    ("DELETE", "/fhir/bulkstatus/{job_id}"): A.ANALYTICS_EXPORT,
    ("GET", "/fhir/bulkfiles/{job_id}/{name}"): A.ANALYTICS_EXPORT,
}
PATH_VALUES = {
    "nhs_number": ADA,
    "ods_code": "A10001",
    "rid": "1-0",
    "reference": "no-such-referral",
    "job_id": "00000000-0000-4000-8000-000000000000",
    "name": "Patient.ndjson",
}
USERS = [u[0] for u in DEMO_USERS]


def _fhir_routes(app) -> set[tuple[str, str]]:
    return {
        (method, r.path)
        for r in _all_routes(app)
        if r.path.startswith("/fhir/")
        for method in r.methods - {"HEAD"}
    }


def _call(client, method: str, path: str):
    url = path.format(**PATH_VALUES)
    params = {"patient": ADA} if path.count("/") == 3 and "$" not in path else {}
    if path == "/fhir/R4/Patient":
        params = {"identifier": ADA}
    elif path in ("/fhir/R4/Organization", "/fhir/R4/metadata"):
        params = {}
    headers = {"Prefer": "respond-async", "Content-Type": "application/fhir+json"}
    body = b"{}" if method in ("PUT", "PATCH", "POST") else None
    return client.request(method, url, params=params, headers=headers, content=body)


def test_every_fhir_route_has_an_expectation(client_as):
    c = client_as(None)
    c.get("/fhir/R4/metadata")  # the app's included routers are built on first use
    mounted = _fhir_routes(c.app)
    assert mounted == set(EXPECTED), (
        f"routes without an expectation here: {sorted(mounted - set(EXPECTED))}; "
        f"expectations without a route: {sorted(set(EXPECTED) - mounted)}"
    )


@pytest.mark.parametrize("user", [None, *USERS])
def test_role_by_route(client_as, user):
    c = client_as(user)
    role = None if user is None else get_role(next(u[2] for u in DEMO_USERS if u[0] == user))
    tried = 0
    for (method, path), needs in EXPECTED.items():
        r = _call(c, method, path)
        where = f"{user} {method} {path}: {r.status_code} {r.text[:200]}"
        if r.content:  # (a 202 kick-off has no body)
            assert r.headers["content-type"].startswith(
                ("application/fhir+json", "application/json")
            ), where
        if needs is PUBLIC:
            assert r.status_code == 200, where
        elif role is None:
            assert r.status_code == 401 and r.json()["resourceType"] == "OperationOutcome", where
        elif needs == SIGNED_IN or needs in role.activities:
            # allowed by role: any answer but a refusal for the role
            assert r.status_code != 401, where
            assert not (r.status_code == 403 and "does not include" in r.text), where
        else:
            assert r.status_code == 403, where
            issue = r.json()["issue"][0]
            assert issue["code"] == "forbidden" and str(needs) in issue["diagnostics"], where
        tried += 1
    assert tried == len(EXPECTED)
