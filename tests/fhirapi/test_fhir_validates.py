"""Every FHIR route, walked with demo-like data: each resource it returns validates against the R4
base definitions (fhir.resources R4B) and declares its profile; each read has an ETag (issue 18,
item 4)."""

from __future__ import annotations

from tests.fhirapi.test_fhir_api import _all_routes, referral, validate  # noqa: F401 (fixture)
from tests.fhirapi.test_fhir_sources import PHARMACY_CSV
from tests.records.test_api import ADA, GP_CSV, hospital_bundle, post_csv, post_fhir

from ipmo.fhir.capability import BASE
from ipmo.fhir.search import declared_parameters


def test_every_fhir_route_returns_valid_r4_resources(referral, client_as):  # noqa: F811
    pharmacist = client_as("pcn.pharmacist")
    assert post_csv(pharmacist, ADA, GP_CSV).status_code == 201
    r = post_fhir(pharmacist, ADA, hospital_bundle(), source_kind="hospital", source_org_code="RXX")
    assert r.status_code == 201
    assert post_csv(pharmacist, ADA, PHARMACY_CSV).status_code == 201
    # the receiving pharmacy: a relationship with ADA (nominated) and party to the referral
    c, _, _ = referral
    routes = [
        r
        for r in _all_routes(c.app)
        if r.path.startswith(BASE + "/") and "GET" in r.methods and "$" not in r.path
    ]
    searches = [r for r in routes if r.path.count("/") == 3 and not r.path.endswith("metadata")]
    reads = [r for r in routes if r.path.count("/") == 4]
    walked = set()
    ids: dict[str, str] = {}
    checked = 0
    metadata = c.get(BASE + "/metadata")
    validate(metadata.json())
    walked.add(BASE + "/metadata")
    for route in searches:
        rtype = route.path.rsplit("/", 1)[1]
        declared = declared_parameters(getattr(route, "original_route", route))
        params: dict[str, str | list[str]] = {}
        if "patient" in declared:
            params["patient"] = ADA
        if rtype == "Patient":
            params["identifier"] = ADA
        extra = getattr(route, "original_route", route).openapi_extra or {}
        for name, key in (("_include", "x-fhir-include"), ("_revinclude", "x-fhir-revinclude")):
            if extra.get(key):
                params[name] = list(extra[key])
        r = c.get(route.path, params=params)
        assert r.status_code == 200, (route.path, r.text)
        bundle = r.json()
        validate(bundle)  # the Bundle and every resource in it, with its profile
        matches = [e["resource"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]
        assert matches, f"{route.path}: the walk found nothing to validate"
        ids[rtype] = matches[0]["id"]
        checked += len(bundle["entry"])
        walked.add(route.path)
    for route in reads:
        rtype = route.path.split("/")[3]
        assert rtype in ids, f"{route.path}: no {rtype} found by its search to read"
        r = c.get(f"{BASE}/{rtype}/{ids[rtype]}")
        assert r.status_code == 200, (route.path, r.text)
        validate(r.json())
        assert r.headers["etag"].startswith('W/"'), route.path
        checked += 1
        walked.add(route.path)
    assert walked == {r.path for r in routes} and checked > len(routes)
    served = {r.path.split("/")[3] for r in searches}
    assert {"MedicationRequest", "MedicationDispense", "Provenance", "Task", "List"} <= served
