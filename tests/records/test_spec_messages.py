"""Issue 13 (One Medication Record on the messages the NHS sends) and issue 12 (malformed source
content refused), one test per requirement, on NHS England's published EPS messages where they
show it and on small payloads written from the published rules where they do not."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from ipmo.records.adapters import FhirInputError, from_fhir, load_source
from ipmo.records.normalise import normalise
from ipmo.records.publish import as_json, publish_bundle
from ipmo.records.reconcile import reconcile

NHS = "9434765919"
OTHER_NHS = "9000000009"
EPS = "fhir/eps/messages"
ACUTE = "primary-care_acute_nominated-pharmacy_medical-prescriber_1-Process-Request-Send-200_OK"
NO_VALIDITY = "primary-care_acute-and-repeat-prescribing_1-Process-Request-Send-200_OK"
CANCEL = (
    "primary-care_acute_nominated-pharmacy_medical-prescriber_cancellations_1-"
    "Process-Request-Cancel-200_OK"
)
DISPENSE = (
    "secondary-care_community_repeat-dispensing_nominated-pharmacy_clinical-practitioner_"
    "single-medication-request_1-Process-Request-Dispense-200_OK"
)
SUBJECT = {"identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": NHS}}
AMLODIPINE = {
    "coding": [{"system": "https://dmd.nhs.uk", "code": "900151", "display": "Amlodipine 5mg"}]
}


def eps(shared_dir: Path, name: str) -> bytes:
    return (shared_dir / EPS / f"{name}.json").read_bytes()


def bundle(*resources: dict, **root) -> str:
    return json.dumps(
        {"resourceType": "Bundle", "type": "collection", **root}
        | {"entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]}
    )


def request(id_: str, intent: str = "order", **extra) -> dict:
    return {
        "resourceType": "MedicationRequest",
        "id": id_,
        "status": "active",
        "intent": intent,
        "medicationCodeableConcept": AMLODIPINE,
        "subject": SUBJECT,
        **extra,
    }


def dispense(id_: str, **extra) -> dict:
    return {
        "resourceType": "MedicationDispense",
        "id": id_,
        "status": "completed",
        "medicationCodeableConcept": AMLODIPINE,
        "subject": SUBJECT,
        **extra,
    }


# --- item 2: dates from what the message holds -------------------------------------------------


def test_spec_eps_request_dated_by_validity_period_start(shared_dir):
    doc = load_source(eps(shared_dir, ACUTE))
    assert doc.items and all(
        i.date_source == "dispenseRequest.validityPeriod.start" for i in doc.items
    )
    assert all(i.authored_on is not None for i in doc.items)


def test_spec_eps_request_without_validity_dated_by_signature_provenance(shared_dir):
    doc = load_source(eps(shared_dir, NO_VALIDITY))
    sources = {i.date_source for i in doc.items}
    assert "Provenance.recorded" in sources
    assert all(i.authored_on is not None for i in doc.items)


def test_spec_request_date_order_authored_on_validity_provenance_timestamp():
    validity = {"dispenseRequest": {"validityPeriod": {"start": "2025-03-01"}}}
    both = request("r1", authoredOn="2025-02-01", **validity)
    doc = from_fhir(bundle(both), source_kind="gp")
    assert (doc.items[0].authored_on, doc.items[0].date_source) == (date(2025, 2, 1), "authoredOn")
    signed = {
        "resourceType": "Provenance",
        "id": "p1",
        "target": [{"reference": "urn:uuid:r2"}],
        "recorded": "2025-04-01T10:00:00+00:00",
        "agent": [{"who": {"display": "prescriber"}}],
    }
    doc = from_fhir(bundle(request("r2"), signed), source_kind="gp")
    assert (doc.items[0].authored_on, doc.items[0].date_source) == (
        date(2025, 4, 1),
        "Provenance.recorded",
    )
    doc = from_fhir(bundle(request("r3"), timestamp="2025-05-01T09:00:00Z"), source_kind="gp")
    assert (doc.items[0].authored_on, doc.items[0].date_source) == (
        date(2025, 5, 1),
        "Bundle.timestamp",
    )
    doc = from_fhir(bundle(request("r4")), source_kind="gp")
    assert doc.items[0].authored_on is None and doc.items[0].date_source is None


def test_spec_dispense_dated_by_when_handed_over_else_when_prepared():
    doc = from_fhir(
        bundle(dispense("d1", whenPrepared="2025-05-01", whenHandedOver="2025-05-02")),
        source_kind="pharmacy",
    )
    assert (doc.items[0].authored_on, doc.items[0].date_source) == (
        date(2025, 5, 2),
        "whenHandedOver",
    )
    doc = from_fhir(bundle(dispense("d2", whenPrepared="2025-05-01")), source_kind="pharmacy")
    assert doc.items[0].date_source == "whenPrepared"


# --- item 3 (adapter side): a completed dispense is current while its supply lasts -------------


def test_spec_eps_dispense_notification_is_current_while_supply_lasts(shared_dir, dictionary):
    doc = load_source(eps(shared_dir, DISPENSE))
    assert doc.source_kind == "pharmacy"
    (item,) = doc.items
    assert item.status == "completed"
    normalise(doc.items, dictionary)
    soon = reconcile([doc], date(2021, 7, 20))
    assert [line.status for line in soon.lines] == ["current"] and item.clause == "D1"
    later = reconcile([doc], date(2022, 7, 20))
    assert later.lines == [] and [i.clause for _, i in later.not_current] == ["D1-out"]


# --- item 4: EPS messages in full --------------------------------------------------------------


@pytest.mark.parametrize("intent", ["order", "original-order", "instance-order", "reflex-order"])
def test_spec_eps_order_intents_are_issues(intent):
    validity = {"dispenseRequest": {"validityPeriod": {"start": "2025-03-01"}}}
    doc = from_fhir(bundle(request("r1", intent, **validity)), source_kind="gp")
    assert doc.items[0].last_issued == date(2025, 3, 1)
    plan = from_fhir(bundle(request("r1", "plan", **validity)), source_kind="gp")
    assert plan.items[0].last_issued is None


def test_spec_eps_cancelled_item_is_not_current_with_reason(shared_dir, dictionary):
    doc = load_source(eps(shared_dir, CANCEL))
    normalise(doc.items, dictionary)
    result = reconcile([doc], doc.items[0].authored_on)
    assert result.lines == []
    ((_, item),) = result.not_current
    assert item.clause == "X1" and item.status_reason  # "Prescribing Error"


def test_spec_repeat_dispensing_instances_fold_into_one_line():
    rd = {"courseOfTherapyType": {"coding": [{"code": "continuous-repeat-dispensing"}]}}
    issues = [
        request("o1", "original-order", authoredOn="2025-01-01", **rd),
        request("i2", "instance-order", authoredOn="2025-02-01", **rd),
        request("i3", "instance-order", authoredOn="2025-03-01", **rd),
    ]
    doc = from_fhir(bundle(*issues), source_kind="gp")
    (line,) = doc.items
    assert line.category == "repeat-dispensing"
    assert (line.authored_on, line.last_issued) == (date(2025, 1, 1), date(2025, 3, 1))
    acute = from_fhir(bundle(request("a1"), request("a2")), source_kind="gp")
    assert len(acute.items) == 2  # two acute issues are two lines (a duplication to report)


def test_spec_partial_dispenses_add_up(dictionary):
    rx = {"authorizingPrescription": [{"reference": "MedicationRequest/rx1"}]}
    parts = [
        dispense("d1", whenHandedOver="2025-05-01", daysSupply={"value": 14}, **rx),
        dispense("d2", whenHandedOver="2025-05-08", daysSupply={"value": 14}, **rx),
    ]
    doc = from_fhir(bundle(*parts), source_kind="pharmacy")
    (line,) = doc.items
    assert line.supply_days == 28 and line.supply_basis == "partial dispenses added up"
    assert (line.authored_on, line.last_issued) == (date(2025, 5, 1), date(2025, 5, 8))
    normalise(doc.items, dictionary)
    # 1 May + 28 days + grace is still current on 1 June; one part alone would not be
    assert [x.status for x in reconcile([doc], date(2025, 6, 10)).lines] == ["current"]


def test_spec_every_eps_message_line_is_accounted_for(shared_dir, dictionary):
    messages = sorted((shared_dir / EPS).glob("*.json"))
    assert messages, f"no EPS messages under {shared_dir / EPS}"
    for path in messages:
        try:
            doc = load_source(path.read_bytes())
        except FhirInputError as exc:  # claims are not medication lists: refused with reason
            assert exc.diagnostics
            continue
        normalise(doc.items, dictionary)
        when = max((i.authored_on for i in doc.items if i.authored_on), default=None)
        assert when is not None, f"{path.name}: no line dated"
        result = reconcile([doc], when)
        listed = sum(len(v) for line in result.lines for v in line.by_source.values())
        assert listed + len(result.not_current) == len(doc.items), path.name
        # every medication resource of the message is a line of its own here (none folded)
        raw = json.loads(path.read_text())
        meds = [
            e
            for e in raw.get("entry", [])
            if e["resource"]["resourceType"].startswith("Medication")
        ]
        assert len(doc.items) + len(doc.not_used) == len(meds) == doc.resources_read, path.name
        assert all(i.clause for _, i in result.not_current)


# --- item 1: nothing silently dropped ----------------------------------------------------------


def test_spec_not_used_and_not_current_lines_are_shown_everywhere(dictionary):
    payload = bundle(
        request("r1", authoredOn="2025-05-01", courseOfTherapyType={"coding": [{"code": "acute"}]}),
        request("r2", status="entered-in-error", authoredOn="2025-05-01"),
        request("r3", authoredOn="2020-01-01", courseOfTherapyType={"coding": [{"code": "acute"}]}),
        {
            "resourceType": "MedicationAdministration",
            "id": "ma1",
            "status": "completed",
            "medicationCodeableConcept": AMLODIPINE,
            "subject": SUBJECT,
            "effectiveDateTime": "2025-05-01",
        },
    )
    doc = from_fhir(payload, source_kind="gp")
    assert {n.resource for n in doc.not_used} == {
        "MedicationRequest/r2",
        "MedicationAdministration/ma1",
    }
    normalise(doc.items, dictionary)
    result = reconcile([doc], date(2025, 6, 1))
    body = as_json(result, NHS, sources=[doc])
    assert [n["clause"] for n in body["not_current"]] == ["A1-old"]
    assert body["not_current"][0]["why"].startswith("FCI A1")
    assert {n["reason"] for n in body["not_used"]} == {
        "entered in error",
        "a MedicationAdministration records one administration, not a list line",
    }
    med = body["medications"][0]["sources"][0]
    assert med["clause"] == "A1-issued" and med["date_source"] == "authoredOn"
    notes = [
        e["resource"]["note"]
        for e in publish_bundle(result, NHS)["entry"]
        if e["resource"]["resourceType"] == "List"
    ][0]
    texts = " ".join(n["text"] for n in notes)
    assert "not current: gp:" in texts and "not used: gp:" in texts and "entered in error" in texts


# --- item 5: source kind stated, else inferred with the reason, else asked for -----------------


def test_spec_uk_core_gp_list_with_last_issue_date_and_gp_source_is_gp():
    practice = {
        "resourceType": "Organization",
        "id": "gp1",
        "identifier": [
            {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "A81001"}
        ],
        "type": [
            {
                "coding": [
                    {"system": "https://fhir.nhs.uk/CodeSystem/organisation-role", "code": "76"}
                ]
            }
        ],
    }
    statement = {
        "resourceType": "MedicationStatement",
        "id": "s1",
        "status": "active",
        "extension": [
            {
                "url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-MedicationStatementLastIssueDate",
                "valueDateTime": "2025-05-01",
            }
        ],
        "medicationCodeableConcept": AMLODIPINE,
        "subject": SUBJECT,
        "effectiveDateTime": "2024-01-01",
        "informationSource": {"reference": "urn:uuid:gp1"},
    }
    doc = from_fhir(bundle(statement, practice))
    assert doc.source_kind == "gp" and "GP practice" in doc.kind_reason
    no_org = dict(statement, informationSource=None)
    doc = from_fhir(bundle(no_org))
    assert doc.source_kind == "gp" and "LastIssueDate" in doc.kind_reason
    stated = from_fhir(bundle(statement, practice), source_kind="hospital")
    assert (stated.source_kind, stated.kind_reason) == ("hospital", "stated by the caller")


def test_spec_source_kind_unknown_is_asked_for(tmp_path):
    from typer.testing import CliRunner

    from ipmo.cli import app

    plain = bundle(request("r1", authoredOn="2025-05-01"))
    doc = from_fhir(plain)
    assert doc.source_kind == "unknown"
    path = tmp_path / "list.json"
    path.write_text(plain)
    runner = CliRunner()
    r = runner.invoke(app, ["records", "reconcile", str(path), "--as-of", "2025-06-01"])
    assert r.exit_code == 2 and "--source KIND=" in r.stderr
    r = runner.invoke(
        app, ["records", "reconcile", "--source", f"hospital={path}", "--as-of", "2025-06-01"]
    )
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["source_kinds"][0]["why"] == "stated by the caller"


# --- issue 12: malformed source content refused, naming the element ----------------------------


def patient(id_: str, nhs: str) -> dict:
    return {
        "resourceType": "Patient",
        "id": id_,
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs}],
    }


MALFORMED = {
    "two-patients": (
        bundle(
            request("r1", authoredOn="2025-05-01"), patient("p1", NHS), patient("p2", OTHER_NHS)
        ),
        "Bundle.entry.resource.ofType(Patient).identifier",
    ),
    "stu3-profile-on-r4": (
        bundle(
            request(  # doseAndRate and statusReason exist only in R4
                "r1",
                authoredOn="2025-05-01",
                statusReason={"text": "r4 only"},
                dosageInstruction=[{"doseAndRate": [{"doseQuantity": {"value": 1}}]}],
                meta={
                    "profile": [
                        "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-MedicationRequest-1"
                    ]
                },
            )
        ),
        "MedicationRequest.meta.profile",
    ),
    "bogus-status": (
        bundle(request("r1", status="bogus", authoredOn="2025-05-01")),
        "MedicationRequest.status",
    ),
    "date-in-2999": (
        bundle(request("r1", authoredOn="2999-01-01"), timestamp="2025-05-01T09:00:00Z"),
        "MedicationRequest.authoredOn",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_spec_malformed_source_refused_naming_the_element(case):
    payload, element = MALFORMED[case]
    with pytest.raises(FhirInputError) as exc:
        from_fhir(payload, source_kind="gp")
    assert exc.value.outcome()["issue"][0]["expression"] == [element]


def test_spec_uk_core_profile_on_stu3_content_refused(shared_dir):
    path = (
        shared_dir
        / "fhir/gpconnect_examples/access_record_structured_release_1.6.0/split_plan.json"
    )
    text = path.read_text()
    assert from_fhir(text).fhir_version == "STU3"
    from ipmo.fhir.versions import strip_jekyll

    data = json.loads(strip_jekyll(text))
    for entry in data.get("entry", []):
        if entry["resource"]["resourceType"] == "MedicationRequest":
            entry["resource"]["meta"] = {
                "profile": ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-MedicationRequest"]
            }
    with pytest.raises(FhirInputError) as exc:
        from_fhir(json.dumps(data))
    assert exc.value.expression == "MedicationRequest.meta.profile"


def test_spec_malformed_source_refused_by_the_api_and_nothing_written(client_as):
    ada = "9990000018"  # registered at A10001: the PCN pharmacist may see her
    c = client_as("pcn.pharmacist")
    url = f"/api/records/patients/{ada}/sources"
    headers = {"content-type": "application/fhir+json"}
    for case, (payload, element) in sorted(MALFORMED.items()):
        text = payload.replace(NHS, ada)
        r = c.post(url, content=text, params={"source_kind": "gp"}, headers=headers)
        assert r.status_code in (400, 422), (case, r.text)
        assert r.json()["issue"][0]["expression"] == [element], case
    # a list whose kind nobody can tell is refused with the question, not guessed
    plain = bundle(request("r1", authoredOn="2025-05-01")).replace(NHS, ada)
    r = c.post(url, content=plain, headers=headers)
    assert r.status_code in (409, 422) and "state it" in r.text
    body = c.get(f"/api/records/patients/{ada}", params={"as_of": "2025-06-01"}).json()
    assert body["sources"] == [] and body["medications"] == []
    r = c.post(url, content=plain, params={"source_kind": "hospital"}, headers=headers)
    assert r.status_code == 201, r.text
    body = c.get(f"/api/records/patients/{ada}", params={"as_of": "2025-06-01"}).json()
    assert body["source_kinds"][0]["why"] == "stated by the caller"
    assert body["medications"][0]["sources"][0]["date_source"] == "authoredOn"


def test_spec_conformance_command_json_and_table(shared_dir, tmp_path):
    import shutil

    from typer.testing import CliRunner

    from ipmo.cli import app

    for name in (CANCEL, ACUTE, "primary-care_acute_nominated-pharmacy_medical-prescriber_2-"
                 "Claim-Request-400_Missing_Endorsement_Code"):  # fmt: skip
        shutil.copy(shared_dir / EPS / f"{name}.json", tmp_path / f"{name}.json")
    runner = CliRunner()
    r = runner.invoke(app, ["records", "conformance", str(tmp_path), "--format", "json"])
    assert r.exit_code == 0, r.stderr
    rows = {row["file"]: row for row in json.loads(r.stdout)}
    cancel = rows[f"{CANCEL}.json"]
    assert (cancel["lines_read"], cancel["current"], cancel["not_current"]) == (1, 0, {"X1": 1})
    send = rows[f"{ACUTE}.json"]
    assert (send["lines_read"], send["current"]) == (4, 4)
    claim = next(v for v in rows.values() if "Claim" in v["file"])
    assert claim["result"] == "rejected" and "Claim" in claim["detail"]
    r = runner.invoke(app, ["records", "conformance", str(tmp_path)])
    assert r.exit_code == 0 and "3 files: 2 load (5 lines, 4 current), 1 rejected" in r.stdout


def test_spec_organisations_table_decides_kind_and_page_shows_what_is_left_out(client_as):
    ada = "9990000018"  # registered at A10001, a practice in the sample ICS
    c = client_as("pcn.pharmacist")
    payload = bundle(
        request("r1", authoredOn="2025-05-01"),
        request("r2", authoredOn="2019-05-01", courseOfTherapyType={"coding": [{"code": "acute"}]}),
        request("r3", status="entered-in-error", authoredOn="2025-05-01"),
    ).replace(NHS, ada)
    r = c.post(
        f"/api/records/patients/{ada}/sources",
        content=payload,
        params={"source_org_code": "A10001"},
        headers={"content-type": "application/fhir+json"},
    )
    assert r.status_code == 201, r.text
    body = c.get(f"/api/records/patients/{ada}", params={"as_of": "2025-06-01"}).json()
    (kind,) = body["source_kinds"]
    assert kind["kind"] == "gp" and kind["why"] == "A10001 is a practice in the organisations table"
    assert [n["clause"] for n in body["not_current"]] == ["A1-old"]
    assert [n["reason"] for n in body["not_used"]] == ["entered in error"]
    html = c.get(f"/records/patients/{ada}", params={"as_of": "2025-06-01"}).text
    assert 'id="not-current"' in html and "FCI A1: acute with no end date" in html
    assert 'id="not-used"' in html and "entered in error" in html
    assert "in the organisations table" in html
    fhir = c.get("/fhir/R4/List", params={"patient": ada}).json()
    notes = json.dumps(fhir)
    assert "not used: gp:A10001" in notes and "entered in error" in notes


def test_spec_update_record_message_dispense_inside_the_document_is_read(shared_dir):
    """GP Connect Update Record (ITK3): the pharmacy's MedicationDispense sits in the document
    Bundle inside the message Bundle; it is read, not reported as "no medication"."""
    path = shared_dir / "fhir/gpconnect_update_record/pharmacy-first-service--example-1.xml"
    text = path.read_text()
    with pytest.raises(FhirInputError, match="Modulus 11"):  # the example's test NHS number
        load_source(text)
    doc = load_source(text.replace('value="4857773456"', f'value="{NHS}"'))
    assert doc.nhs_number == NHS and doc.fhir_version == "STU3"
    assert [i.resource_type for i in doc.items] == ["MedicationDispense"]
    assert doc.source_kind == "pharmacy"  # a dispensing record, though STU3
    assert doc.items[0].date_source in ("whenHandedOver", "whenPrepared", "Bundle.timestamp")
