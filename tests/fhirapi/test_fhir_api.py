"""The FHIR R4 API (issue 18): CapabilityStatement generated from the routes, strict search,
paging, UK Core profiles, R4 validation, access policy and audit, NHS tracing headers."""

from __future__ import annotations

import importlib

import pytest
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import select
from tests.records.test_api import ADA, DEV, GP_CSV, hospital_bundle, post_csv, post_fhir

from ipmo.fhir.capability import BASE, OPERATION_DEFINITIONS, PROFILES, interactions
from ipmo.security.models import AuditEvent

NHS = "https://fhir.nhs.uk/Id/nhs-number"


def validate(resource: dict) -> None:
    """Validates against the R4 base definition (fhir.resources R4B) and, for a served type,
    declares the profile the CapabilityStatement advertises for it."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    if resource["resourceType"] == "Bundle":
        for entry in resource.get("entry", []):
            validate(entry["resource"])
    elif resource["resourceType"] in PROFILES:
        assert resource["meta"]["profile"] == [PROFILES[resource["resourceType"]]]


@pytest.fixture
def pharmacist(client_as):
    c = client_as("pcn.pharmacist")
    assert post_csv(c, ADA, GP_CSV).status_code == 201
    r = post_fhir(c, ADA, hospital_bundle(), source_kind="hospital", source_org_code="RXX")
    assert r.status_code == 201
    return c


def test_capability_statement_matches_the_mounted_routes(client_as):
    c = client_as(None)
    r = c.get("/fhir/R4/metadata")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    cs = r.json()
    validate(cs)
    app = c.app
    advertised = {
        (res["type"], i["code"]) for res in cs["rest"][0]["resource"] for i in res["interaction"]
    } | {(f"${op['name']}", "system-operation") for op in cs["rest"][0].get("operation", [])}
    # every route under /fhir/R4 (from the app's own route table, not the OpenAPI document the
    # statement is built from), as (type, interaction)
    mounted = set()
    for route in _all_routes(app):
        if not route.path.startswith(BASE + "/") or route.path == BASE + "/metadata":
            continue
        parts = route.path[len(BASE) + 1 :].split("/")
        for method in route.methods - {"HEAD"}:
            if parts[0].startswith("$"):
                mounted.add((parts[0], "system-operation"))
            else:
                code = {
                    ("GET", 1): "search-type",
                    ("GET", 2): "read",
                    ("PUT", 2): "update",
                    ("PATCH", 2): "patch",
                }[(method, len(parts))]
                mounted.add((parts[0], code))
    assert advertised == mounted
    assert {"Patient", "MedicationStatement", "List", "DetectedIssue", "Organization"} <= {
        t for t, _ in mounted
    }
    # each advertised search parameter is accepted by its route, and an unlisted one refused
    for res in cs["rest"][0]["resource"]:
        assert res["profile"] == PROFILES[res["type"]]
        for param in res.get("searchParam", []):
            r = c.get(f"/fhir/R4/{res['type']}", params={param["name"]: "x"})
            assert r.status_code != 400 or "unknown search parameter" not in r.text, param
        r = c.get(f"/fhir/R4/{res['type']}", params={"no-such-param": "x"})
        assert r.status_code in (400, 401)
    assert cs["rest"][0]["security"]["service"][0]["coding"][0]["code"] == "OAuth"
    ms = next(x for x in cs["rest"][0]["resource"] if x["type"] == "MedicationStatement")
    assert ms["searchRevInclude"] == ["List:item"]
    assert {p["name"] for p in ms["searchParam"]} == {"patient", "patient:identifier", "status"}
    assert ms["searchInclude"] == ["MedicationStatement:patient"]
    mr = next(x for x in cs["rest"][0]["resource"] if x["type"] == "MedicationRequest")
    assert mr["searchInclude"] == ["MedicationRequest:patient"]
    types = {p["name"]: p["type"] for p in mr["searchParam"]}
    assert types == {"patient": "reference", "status": "token", "authoredon": "date",
                     "_lastUpdated": "date"}  # fmt: skip
    assert {"name": "export", "definition": OPERATION_DEFINITIONS["export"]} in cs["rest"][0][
        "operation"
    ]


def _all_routes(app):
    """The app's routes, looking inside included routers (FastAPI ≥ 0.160 keeps them grouped)."""
    from fastapi.routing import APIRoute

    out = []

    def walk(routes):
        for route in routes:
            candidates = getattr(route, "effective_candidates", None)
            if callable(candidates):  # an included router: its routes (built on first use)
                walk(candidates())
            elif isinstance(route, APIRoute) or hasattr(route, "original_route"):
                out.append(route)

    walk(app.routes)
    return out


