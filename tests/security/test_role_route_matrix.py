"""Role × route: every route of the app (found from the app itself, FHIR routes included), for
every demo role and for nobody signed in, is refused or allowed exactly as the table below says.

The table is the access policy's activity side, written down: a route the app has and the table
does not list fails here (add it with the activities it needs), and so does a listed route the app
no longer has. For each route and role: a role lacking an activity gets 403 naming it (for FHIR
an OperationOutcome), nothing written; a role holding them all is never refused on the activity
(it may still be refused on the patient, a 403 of the access policy, tested elsewhere); nobody
signed in gets 401 (pages: a redirect to sign-in).
"""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from ipmo.security.roles import ROLES
from ipmo.security.users import DEMO_USERS

ANYONE = ()  # no activity needed (public, or signed-in only: see SIGNED_IN)
# needs a signed-in user but no activity
SIGNED_IN = {
    ("GET", "/admin"),
    ("GET", "/api/me"),
    ("GET", "/api/pharmacy-first/claims"),
    ("GET", "/pharmacy-first/claims"),
    ("GET", "/fhir/R4/Organization"),
    ("GET", "/fhir/R4/Organization/{ods_code}"),
}
# their effect on the session (or their slowness) keeps them out of the role loop
NOT_EXERCISED = {("POST", "/sign-in"), ("POST", "/sign-out"), ("POST", "/api/auth/token")}

