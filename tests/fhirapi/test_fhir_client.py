"""Proof with a real FHIR client (fhirpy, from PyPI) against the real server process
(``ipmo serve`` on a loopback port, a temporary data folder): metadata, search, paging by the
``next`` links, read, a versioned Task update, and OperationOutcomes for errors (issue 18)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import (
    ForbiddenError,
    MultipleResourcesFound,
    OperationOutcome,
    ResourceNotFound,
)
from tests.records.test_api import ADA, DEV, GP_CSV
from tests.referrals.apihelpers import always_open, message

NHS = "https://fhir.nhs.uk/Id/nhs-number"
SERVER_LOG: dict[str, Path] = {}  # base URL → the served process's log


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("served")
    from ipmo.security.users import seed_demo_users
    from ipmo.store import create_store_engine, init_store, session_scope
    from ipmo.synth.sample import seed_sample_ics

    engine = create_store_engine(f"sqlite:///{tmp_path / 'ipmo.sqlite3'}")
    init_store(engine)
    with session_scope(engine) as s:
        seed_sample_ics(s)
        seed_demo_users(s)
    always_open(engine, "FA001")  # referrals route there whatever the hour
    engine.dispose()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "IPMO_DATA_DIR": str(tmp_path)}
    env.pop("IPMO_DATABASE_URL", None)
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ipmo", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    SERVER_LOG[base] = tmp_path / "server.log"
    try:
        deadline = time.time() + 90
        while True:
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.time() < deadline, "ipmo serve did not start"
                time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        log.close()


def token(base: str, username: str) -> str:
    from ipmo.security.users import DEMO_PASSWORD

    r = httpx.post(f"{base}/api/auth/token", data={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def client(base: str, username: str, **headers: str) -> SyncFHIRClient:
    return SyncFHIRClient(
        f"{base}/fhir/R4", authorization=f"Bearer {token(base, username)}", extra_headers=headers
    )


def test_a_fhir_client_library_uses_the_api(server):
    base = server
    # data through the ordinary APIs: a GP list for ADA, a referral from NHS 111 to FA001
    pharmacist_token = token(base, "pcn.pharmacist")
    r = httpx.post(
        f"{base}/api/records/patients/{ADA}/sources",
        content=GP_CSV,
        headers={"content-type": "text/csv", "Authorization": f"Bearer {pharmacist_token}"},
    )
    assert r.status_code == 201, r.text
    r = httpx.post(
        f"{base}/fhir/R4/$process-message",
        json=message(receiver="FA001"),
        headers={
            "content-type": "application/fhir+json",
            "Authorization": f"Bearer {token(base, 'nhs111')}",
        },
    )
    assert r.status_code == 200, r.text
    reference = r.json()["entry"][1]["resource"]["identifier"][0]["value"]

    pcn = client(base, "pcn.pharmacist")
    # 1. the CapabilityStatement
    cs = pcn.execute("metadata", method="get")
    assert cs["resourceType"] == "CapabilityStatement" and cs["fhirVersion"] == "4.0.1"
    served = {r["type"] for r in cs["rest"][0]["resource"]}
    assert {"Patient", "MedicationStatement", "Task", "Organization"} <= served

    # 2. search and read a patient
    [patient] = pcn.resources("Patient").search(identifier=f"{NHS}|{ADA}").fetch()
    assert patient.id == ADA and patient["birthDate"]
    assert pcn.reference("Patient", ADA).to_resource()["name"][0]["family"] == "Smith"
    with pytest.raises(ForbiddenError):  # no legitimate relationship
        pcn.reference("Patient", DEV).to_resource()

    # 3. current medications with the List that holds them
    bundle = (
        pcn.resources("MedicationStatement")
        .search(patient=ADA, status="active")
        .revinclude("List", "item")
        .fetch_raw()
    )
    modes = sorted({e["search"]["mode"] for e in bundle["entry"]})
    assert bundle["total"] == 2 and modes == ["include", "match"]

    # 4. paging: fetch_all follows the server's next links to the end
    everything = pcn.resources("Organization").limit(3).fetch_all()
    # (fhirpy's count() sends Aidbox's _totalMethod, which a strict server refuses: _summary)
    total = pcn.resources("Organization").search(_summary="count").fetch_raw()["total"]
    assert total > 3 and len(everything) == total
    assert len({o.id for o in everything}) == total

    # 5. errors come back as OperationOutcomes the client understands
    with pytest.raises(OperationOutcome) as caught:
        pcn.resources("Patient").search(identifier=ADA, name="Smith").fetch()
    issue = caught.value.resource["issue"][0]
    assert issue["code"] == "not-supported" and issue["expression"] == ["name"]
    with pytest.raises(ResourceNotFound):
        pcn.reference("Organization", "NOPE").to_resource()

    # 6. the receiving pharmacy accepts the referral's Task with the version it read
    pharmacy = client(base, "community.pharmacist")
    task = pharmacy.reference("Task", reference).to_resource()
    version = task["meta"]["versionId"]
    task["status"] = "accepted"
    versioned = client(base, "community.pharmacist", **{"If-Match": f'W/"{version}"'})
    saved = versioned.resource("Task", **task.serialize())
    saved.save()  # PUT Task/<id>; the resource is refreshed from the server's reply
    assert saved["status"] == "accepted" and saved["meta"]["versionId"] != version
    # the same stale version again: 412 (fhirpy names a 412 MultipleResourcesFound)
    with pytest.raises(MultipleResourcesFound):
        versioned.resource("Task", **task.serialize()).save()
    assert pharmacy.reference("Task", reference).to_resource()["status"] == "accepted"

    # 7. the source lines behind the record, with the Patient included; one read by its id
    lines = (
        pcn.resources("MedicationRequest")
        .search(patient=ADA, status="active", authoredon="ge2025-01-01")
        .include("MedicationRequest", "patient")
        .fetch_raw()
    )
    by_mode = {e["search"]["mode"]: e["resource"]["resourceType"] for e in lines["entry"]}
    assert lines["total"] == 2 and by_mode == {"match": "MedicationRequest", "include": "Patient"}
    first = lines["entry"][0]["resource"]
    request = pcn.reference("MedicationRequest", first["id"]).to_resource()
    assert request["medicationCodeableConcept"] == first["medicationCodeableConcept"]
    # the record's Provenance names its sources; a paged search of source lines by next links
    [provenance] = pcn.resources("Provenance").search(patient=ADA).fetch()
    assert [e["what"]["display"] for e in provenance["entity"]] == ["gp:A10001"]
    paged = pcn.resources("MedicationRequest").search(patient=ADA).limit(1).fetch_all()
    assert len(paged) == 2 and len({m.id for m in paged}) == 2
    with pytest.raises(OperationOutcome) as caught:  # an unknown date prefix: an outcome
        pcn.resources("MedicationRequest").search(patient=ADA, authoredon="zz2025").fetch()
    assert caught.value.resource["issue"][0]["expression"] == ["authoredon"]


def test_tracing_headers_over_http(server):
    tok = token(server, "pcn.pharmacist")
    r = httpx.get(
        f"{server}/fhir/R4/Patient/{ADA}",
        headers={
            "Authorization": f"Bearer {tok}",
            "X-Request-ID": "rq-1",
            "X-Correlation-ID": "c9",
        },
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    assert (r.headers["x-request-id"], r.headers["x-correlation-id"]) == ("rq-1", "c9")
    assert r.headers["etag"].startswith('W/"')

    # the server's log has the ids on the line for this request, and no NHS number anywhere
    def ours() -> list[str]:
        return [
            x
            for x in SERVER_LOG[server].read_text().splitlines()
            if "request_id=rq-1 correlation_id=c9" in x
        ]

    deadline = time.time() + 20  # the line is written once the response has gone
    while not any("ipmo.fhir" in x for x in ours()):
        assert time.time() < deadline, SERVER_LOG[server].read_text()[-2000:]
        time.sleep(0.1)
    logged, lines = SERVER_LOG[server].read_text(), ours()
    assert any("ipmo.fhir" in x and "GET /fhir/R4/Patient/{nhs_number} 200" in x for x in lines)
    assert any("uvicorn.access" in x for x in lines)  # the access log line carries them too
    assert ADA not in logged and DEV not in logged
    # an Accept the API cannot serve: 406 with an OperationOutcome
    r = httpx.get(f"{server}/fhir/R4/metadata", headers={"Accept": "application/fhir+xml"})
    assert r.status_code == 406 and r.json()["resourceType"] == "OperationOutcome"