def test_interactions_come_from_the_routes_and_a_new_route_appears():
    fake = {
        "paths": {
            "/fhir/R4/Widget": {"get": {"parameters": []}},
            "/fhir/R4/Widget/{id}": {"put": {}, "patch": {}},
            "/fhir/R4/$export": {"get": {}},
            "/api/other": {"get": {}},
        }
    }
    assert interactions(fake) == {
        ("Widget", "search-type"),
        ("Widget", "update"),
        ("Widget", "patch"),
        ("$export", "system-operation"),
    }


def test_patient_search_and_read_through_the_access_policy(client_as, sample_ics):
    c = client_as("pcn.pharmacist")
    r = c.get("/fhir/R4/Patient", params={"identifier": f"{NHS}|{ADA}"})
    assert r.status_code == 200, r.text
    bundle = r.json()
    validate(bundle)
    assert bundle["type"] == "searchset" and bundle["total"] == 1
    patient = bundle["entry"][0]["resource"]
    assert patient["identifier"] == [{"system": NHS, "value": ADA}]
    assert bundle["entry"][0]["fullUrl"].endswith(f"/fhir/R4/Patient/{ADA}")
    read = c.get(f"/fhir/R4/Patient/{ADA}")
    assert read.status_code == 200 and read.json() == patient
    assert read.headers["etag"].startswith('W/"')
    # no relationship: refused (403 OperationOutcome), and the refusal audited
    for url, params in ((f"/fhir/R4/Patient/{DEV}", {}), ("/fhir/R4/Patient", {"identifier": DEV})):
        r = c.get(url, params=params)
        assert r.status_code == 403 and r.json()["issue"][0]["code"] == "forbidden"
    from ipmo.store import session_scope

    with session_scope(sample_ics) as s:
        actions = [
            (a.action, a.outcome)
            for a in s.scalars(select(AuditEvent).where(AuditEvent.action.like("patient.fhir.%")))
        ]
    assert ("patient.fhir.search", "permitted") in actions
    assert ("patient.fhir.read", "permitted") in actions
    assert actions.count(("patient.fhir.search", "refused")) == 1
    assert actions.count(("patient.fhir.read", "refused")) == 1
    # a role without record.view, and nobody signed in
    assert client_as("analyst").get(f"/fhir/R4/Patient/{ADA}").status_code == 403
    anon = client_as(None).get(f"/fhir/R4/Patient/{ADA}")
    assert anon.status_code == 401 and anon.json()["resourceType"] == "OperationOutcome"
    assert anon.headers["www-authenticate"] == "Bearer"


def test_unknown_and_bad_parameters_get_an_operation_outcome_naming_them(client_as):
    c = client_as("pcn.pharmacist")
    r = c.get("/fhir/R4/Patient", params={"identifier": ADA, "name": "Smith"})
    assert r.status_code == 400
    issue = r.json()["issue"][0]
    assert issue["code"] == "not-supported" and issue["expression"] == ["name"]
    assert "'name'" in issue["diagnostics"]
    for params, where in (
        ({}, "identifier"),
        ({"identifier": "123"}, "identifier"),
        ({"identifier": f"urn:other|{ADA}"}, "identifier"),
        ({"identifier": ADA, "_count": "many"}, "_count"),
        ({"identifier": ADA, "_summary": "text"}, "_summary"),
    ):
        r = c.get("/fhir/R4/Patient", params=params)
        assert r.status_code == 400, (params, r.text)
        assert r.json()["issue"][0]["expression"] == [where]
    r = c.get("/fhir/R4/MedicationStatement", params={"patient": ADA, "status": "paused"})
    assert r.status_code == 400 and r.json()["issue"][0]["expression"] == ["status"]
    r = c.get("/fhir/R4/List", params={"patient": ADA, "_include": "List:source"})
    assert r.status_code == 400 and r.json()["issue"][0]["expression"] == ["_include"]