ROUTES: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", "/"): ANYONE,
    ("GET", "/analytics"): ("analytics.view",),
    ("GET", "/analytics/assets/{name:path}"): ANYONE,
    ("GET", "/analytics/inequalities"): ("analytics.view",),
    ("GET", "/analytics/measures/{measure_id}"): ("analytics.view",),
    ("GET", "/analytics/practice-review-rates"): ("analytics.view",),
    ("GET", "/analytics/report/{org_code}.{fmt}"): ("analytics.view",),
    ("GET", "/api/analytics/inequalities"): ("analytics.view",),
    ("GET", "/api/analytics/measures"): ("analytics.view",),
    ("GET", "/api/analytics/measures/{measure_id}/values"): ("analytics.view",),
    ("GET", "/api/analytics/overview"): ("analytics.view",),
    ("GET", "/api/analytics/practice-review-rates"): ("analytics.view",),
    ("POST", "/api/auth/token"): ANYONE,
    ("GET", "/api/carehomes/residents/{nhs_number}/findings"): ("record.view",),
    ("GET", "/api/me"): ANYONE,
    ("GET", "/api/patients/{nhs_number}"): ("record.view",),
    ("GET", "/api/plans"): ("plan.view",),
    ("POST", "/api/plans"): ("plan.edit",),
    ("GET", "/api/plans/metrics"): ("plan.view",),
    ("GET", "/api/plans/{plan_id}"): ("plan.view",),
    ("POST", "/api/plans/{plan_id}/objectives"): ("plan.edit",),
    ("POST", "/api/plans/{plan_id}/objectives/{objective_id}/pdsa"): ("plan.edit",),
    ("GET", "/api/plans/{plan_id}/report"): ("plan.view",),
    ("POST", "/api/plans/{plan_id}/stakeholders"): ("plan.edit",),
    ("GET", "/api/prescriptions"): ("record.view",),
    ("GET", "/api/records/patients/{nhs_number}"): ("record.view",),
    ("POST", "/api/records/patients/{nhs_number}/decisions"): ("record.reconcile",),
    ("POST", "/api/records/patients/{nhs_number}/proposed-changes/{proposal_id}/accept"): (
        "record.reconcile",
    ),
    ("POST", "/api/records/patients/{nhs_number}/proposed-changes/{proposal_id}/reject"): (
        "record.reconcile",
    ),
    ("POST", "/api/records/patients/{nhs_number}/sources"): ("record.reconcile",),
    ("GET", "/api/referral-activity"): ("referral.view",),
    ("GET", "/api/referral-oversight"): ("referral.oversight",),
    ("GET", "/api/referrals"): ("referral.view",),
    ("POST", "/api/referrals"): ("referral.send",),
    ("GET", "/api/referrals/{reference}"): ("referral.view",),
    ("POST", "/api/referrals/{reference}/accept"): ("referral.receive",),
    ("POST", "/api/referrals/{reference}/cancel"): ("referral.send",),
    ("GET", "/api/referrals/{reference}/dms"): ("referral.view",),
    ("POST", "/api/referrals/{reference}/dms-check"): ("referral.receive",),
    ("POST", "/api/referrals/{reference}/escalate"): ("referral.receive",),
    ("POST", "/api/referrals/{reference}/outcome"): ("referral.receive",),
    ("POST", "/api/referrals/{reference}/reject"): ("referral.receive",),
    ("POST", "/api/referrals/{reference}/start"): ("referral.receive",),
    ("GET", "/api/review/patients/{nhs_number}"): ("review.view",),
    ("GET", "/api/review/patients/{nhs_number}/reviews"): ("review.view",),
    ("POST", "/api/review/patients/{nhs_number}/reviews"): ("review.record",),
    ("GET", "/api/review/rates"): ("analytics.view",),
    ("GET", "/api/review/worklist"): ("review.view",),
    ("GET", "/api/terminology/search"): ("terminology.view",),
    ("POST", "/api/workforce/import"): ("workforce.edit",),
    ("GET", "/api/workforce/organogram/ics.svg"): ("workforce.view",),
    ("GET", "/api/workforce/organogram/leadership.svg"): ("workforce.view",),
    ("GET", "/api/workforce/posts"): ("workforce.detail",),
    ("PATCH", "/api/workforce/posts/{assignment_number}"): ("workforce.edit",),
    ("GET", "/api/workforce/services"): ("analytics.view",),
    ("POST", "/api/workforce/services/import"): ("workforce.edit",),
    ("GET", "/api/workforce/summary"): ("workforce.view",),
    ("GET", "/carehomes"): ("record.view",),
    ("GET", "/carehomes/residents/{nhs_number}"): ("record.view",),
    ("GET", "/docs"): ANYONE,
    ("POST", "/fhir/R4/$process-message"): ("referral.send",),  # authorised inside (ADR 0005)
    ("GET", "/fhir/R4/DetectedIssue"): ("record.view",),
    ("GET", "/fhir/R4/List"): ("record.view",),
    ("GET", "/fhir/R4/MedicationDispense"): ("record.view",),
    ("GET", "/fhir/R4/MedicationDispense/{rid}"): ("record.view",),
    ("GET", "/fhir/R4/MedicationRequest"): ("record.view",),
    ("GET", "/fhir/R4/MedicationRequest/{rid}"): ("record.view",),
    ("GET", "/fhir/R4/MedicationStatement"): ("record.view",),
    ("GET", "/fhir/R4/Organization"): ANYONE,
    ("GET", "/fhir/R4/Organization/{ods_code}"): ANYONE,
    ("GET", "/fhir/R4/Patient"): ("record.view",),
    ("GET", "/fhir/R4/Patient/{nhs_number}"): ("record.view",),
    ("GET", "/fhir/R4/Provenance"): ("record.view",),
    ("GET", "/fhir/R4/ServiceRequest"): ("referral.view",),
    ("GET", "/fhir/R4/ServiceRequest/{reference}"): ("referral.view",),
    ("GET", "/fhir/R4/Task"): ("referral.view",),
    ("GET", "/fhir/R4/Task/{reference}"): ("referral.view",),
    ("PATCH", "/fhir/R4/Task/{reference}"): ("referral.receive",),
    ("PUT", "/fhir/R4/Task/{reference}"): ("referral.receive",),
    ("GET", "/fhir/R4/metadata"): ANYONE,
    ("GET", "/health"): ANYONE,
    ("GET", "/metrics"): ANYONE,
    ("GET", "/openapi.json"): ANYONE,
    ("GET", "/patients"): ("record.view",),
    ("GET", "/patients/{nhs_number}"): ("record.view",),
    ("GET", "/plans"): ("plan.view",),
    ("POST", "/plans"): ("plan.edit",),
    ("GET", "/plans/{plan_id}"): ("plan.view",),
    ("POST", "/plans/{plan_id}/objectives"): ("plan.edit",),
    ("POST", "/plans/{plan_id}/objectives/{objective_id}/pdsa"): ("plan.edit",),
    ("POST", "/plans/{plan_id}/stakeholders"): ("plan.edit",),
    ("GET", "/prescriptions/tracker"): ("record.view",),
    ("GET", "/ready"): ANYONE,
    ("GET", "/records"): ("record.view",),
    ("GET", "/records/patients/{nhs_number}"): ("record.view",),
    ("POST", "/records/patients/{nhs_number}/decisions"): ("record.reconcile",),
    ("POST", "/records/patients/{nhs_number}/proposed-changes/{proposal_id}/accept"): (
        "record.reconcile",
    ),
    ("POST", "/records/patients/{nhs_number}/proposed-changes/{proposal_id}/reject"): (
        "record.reconcile",
    ),
    ("POST", "/records/patients/{nhs_number}/sources"): ("record.reconcile",),
    ("GET", "/referral-oversight"): ("referral.oversight",),
    ("GET", "/referrals"): ("referral.view",),
    ("GET", "/referrals/inbox"): ("referral.receive",),
    ("GET", "/referrals/new"): ("referral.send",),
    ("POST", "/referrals/new"): ("referral.send",),
    ("GET", "/referrals/patients/{nhs_number}"): ("referral.view",),
    ("GET", "/referrals/{reference}"): ("referral.view",),
    ("POST", "/referrals/{reference}/accept"): ("referral.receive",),
    ("GET", "/referrals/{reference}/cancel"): ("referral.send",),
    ("POST", "/referrals/{reference}/cancel"): ("referral.send",),
    ("POST", "/referrals/{reference}/dms-check"): ("referral.receive",),
    ("POST", "/referrals/{reference}/outcome"): ("referral.receive",),
    ("GET", "/review/patients/{nhs_number}"): ("review.view",),
    ("POST", "/review/patients/{nhs_number}"): ("review.record",),
    ("GET", "/review/rates"): ("analytics.view",),
    ("GET", "/review/worklist"): ("review.view",),
    ("GET", "/sign-in"): ANYONE,
    ("POST", "/sign-in"): ANYONE,
    ("POST", "/sign-out"): ANYONE,
    ("GET", "/workforce"): ("workforce.view",),
    ("POST", "/workforce/import"): ("workforce.edit",),
    ("GET", "/workforce/leadership"): ("workforce.view",),
    ("GET", "/workforce/new-post"): (
        "workforce.detail",
        "workforce.edit",
    ),
    ("POST", "/workforce/new-post"): (
        "workforce.detail",
        "workforce.edit",
    ),
    ("GET", "/workforce/people"): ("workforce.detail",),
    ("GET", "/workforce/posts/{assignment_number}"): (
        "workforce.detail",
        "workforce.edit",
    ),
    ("POST", "/workforce/posts/{assignment_number}"): (
        "workforce.detail",
        "workforce.edit",
    ),
    ("GET", "/workforce/services"): ("analytics.view",),
    ("DELETE", "/fhir/bulkstatus/{job_id}"): ("analytics.export",),
    ("GET", "/admin"): ANYONE,
    ("GET", "/admin/audit"): ("audit.view",),
    ("GET", "/admin/users"): ("users.admin",),
    ("GET", "/admin/users/new"): ("users.admin",),
    ("GET", "/admin/users/{username}"): ("users.admin",),
    ("GET", "/admin/users/{username}/{what}"): ("users.admin",),
    ("GET", "/api/carehomes/staff"): ("record.view",),
    ("GET", "/api/referral-leakage"): ("analytics.view",),
    ("GET", "/carehomes/staff"): ("record.view",),
    # the staff register's, incident and movement forms: the actions narrow them to the home's
    # own staff (tests/carehomes/test_staff_forms.py, test_movements.py)
    ("GET", "/carehomes/staff/new"): ("record.view",),
    ("POST", "/carehomes/staff/new"): ("record.view",),
    ("GET", "/carehomes/staff/training"): ("record.view",),
    ("POST", "/carehomes/staff/training"): ("record.view",),
    ("GET", "/carehomes/incidents/new"): ("record.view",),
    ("POST", "/carehomes/incidents/new"): ("record.view",),
    ("GET", "/carehomes/movements"): ("record.view",),
    ("POST", "/carehomes/movements"): ("record.view",),
    ("POST", "/api/carehomes/incidents"): ("record.view",),
    ("GET", "/api/carehomes/waste"): ("record.view",),
    ("POST", "/api/carehomes/waste"): ("record.view",),
    ("GET", "/carehomes/waste"): ("record.view",),
    ("POST", "/carehomes/waste"): ("record.view",),
    ("POST", "/api/carehomes/staff"): ("record.view",),
    ("POST", "/api/carehomes/staff/{staff_id}/training"): ("record.view",),
    ("POST", "/admin/audit/verify"): ("audit.view",),
    ("POST", "/admin/users/new"): ("users.admin",),
    ("POST", "/admin/users/{username}/active"): ("users.admin",),
    ("POST", "/admin/users/{username}/password"): ("users.admin",),
    ("POST", "/admin/users/{username}/revoke"): ("users.admin",),
    ("POST", "/admin/users/{username}/role"): ("users.admin",),
    ("GET", "/api/pharmacy-first/claims"): ANYONE,
    ("GET", "/api/pharmacy-first/consultations/{reference}"): ("referral.receive",),
    ("GET", "/api/pharmacy-first/consultations/{reference}/update-record"): ("referral.receive",),
    ("GET", "/api/pharmacy-first/pathways"): ("referral.receive",),
    ("GET", "/carehomes/homes"): ("analytics.view",),
    ("GET", "/fhir/R4/$export"): ("analytics.export",),
    ("GET", "/fhir/bulkfiles/{job_id}/{name}"): ("analytics.export",),
    ("GET", "/fhir/bulkstatus/{job_id}"): ("analytics.export",),
    ("GET", "/pharmacy-first"): ("referral.receive",),
    ("GET", "/pharmacy-first/claims"): ANYONE,
    ("GET", "/pharmacy-first/new"): ("referral.receive",),
    ("GET", "/pharmacy-first/{reference}"): ("referral.receive",),
    ("GET", "/prescriptions/stuck"): ("record.view", "referral.send"),
    ("GET", "/api/prescriptions/entitlements"): ("record.view",),
    ("GET", "/api/prescriptions/exemption"): ("record.view",),
    ("GET", "/prescriptions/exemption"): ("record.view",),
    ("GET", "/prescriptions/tracker/{prescription_id}"): ("record.view",),
    ("POST", "/api/pharmacy-first/consultations"): ("referral.receive",),
    ("POST", "/api/pharmacy-first/consultations/{reference}/assessment"): ("referral.receive",),
    ("POST", "/api/pharmacy-first/consultations/{reference}/outcome"): ("referral.receive",),
    ("POST", "/carehomes/residents/{nhs_number}/best-interests"): ("record.view",),
    ("POST", "/pharmacy-first/new"): ("referral.receive",),
    ("POST", "/pharmacy-first/{reference}/assess"): ("referral.receive",),
    ("POST", "/pharmacy-first/{reference}/outcome"): ("referral.receive",),
    ("POST", "/prescriptions/stuck/{prescription_id}/redirect"): ("record.view", "referral.send"),
}

