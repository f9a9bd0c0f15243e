"""``$export`` (FHIR Bulk Data Access IG v2.0.0) of pseudonymised, disclosure-controlled lines:
async kick-off, status polling, NDJSON files, cancel; ICS analysts only; nothing identifiable
(issue 18, item 2)."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from datetime import date

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import select
from tests.web_session import sign_in

from ipmo.disclosure import SUPPRESSION_THRESHOLD
from ipmo.fhir.capability import PROFILES
from ipmo.patients.models import Patient
from ipmo.security.models import AuditEvent
from ipmo.security.users import DEMO_PASSWORD, seed_demo_users
from ipmo.store import session_scope
from ipmo.synth.generator import generate

ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


@pytest.fixture
def tiny_ics(engine, app_settings):
    """The synthetic ICS at its tiny size (400 patients with GP, hospital and pharmacy lines)."""
    generate(engine, size="tiny", seed=3, progress=False, as_of=date(2026, 12, 1))
    with session_scope(engine) as s:
        seed_demo_users(s)
    from ipmo.web.app import create_app

    app = create_app(engine, app_settings)
    clients: list[TestClient] = []

    def as_user(username: str) -> TestClient:
        client = TestClient(app, base_url="http://testserver")
        clients.append(client)
        assert sign_in(client, username, DEMO_PASSWORD).status_code == 303
        return client

    yield as_user
    for c in clients:
        c.close()


def _wait(client: TestClient, url: str):
    for _ in range(600):
        r = client.get(url)
        if r.status_code != 202:
            return r
        assert r.headers["x-progress"]
        time.sleep(0.05)
    raise AssertionError("the export did not finish")


def test_bulk_export_kick_off_poll_download_and_cancel(tiny_ics, engine):
    analyst = tiny_ics("analyst")
    r = analyst.get("/fhir/R4/$export", headers=ASYNC)
    assert r.status_code == 202, r.text
    status_url = r.headers["content-location"]
    assert "/fhir/bulkstatus/" in status_url
    done = _wait(analyst, status_url)
    assert done.status_code == 200, done.text
    manifest = done.json()
    assert manifest["requiresAccessToken"] is True
    assert manifest["request"].endswith("/fhir/R4/$export")
    assert manifest["transactionTime"].endswith("Z")
    assert [o["type"] for o in manifest["output"]] == [
        "Patient",
        "MedicationRequest",
        "MedicationDispense",
    ]
    text = {}
    for out in manifest["output"] + manifest["error"]:
        f = analyst.get(out["url"])
        assert f.status_code == 200 and f.headers["content-type"].startswith(
            "application/fhir+ndjson"
        )
        text[out["type"]] = f.text
        lines = [json.loads(line) for line in f.text.splitlines()]
        assert len(lines) == out.get("count", len(lines)) > 0
        for res in lines:  # each line a valid R4 resource declaring its profile, pseudonymised
            get_fhir_model_class(res["resourceType"]).model_validate(res)
            if res["resourceType"] != "OperationOutcome":
                assert res["meta"]["profile"] == [PROFILES[res["resourceType"]]]
                assert res["meta"]["security"][0]["code"] == "PSEUDED"
    patients = [json.loads(line) for line in text["Patient"].splitlines()]
    with session_scope(engine) as s:
        people = s.scalars(select(Patient)).all()
        assert len(patients) == len(people) == 400
        _assert_nothing_identifiable("\n".join(text.values()), people)
    # every medication line refers to an exported (pseudonymous) patient
    ids = {p["id"] for p in patients}
    requests = [json.loads(line) for line in text["MedicationRequest"].splitlines()]
    assert {m["subject"]["reference"].removeprefix("Patient/") for m in requests} <= ids
    # disclosure control: no exported medicine is held by few patients
    holders: dict[str, set[str]] = {}
    for m in requests:
        holders.setdefault(m["medicationCodeableConcept"]["coding"][0]["code"], set()).add(
            m["subject"]["reference"]
        )
    assert holders and min(len(h) for h in holders.values()) > SUPPRESSION_THRESHOLD
    outcome = json.loads(text["OperationOutcome"])
    assert any("withheld by disclosure control" in i["diagnostics"] for i in outcome["issue"])
    # dates are months only
    assert all(len(m.get("authoredOn", "2026-01")) == 7 for m in requests)
    # cancel (delete): the files go, and the status is then 404
    assert analyst.delete(status_url).status_code == 202
    gone = analyst.get(status_url)
    assert gone.status_code == 404 and gone.json()["resourceType"] == "OperationOutcome"
    assert analyst.get(manifest["output"][0]["url"]).status_code == 404
    with session_scope(engine) as s:
        audited = Counter(
            a.action
            for a in s.scalars(select(AuditEvent).where(AuditEvent.action.like("fhir.export.%")))
        )
    assert audited == {"fhir.export.start": 1, "fhir.export.download": 4, "fhir.export.cancel": 1}


def _assert_nothing_identifiable(output: str, people) -> None:
    """No NHS number, name, birth date or postcode of any patient anywhere in the output."""
    assert not re.search(r"(?<![0-9a-f])\d{10}(?![0-9a-f])", output)  # no NHS-number-like run
    checked = 0
    for p in people:
        for value in (p.nhs_number, p.birth_date.isoformat(), p.postcode):
            if value:
                assert value not in output
        for name in (p.given_name, p.family_name):
            assert not re.search(rf"\b{re.escape(name)}\b", output), name
        checked += 1
    assert checked == len(people) > 0


def test_bulk_export_is_for_ics_analysts_only(tiny_ics):
    for user in ("pcn.pharmacist", "safety.officer", "admin", "gp"):
        r = tiny_ics(user).get("/fhir/R4/$export", headers=ASYNC)
        assert r.status_code == 403 and r.json()["resourceType"] == "OperationOutcome", user
    analyst = tiny_ics("analyst")
    status_url = analyst.get("/fhir/R4/$export", headers=ASYNC).headers["content-location"]
    # another user (even one allowed to export) cannot see someone else's job
    other = tiny_ics("pcn.pharmacist")
    assert other.get(status_url).status_code == 403
    assert _wait(analyst, status_url).status_code == 200
    assert analyst.delete(status_url).status_code == 202


def test_bulk_export_kick_off_errors_are_operation_outcomes(tiny_ics):
    analyst = tiny_ics("analyst")
    for params, headers, where in (
        ({}, {}, "Prefer"),
        ({"_outputFormat": "text/csv"}, ASYNC, "_outputFormat"),
        ({"_type": "Patient,Observation"}, ASYNC, "_type"),
        ({"_since": "yesterday"}, ASYNC, "_since"),
        ({"_since": "2026-01-01T00:00:00"}, ASYNC, "_since"),
        ({"_typeFilter": "x"}, ASYNC, "_typeFilter"),
    ):
        r = analyst.get("/fhir/R4/$export", params=params, headers=headers)
        assert r.status_code == 400, (params, r.text)
        assert r.json()["issue"][0]["expression"] == [where]
    for bad in ("not-a-job", "00000000-0000-4000-8000-000000000000"):
        assert analyst.get(f"/fhir/bulkstatus/{bad}").status_code == 404
        assert analyst.delete(f"/fhir/bulkstatus/{bad}").status_code == 404
    # _type and _since narrow the export
    r = analyst.get(
        "/fhir/R4/$export",
        params={"_type": "Patient", "_since": "2100-01-01T00:00:00Z"},
        headers=ASYNC,
    )
    manifest = _wait(analyst, r.headers["content-location"]).json()
    assert [o["type"] for o in manifest["output"]] == ["Patient"]
    r = analyst.get(
        "/fhir/R4/$export",
        params={"_type": "MedicationRequest", "_since": "2100-01-01T00:00:00Z"},
        headers=ASYNC,
    )
    manifest = _wait(analyst, r.headers["content-location"]).json()
    assert manifest["output"] == []  # nothing received since: no file (the IG)


def test_one_export_at_a_time_and_old_jobs_are_deleted(tiny_ics, app_settings):
    import os

    from ipmo.records import bulk

    analyst = tiny_ics("analyst")
    request = bulk.ExportRequest(bulk.EXPORT_TYPES, None, "http://testserver/fhir/R4/$export")
    _, folder = bulk.create_job(app_settings.data_dir, "analyst", request)  # still running
    r = analyst.get("/fhir/R4/$export", headers=ASYNC)
    assert r.status_code == 429 and r.json()["issue"][0]["code"] == "throttled"
    two_days_ago = time.time() - 2 * 86400
    os.utime(folder / "job.json", (two_days_ago, two_days_ago))
    r = analyst.get("/fhir/R4/$export", headers=ASYNC)  # the stale job is deleted first
    assert r.status_code == 202 and not folder.exists()
    assert _wait(analyst, r.headers["content-location"]).status_code == 200