def test_current_medications_with_the_list_revincluded(pharmacist):
    r = pharmacist.get(
        "/fhir/R4/MedicationStatement",
        params={"patient": f"Patient/{ADA}", "status": "active", "_revinclude": "List:item"},
    )
    assert r.status_code == 200, r.text
    bundle = r.json()
    validate(bundle)
    matches = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "match"]
    included = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "include"]
    assert bundle["total"] == len(matches) >= 2
    assert all(m["status"] == "active" for m in matches)
    assert all(m["subject"]["reference"] == f"Patient/{ADA}" for m in matches)
    assert [i["resourceType"] for i in included] == ["List"]
    # the List's items resolve to the statements served (server references, not urn:uuid)
    items = {e["item"]["reference"] for e in included[0]["entry"]}
    assert {f"MedicationStatement/{m['id']}" for m in matches} <= items
    # without _revinclude: the matches only; and the same reconciled lines as the record API
    plain = pharmacist.get("/fhir/R4/MedicationStatement", params={"patient": ADA}).json()
    assert all(e["search"]["mode"] == "match" for e in plain["entry"])
    record = pharmacist.get(f"/api/records/patients/{ADA}").json()
    assert plain["total"] == len(record["medications"])


def test_paging_count_and_summary_count(pharmacist):
    full = pharmacist.get("/fhir/R4/Organization").json()
    validate(full)
    total = full["total"]
    assert total == len(full["entry"]) > 3
    seen, url, pages = [], "/fhir/R4/Organization?_count=3", 0
    while url:
        page = pharmacist.get(url).json()
        validate(page)
        assert page["total"] == total and len(page["entry"]) <= 3
        seen += [e["resource"]["id"] for e in page["entry"]]
        url = next((lk["url"] for lk in page["link"] if lk["relation"] == "next"), None)
        pages += 1
    assert seen == [e["resource"]["id"] for e in full["entry"]]
    assert pages == -(-total // 3)
    count = pharmacist.get("/fhir/R4/Organization", params={"_summary": "count"}).json()
    assert count["total"] == total and "entry" not in count
    one = pharmacist.get(
        "/fhir/R4/Organization",
        params={"identifier": "https://fhir.nhs.uk/Id/ods-organization-code|A10001"},
    ).json()
    assert one["total"] == 1 and one["entry"][0]["resource"]["id"] == "A10001"
    assert pharmacist.get("/fhir/R4/Organization/NOPE").status_code == 404


def test_detected_issues_and_list(pharmacist):
    issues = pharmacist.get("/fhir/R4/DetectedIssue", params={"patient": ADA}).json()
    validate(issues)
    assert issues["total"] >= 1
    lst = pharmacist.get("/fhir/R4/List", params={"patient": ADA, "_include": "List:item"})
    validate(lst.json())
    assert lst.headers["etag"]


def test_request_and_correlation_ids_are_echoed(client_as):
    c = client_as("pcn.pharmacist")
    r = c.get(
        f"/fhir/R4/Patient/{ADA}",
        headers={"X-Request-ID": "60E0B220-8136-4CA5-AE46-1D97EF59D068", "X-Correlation-ID": "c-1"},
    )
    assert r.headers["x-request-id"] == "60E0B220-8136-4CA5-AE46-1D97EF59D068"
    assert r.headers["x-correlation-id"] == "c-1"
    # also on errors; a value that is not an id is not echoed (no header injection)
    r = c.get("/fhir/R4/Patient", headers={"X-Request-ID": "r-2", "X-Correlation-ID": "a b"})
    assert r.status_code == 400 and r.headers["x-request-id"] == "r-2"
    assert "x-correlation-id" not in r.headers
    assert c.get("/fhir/R4/metadata").headers.get("x-request-id") is None


def test_every_fhir_module_is_importable():
    assert importlib.import_module("ipmo.lookup.fhir").router.routes


# ---- referrals as Task / ServiceRequest ----------------------------------------------------


@pytest.fixture
def referral(client_as, sample_ics):
    """One urgent-supply referral from NHS 111 to FA001 for ADA; (pharmacist, nhs111, ref)."""
    from tests.referrals.apihelpers import always_open, message, post

    always_open(sample_ics, "FA001")
    nhs111 = client_as("nhs111")
    ack = post(nhs111, message(receiver="FA001"))
    assert ack.status_code == 200, ack.text
    ref = ack.json()["entry"][1]["resource"]["identifier"][0]["value"]
    return client_as("community.pharmacist"), nhs111, ref


def test_tasks_and_service_requests_search_and_read(referral, client_as):
    pharmacist, nhs111, ref = referral
    for c in (pharmacist, nhs111):
        bundle = c.get("/fhir/R4/Task", params={"patient": ADA, "status": "requested"}).json()
        validate(bundle)
        assert [e["resource"]["id"] for e in bundle["entry"]] == [ref]
        task = bundle["entry"][0]["resource"]
        assert task["for"]["reference"] == f"Patient/{ADA}"
        assert task["focus"]["reference"] == f"ServiceRequest/{ref}"
        srs = c.get("/fhir/R4/ServiceRequest", params={"patient": ADA, "status": "active"}).json()
        validate(srs)
        assert [e["resource"]["id"] for e in srs["entry"]] == [ref]
    assert pharmacist.get("/fhir/R4/Task", params={"status": "completed"}).json()["total"] == 0
    read = pharmacist.get(f"/fhir/R4/Task/{ref}")
    assert read.status_code == 200 and read.headers["etag"] == 'W/"1"'
    assert read.json()["meta"]["versionId"] == "1"
    validate(pharmacist.get(f"/fhir/R4/ServiceRequest/{ref}").json())
    # an organisation not party to it: not in its search, refused on read (OperationOutcome)
    gp = client_as("gp")  # ADA's practice (A10001) is a party to her referrals
    outsider = client_as("hospital.pharmacist")  # the trust is not
    assert outsider.get("/fhir/R4/Task").json()["total"] == 0
    r = outsider.get(f"/fhir/R4/Task/{ref}")
    assert r.status_code == 403 and r.json()["resourceType"] == "OperationOutcome"
    assert gp.get(f"/fhir/R4/Task/{ref}").status_code == 200
    assert pharmacist.get("/fhir/R4/Task/NOPE").status_code == 404
    r = pharmacist.get("/fhir/R4/Task", params={"status": "done"})
    assert r.status_code == 400 and r.json()["issue"][0]["expression"] == ["status"]


def test_task_update_with_versioning(referral, sample_ics):
    pharmacist, nhs111, ref = referral
    task = pharmacist.get(f"/fhir/R4/Task/{ref}").json()
    url = f"/fhir/R4/Task/{ref}"
    accepted = {**task, "status": "accepted"}
    # no If-Match: 428; a stale one: 412; nothing changed
    assert pharmacist.put(url, json=accepted).status_code == 428
    stale = pharmacist.put(url, json=accepted, headers={"If-Match": 'W/"7"'})
    assert stale.status_code == 412 and stale.json()["issue"][0]["code"] == "conflict"
    assert pharmacist.get(url).json()["status"] == "requested"
    # the referrer may not accept it (not the receiver)
    r = nhs111.put(url, json=accepted, headers={"If-Match": 'W/"1"'})
    assert r.status_code == 403
    # accept with the version read
    ok = pharmacist.put(url, json=accepted, headers={"If-Match": 'W/"1"'})
    assert ok.status_code == 200, ok.text
    validate(ok.json())
    assert ok.json()["status"] == "accepted"
    new_etag = ok.headers["etag"]
    assert new_etag != 'W/"1"' and ok.json()["meta"]["versionId"] == new_etag[3:-1]
    # the old version again: 412
    again = pharmacist.put(url, json=accepted, headers={"If-Match": 'W/"1"'})
    assert again.status_code == 412
    # complete with an outcome by JSON Patch; a bad outcome is refused naming the element
    bad = pharmacist.patch(
        url,
        json=[
            {"op": "replace", "path": "/status", "value": "completed"},
            {"op": "add", "path": "/businessStatus", "value": {"coding": [{"code": "magic"}]}},
        ],
        headers={"If-Match": new_etag, "content-type": "application/json-patch+json"},
    )
    assert bad.status_code == 422 and bad.json()["issue"][0]["expression"] == [
        "Task.businessStatus"
    ]
    no_outcome = pharmacist.patch(
        url,
        json=[{"op": "replace", "path": "/status", "value": "completed"}],
        headers={"If-Match": new_etag},
    )
    assert no_outcome.status_code == 422
    done = pharmacist.patch(
        url,
        json=[
            {"op": "replace", "path": "/status", "value": "completed"},
            {"op": "add", "path": "/businessStatus", "value": {"coding": [{"code": "supplied"}]}},
            {"op": "add", "path": "/note", "value": [{"text": "7 days supplied"}]},
        ],
        headers={"If-Match": new_etag},
    )
    assert done.status_code == 200, done.text
    body = done.json()
    validate(body)
    assert body["status"] == "completed"
    assert body["businessStatus"]["coding"][0]["code"] == "supplied"
    # the referrer sees the outcome through the REST API too (the same referral)
    seen = nhs111.get(f"/api/referrals/{ref}").json()
    assert (seen["status"], seen["outcome"], seen["outcome_note"]) == (
        "completed",
        "supplied",
        "7 days supplied",
    )
    # a patch of an element we keep is refused naming the operation; an invalid Task too
    r = pharmacist.patch(
        url,
        json=[{"op": "replace", "path": "/owner", "value": {}}],
        headers={"If-Match": done.headers["etag"]},
    )
    assert r.status_code == 400 and r.json()["issue"][0]["expression"] == ["Patch[0]"]
    r = pharmacist.put(url, json={**body, "status": 12}, headers={"If-Match": done.headers["etag"]})
    assert r.status_code == 400 and r.json()["issue"][0]["expression"][0].startswith("Task.")
    from ipmo.store import session_scope

    with session_scope(sample_ics) as s:
        updates = [
            a.outcome
            for a in s.scalars(
                select(AuditEvent).where(AuditEvent.action == "referral.fhir.update")
            )
        ]
    assert "permitted" in updates and "refused" in updates


def test_unknown_resource_types_and_methods_get_an_operation_outcome(client_as):
    c = client_as("pcn.pharmacist")
    r = c.get("/fhir/R4/Observation")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/fhir+json")
    assert r.json()["issue"][0]["code"] == "not-found"
    r = c.delete(f"/fhir/R4/Patient/{ADA}")
    assert r.status_code == 405 and r.json()["issue"][0]["code"] == "not-supported"
    # outside /fhir the JSON API keeps its own shape
    assert "detail" in c.get("/api/no-such-thing").json()


def test_request_ids_are_logged_without_patient_identifiers(client_as):
    import io
    import logging

    from ipmo.logs import log_handler

    stream = io.StringIO()
    handler = log_handler(stream)
    logger = logging.getLogger("ipmo")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        c = client_as("pcn.pharmacist")
        r = c.get(
            f"/fhir/R4/Patient/{ADA}", headers={"X-Request-ID": "rq-9", "X-Correlation-ID": "co-9"}
        )
        assert r.status_code == 200
        c.get("/fhir/R4/Patient", params={"identifier": DEV}, headers={"X-Request-ID": "rq-10"})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    lines = stream.getvalue().splitlines()
    mine = [line for line in lines if "request_id=rq-9 correlation_id=co-9" in line]
    assert any("GET /fhir/R4/Patient/{nhs_number} 200" in line for line in mine), lines
    refused = [line for line in lines if "request_id=rq-10 correlation_id=-" in line]
    assert any("GET /fhir/R4/Patient 403" in line for line in refused), lines
    assert ADA not in stream.getvalue() and DEV not in stream.getvalue()


@pytest.mark.parametrize(
    ("accept", "status"),
    [
        ("application/fhir+json", 200),
        ("application/json", 200),
        ("*/*", 200),
        ("application/fhir+xml, application/fhir+json;q=0.5", 200),
        ("application/fhir+xml", 406),
        ("text/html", 406),
        ("application/fhir+json;q=0, application/xml", 406),
    ],
)
def test_content_negotiation_json_only_else_406(client_as, accept, status):
    c = client_as("pcn.pharmacist")
    r = c.get("/fhir/R4/Organization/A10001", headers={"Accept": accept, "X-Request-ID": "n-1"})
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    assert r.headers["x-request-id"] == "n-1"
    if status == 406:
        issue = r.json()["issue"][0]
        assert issue["code"] == "not-supported" and issue["expression"] == ["Accept"]
    else:
        assert r.json()["resourceType"] == "Organization" and r.headers["etag"]