# values for path parameters: real where a real one is cheap, otherwise ones that find nothing
PATH_VALUES = {
    "nhs_number": "9990000018",
    "reference": "R-NOTHERE",
    "plan_id": "999999",
    "objective_id": "999999",
    "proposal_id": "999999",
    "measure_id": "no-such-measure",
    "org_code": "NOPE",
    "fmt": "html",
    "rid": "999999",
    "ods_code": "A10001",
    "assignment_number": "NOPE",
    "name:path": "no-such-file.js",
    "job_id": "no-such-job",
    "name": "no-such-file.ndjson",
    "prescription_id": "NOTANID",
    "username": "no-such-user",  # never a real one: the admin routes change users
    "what": "password",
    "staff_id": "999999",
}


def _walk(routes, prefix: str = ""):
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's included routers
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from _walk(included.routes, prefix + (getattr(context, "prefix", "") or ""))
        elif isinstance(route, APIRoute | Route) and not isinstance(route, Mount):
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    yield method, prefix + route.path


def _url(path: str) -> str:
    for name, value in PATH_VALUES.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"no value for a path parameter in {path}"
    return path


def _refused_for(response, activities: set[str]) -> bool:
    """403 naming a missing activity (JSON detail, OperationOutcome or page)."""
    return response.status_code == 403 and "does not include" in response.text


