"""The records API and FHIR endpoints on the sample ICS: access-checked, versioned, OperationOutcome
on bad input, nothing written when refused."""

import json

ADA = "9990000018"  # registered at A10001 (Riverside PCN): the PCN pharmacist may see her
DEV = "9990000042"  # registered at A20001 (Hillside PCN): no relationship for that pharmacist

GP_CSV = f"""nhs_number,source_kind,source_org_code,name,status,dose_text,authored_on,category
{ADA},gp,A10001,Amlodipine 5mg tablets,active,1 tablet once a day,2025-01-02,repeat
{ADA},gp,A10001,Omeprazole 20mg gastro-resistant capsules,active,1 capsule daily,2025-01-02,repeat
"""


def hospital_bundle(nhs: str = ADA) -> str:
    def ms(i, name, text):
        return {
            "resourceType": "MedicationStatement",
            "id": i,
            "status": "active",
            "category": {"coding": [{"code": "inpatient"}]},
            "effectivePeriod": {"start": "2025-05-01"},
            "medicationCodeableConcept": {"text": name},
            "subject": {
                "identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs}
            },
            "dosage": [{"text": text}],
        }

    return json.dumps(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"resource": ms("h1", "Amlodipine 10mg tablets", "1 tablet once a day")},
                {
                    "resource": ms(
                        "h2", "Lansoprazole 30mg gastro-resistant capsules", "1 capsule once a day"
                    )
                },
            ],
        }
    )


def post_csv(client, nhs, text):
    return client.post(
        f"/api/records/patients/{nhs}/sources", content=text, headers={"content-type": "text/csv"}
    )


def post_fhir(client, nhs, text, **params):
    return client.post(
        f"/api/records/patients/{nhs}/sources",
        content=text,
        params=params,
        headers={"content-type": "application/fhir+json"},
    )


def test_ingest_read_and_decide(client_as):
    c = client_as("pcn.pharmacist")
    r = post_csv(c, ADA, GP_CSV)
    assert r.status_code == 201, r.text
    assert post_csv(c, ADA, GP_CSV).json()["action"] == "unchanged"
    r = post_fhir(c, ADA, hospital_bundle(), source_kind="hospital", source_org_code="RXX")
    assert r.status_code == 201, r.text
    r = c.get(f"/api/records/patients/{ADA}", params={"as_of": "2025-06-01"})
    assert r.status_code == 200
    body = r.json()
    assert body["patient"]["nhs_number"] == ADA
    assert [s["source"] for s in body["sources"]] == ["gp:A10001", "hospital:RXX"]
    kinds = sorted(d["type"] for d in body["discrepancies"])
    assert "duplication" in kinds and "dose" in kinds  # two PPIs; amlodipine 5mg vs 10mg
    etag = r.headers["etag"]
    target = body["discrepancies"][0]["id"]
    decision = {"discrepancy_id": target, "action": "needs_gp", "reason": "ask the practice"}
    url = f"/api/records/patients/{ADA}/decisions?as_of=2025-06-01"
    assert c.post(url, json=decision).status_code == 428
    ok = c.post(url, json=decision, headers={"If-Match": etag})
    assert ok.status_code == 200 and ok.headers["etag"] != etag
    stale = c.post(url, json=decision | {"action": "stop"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    after = c.get(f"/api/records/patients/{ADA}", params={"as_of": "2025-06-01"}).json()
    shown = next(d for d in after["discrepancies"] if d["id"] == target)
    assert shown["decision"]["action"] == "needs_gp"  # the stale "stop" was not written


def test_bad_payload_is_an_operation_outcome_and_writes_nothing(client_as):
    c = client_as("pcn.pharmacist")
    r = post_fhir(c, ADA, '{"resourceType": "Bundle", ')
    assert r.status_code == 400
    assert r.json()["resourceType"] == "OperationOutcome"
    assert "malformed JSON" in r.json()["issue"][0]["diagnostics"]
    other = post_fhir(c, ADA, hospital_bundle(nhs="9990000026"))
    assert other.status_code == 422 and "different patient" in other.text
    assert c.get(f"/api/records/patients/{ADA}").json()["sources"] == []


def test_access_is_checked(client_as):
    pharmacist = client_as("pcn.pharmacist")
    assert pharmacist.get(f"/api/records/patients/{DEV}").status_code == 403
    assert post_csv(pharmacist, DEV, GP_CSV.replace(ADA, DEV)).status_code == 403
    assert pharmacist.get("/api/records/patients/123").status_code == 422
    assert (
        client_as("gp")
        .post(
            f"/api/records/patients/{ADA}/sources",
            content=GP_CSV,
            headers={"content-type": "text/csv"},
        )
        .status_code
        == 403
    )
    assert client_as("analyst").get(f"/api/records/patients/{ADA}").status_code == 403
    assert client_as(None).get(f"/api/records/patients/{ADA}").status_code == 401


def test_fhir_list_and_detected_issues(client_as):
    c = client_as("pcn.pharmacist")
    post_csv(c, ADA, GP_CSV)
    post_fhir(c, ADA, hospital_bundle(), source_kind="hospital", source_org_code="RXX")
    r = c.get(
        "/fhir/R4/List",
        params={
            "patient:identifier": f"https://fhir.nhs.uk/Id/nhs-number|{ADA}",
            "_include": "List:item",
        },
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    bundle = r.json()
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert types[0] == "List" and set(types[1:]) == {"MedicationStatement"}
    issues = c.get("/fhir/R4/DetectedIssue", params={"patient": ADA}).json()
    Bundle.model_validate(issues)
    assert issues["total"] >= 1
    bad = c.get("/fhir/R4/List", params={"patient": "12"})
    assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"
