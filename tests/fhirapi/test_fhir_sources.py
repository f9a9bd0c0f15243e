"""Source lines as MedicationRequest / MedicationDispense, the reconciled record's Provenance,
``_include`` of the Patient, date and ``_lastUpdated`` searches (issue 18, item 1)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select
from tests.fhirapi.test_fhir_api import validate
from tests.records.test_api import ADA, DEV, GP_CSV, hospital_bundle, post_csv, post_fhir

from ipmo.fhir.search import date_filter
from ipmo.security.models import AuditEvent

PHARMACY_CSV = f"""nhs_number,source_kind,source_org_code,name,status,dose_text,last_issued
{ADA},pharmacy,FA001,Amlodipine 5mg tablets,active,1 tablet once a day,2025-04-20
"""


@pytest.fixture
def sources(client_as):
    c = client_as("pcn.pharmacist")
    assert post_csv(c, ADA, GP_CSV).status_code == 201
    r = post_fhir(c, ADA, hospital_bundle(), source_kind="hospital", source_org_code="RXX")
    assert r.status_code == 201, r.text
    assert post_csv(c, ADA, PHARMACY_CSV).status_code == 201
    return c


def _matches(bundle):
    return [e["resource"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


def test_source_lines_as_requests_and_dispenses(sources):
    r = sources.get("/fhir/R4/MedicationRequest", params={"patient": ADA})
    assert r.status_code == 200, r.text
    bundle = r.json()
    validate(bundle)
    requests = _matches(bundle)
    # two GP lines and two hospital lines; the pharmacy's supply is not a request
    names = sorted(m["medicationCodeableConcept"]["text"] for m in requests)
    assert names == [
        "Amlodipine 10mg tablets",
        "Amlodipine 5mg tablets",
        "Lansoprazole 30mg gastro-resistant capsules",
        "Omeprazole 20mg gastro-resistant capsules",
    ]
    assert all(m["subject"]["reference"] == f"Patient/{ADA}" for m in requests)
    assert all(m["meta"]["lastUpdated"].endswith("Z") for m in requests)
    gp = [m for m in requests if m["requester"]["identifier"]["value"] == "A10001"]
    assert [m["courseOfTherapyType"]["coding"][0]["code"] for m in gp] == ["continuous"] * 2
    assert {m["authoredOn"] for m in gp} == {"2025-01-02"}
    dispenses = _matches(sources.get("/fhir/R4/MedicationDispense", params={"patient": ADA}).json())
    assert len(dispenses) == 1
    d = dispenses[0]
    validate(d)
    assert d["status"] == "completed" and d["whenHandedOver"] == "2025-04-20"
    assert d["performer"][0]["actor"]["identifier"]["value"] == "FA001"
    # each is readable by its id, with an ETag; the wrong type for an id is 404
    for m in (*requests, d):
        read = sources.get(f"/fhir/R4/{m['resourceType']}/{m['id']}")
        assert read.status_code == 200 and read.json() == m
        assert read.headers["etag"].startswith('W/"')
    assert sources.get(f"/fhir/R4/MedicationRequest/{d['id']}").status_code == 404
    for bad in ("999999-0", "x", f"{d['id'].split('-')[0]}-99"):
        r = sources.get(f"/fhir/R4/MedicationDispense/{bad}")
        assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"


def test_source_line_searches_by_status_date_and_last_updated(sources):
    def total(rtype, **params):
        r = sources.get(f"/fhir/R4/{rtype}", params={"patient": ADA, **params})
        assert r.status_code == 200, r.text
        return r.json()["total"]

    assert total("MedicationRequest", status="active") == 4
    assert total("MedicationRequest", status="stopped,completed") == 0
    assert total("MedicationRequest", authoredon="2025-01-02") == 2  # the GP lines
    assert total("MedicationRequest", authoredon="ge2025-01-03") == 2  # hospital: 1 May 2025
    assert total("MedicationRequest", authoredon="gt2025-05-01") == 0
    assert total("MedicationRequest", authoredon=["ge2025-01", "le2025-01-31"]) == 2
    assert total("MedicationDispense", whenhandedover="lt2025-04-20") == 0
    assert total("MedicationDispense", whenhandedover="2025-04") == 1
    assert total("MedicationRequest", _lastUpdated="ge2000-01-01") == 4
    assert total("MedicationRequest", _lastUpdated="lt2000-01-01") == 0
    for params, where in (
        ({"status": "paused"}, "status"),
        ({"authoredon": "yesterday"}, "authoredon"),
        ({"_lastUpdated": "ge2025-13-01"}, "_lastUpdated"),
        ({"_include": "MedicationRequest:requester"}, "_include"),
        ({"date": "2025"}, "date"),
    ):
        r = sources.get("/fhir/R4/MedicationRequest", params={"patient": ADA, **params})
        assert r.status_code == 400, (params, r.text)
        assert r.json()["issue"][0]["expression"] == [where]
    count = sources.get(
        "/fhir/R4/MedicationRequest", params={"patient": ADA, "_summary": "count"}
    ).json()
    assert count["total"] == 4 and "entry" not in count


def test_spec_search_date_prefixes_follow_fhir_r4_search():
    """FHIR R4 §3.1.1.4.2: a date stands for the range its precision implies."""
    march = date_filter(["2026-03"], "date")
    assert march(date(2026, 3, 31)) and not march(date(2026, 4, 1))
    assert date_filter(["ge2026-03-01"], "d")(date(2026, 3, 1))
    assert not date_filter(["gt2026-03-01"], "d")(date(2026, 3, 1))
    assert date_filter(["lt2026-03-01"], "d")(date(2026, 2, 28))
    assert not date_filter(["le2026-02-28"], "d")(date(2026, 3, 1))
    assert date_filter(["ne2026"], "d")(date(2025, 12, 31))
    assert date_filter(["ge2026-03-01T10:00:00Z"], "d")(datetime(2026, 3, 1, 10, 0, 0))
    assert not date_filter(["ge2026-03-01T10:00:00+01:00"], "d")(datetime(2026, 3, 1, 8, 59))
    assert not date_filter(["2026"], "d")(None)
    assert date_filter([], "d")(None)


def test_include_patient_and_provenance(sources):
    r = sources.get(
        "/fhir/R4/MedicationStatement",
        params={"patient": ADA, "status": "active", "_include": "MedicationStatement:patient"},
    )
    bundle = r.json()
    validate(bundle)
    included = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "include"]
    assert [i["resourceType"] for i in included] == ["Patient"] and included[0]["id"] == ADA
    lst = sources.get(
        "/fhir/R4/List",
        params={
            "patient": ADA,
            "_include": ["List:item", "List:subject"],
            "_revinclude": "Provenance:target",
        },
    ).json()
    validate(lst)
    kinds = sorted({e["resource"]["resourceType"] for e in lst["entry"]})
    assert kinds == ["List", "MedicationStatement", "Patient", "Provenance"]
    provenance = sources.get("/fhir/R4/Provenance", params={"patient": ADA}).json()
    validate(provenance)
    (prov,) = _matches(provenance)
    (the_list,) = _matches(lst)
    targets = {t["reference"] for t in prov["target"]}
    assert f"List/{the_list['id']}" in targets
    assert {e["item"]["reference"] for e in the_list["entry"]} <= targets
    assert [e["what"]["display"] for e in prov["entity"]] == [
        "gp:A10001",
        "hospital:RXX",
        "pharmacy:FA001",
    ]
    # the same version of the record: the same Provenance id
    again = _matches(sources.get("/fhir/R4/Provenance", params={"patient": ADA}).json())
    assert again[0]["id"] == prov["id"]


def test_source_lines_go_through_the_access_policy(sources, client_as, sample_ics):
    from ipmo.store import session_scope

    requests = _matches(sources.get("/fhir/R4/MedicationRequest", params={"patient": ADA}).json())
    assert sources.get(f"/fhir/R4/MedicationRequest/{requests[0]['id']}").status_code == 200
    # a user with record.view but no relationship with her; and a role without record.view
    for user in ("hospital.pharmacist", "analyst"):
        for url, params in (
            ("/fhir/R4/MedicationRequest", {"patient": ADA}),
            (f"/fhir/R4/MedicationRequest/{requests[0]['id']}", {}),
            ("/fhir/R4/Provenance", {"patient": ADA}),
        ):
            r = client_as(user).get(url, params=params)
            assert r.status_code == 403 and r.json()["resourceType"] == "OperationOutcome", url
    r = sources.get("/fhir/R4/MedicationDispense", params={"patient": DEV})
    assert r.status_code == 403
    with session_scope(sample_ics) as s:
        seen = {
            (a.action, a.outcome)
            for a in s.scalars(select(AuditEvent).where(AuditEvent.action.like("record.fhir.%")))
        }
    assert ("record.fhir.medicationrequest.search", "permitted") in seen
    assert ("record.fhir.medicationrequest.read", "permitted") in seen
    assert ("record.fhir.medicationrequest.read", "refused") in seen
    assert ("record.fhir.medicationdispense.search", "refused") in seen
    assert ("record.fhir.provenance", "refused") in seen