@pytest.fixture(scope="module")
def clients(tmp_path_factory):
    from fastapi.testclient import TestClient
    from tests.web_session import sign_in

    from ipmo.config import Settings
    from ipmo.security.users import DEMO_PASSWORD, seed_demo_users
    from ipmo.store import create_store_engine, init_store, session_scope
    from ipmo.synth.sample import seed_sample_ics
    from ipmo.web.app import create_app

    tmp = tmp_path_factory.mktemp("matrix")
    engine = create_store_engine(f"sqlite:///{tmp / 'store.sqlite3'}")
    init_store(engine)
    with session_scope(engine) as s:
        seed_sample_ics(s)
        seed_demo_users(s)
    app = create_app(engine, Settings(data_dir=tmp, database_url="sqlite://", secret_key="k"))
    made = {None: TestClient(app, base_url="http://testserver")}
    for username, *_ in DEMO_USERS:
        made[username] = TestClient(app, base_url="http://testserver")
        assert sign_in(made[username], username, DEMO_PASSWORD).status_code == 303
    yield app, made
    for c in made.values():
        c.close()
    engine.dispose()


def test_every_route_of_the_app_is_in_the_table(clients):
    app, _ = clients
    found = set(_walk(app.routes))
    assert len(found) > 100  # the app's routes were found
    unlisted = sorted(found - set(ROUTES))
    assert not unlisted, f"routes missing from the role × route table: {unlisted}"
    assert not sorted(set(ROUTES) - found), "listed routes the app no longer has"


def _request(client, method: str, path: str):
    headers = {"accept": "text/html" if not path.startswith(("/api", "/fhir")) else "*/*"}
    if method == "GET":
        return client.get(_url(path), headers=headers, follow_redirects=False)
    return client.request(method, _url(path), headers=headers, follow_redirects=False)


@pytest.mark.parametrize("username", [None, *sorted(u for u, *_ in DEMO_USERS)])
def test_each_role_reaches_exactly_what_its_activities_allow(clients, username):
    _, made = clients
    client = made[username]
    role = None if username is None else next(r for u, _, r, _ in DEMO_USERS if u == username)
    granted = set() if role is None else {str(a) for a in ROLES[role].activities}
    checked = 0
    for (method, path), needed in sorted(ROUTES.items()):
        if (method, path) in NOT_EXERCISED:
            continue
        r = _request(client, method, path)
        checked += 1
        signed_in_only = bool(needed) or (method, path) in SIGNED_IN
        where = f"{username} {method} {path}: {r.status_code} {r.text[:200]}"
        if username is None:
            if signed_in_only:
                expected = (
                    (303,) if r.headers.get("location", "").startswith("/sign-in") else (401,)
                )
                assert r.status_code in expected and r.status_code in (401, 303), where
            else:
                assert r.status_code not in (401, 403), where
            continue
        missing = set(needed) - granted
        if missing:
            assert _refused_for(r, missing), where
            assert any(m in r.text for m in missing), where  # the refusal names what is missing
            if path.startswith("/fhir"):
                assert r.json()["resourceType"] == "OperationOutcome", where
        else:
            assert r.status_code != 401 and not _refused_for(r, set(needed)), where
    assert checked == len(ROUTES) - len(NOT_EXERCISED)
