"""``ipmo review check``: FHIR R4 bundles in, findings out; bad input never crashes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ipmo.cli import app

runner = CliRunner()


def bundle(*resources):
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


PATIENT = {"resourceType": "Patient", "id": "p", "gender": "male", "birthDate": "1940-05-01"}


def med(code, display, when="2024-06-01", kind="MedicationRequest", **extra):
    r = {
        "resourceType": kind,
        "status": "active",
        "subject": {"reference": "Patient/p"},
        "medicationCodeableConcept": {
            "coding": [{"system": "http://snomed.info/sct", "code": code, "display": display}]
        },
    }
    if kind == "MedicationRequest":
        r |= {"intent": "order", "authoredOn": when} if when else {"intent": "order"}
    elif when:
        r["effectiveDateTime"] = when
    return r | extra


def obs(code, value=None, unit=None, comparator=None, when="2024-03-01", system=None):
    r = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": system or "http://snomed.info/sct", "code": code}]},
    }
    if when:
        r["effectiveDateTime"] = when
    if value is not None:
        q = {"value": value}
        if unit:
            q["unit"] = unit
        if comparator:
            q["comparator"] = comparator
        r["valueQuantity"] = q
    return r


def run_check(tmp_path, *resources, args=("--as-of", "2024-06-30")):
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle(*resources)))
    result = runner.invoke(app, ["review", "check", str(path), *args])
    return result


def test_check_prints_findings_with_rule_ids_evidence_and_source(tmp_path):
    r = run_check(
        tmp_path,
        PATIENT,
        med("329652003", "Ibuprofen 400mg tablets"),
        med("319740004", "Acenocoumarol 1mg tablets", "2024-06-10"),
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    ids = {f["rule_id"] for f in out["findings"]}
    assert {"PINCER-A", "PINCER-D", "STOPP-C10"} <= ids
    d = next(f for f in out["findings"] if f["rule_id"] == "PINCER-D")
    assert "GI_P3D" in d["source"]
    assert {e["name"] for e in d["evidence"] if e["type"] == "issue"} == {
        "Ibuprofen 400mg tablets",
        "Acenocoumarol 1mg tablets",
    }
    assert out["medicine_count"] == 2 and out["acb_total"] == 0
    assert isinstance(out["smr_priority"], int) and out["smr_priority"] >= 7


def test_check_table_format(tmp_path):
    r = run_check(
        tmp_path,
        PATIENT,
        med("329652003", "Ibuprofen 400mg tablets"),
        args=("--as-of", "2024-06-30", "--format", "table"),
    )
    assert r.exit_code == 0
    assert "PINCER-A" in r.output and "SMR priority" in r.output


def test_several_bundles_are_one_patient(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(bundle(PATIENT, med("329652003", "Ibuprofen 400mg tablets"))))
    b.write_text(json.dumps(bundle(med("319740004", "Acenocoumarol 1mg tablets"))))
    r = runner.invoke(app, ["review", "check", str(a), str(b), "--as-of", "2024-06-30"])
    assert "PINCER-D" in {f["rule_id"] for f in json.loads(r.output)["findings"]}


def test_egfr_comparators_and_missing_units_are_handled(tmp_path):
    ibu = med("329652003", "Ibuprofen 400mg tablets")
    egfr = "1011481000000105"
    r = run_check(tmp_path, PATIENT, ibu, obs(egfr, 90, comparator=">"))
    assert "PINCER-K" not in {f["rule_id"] for f in json.loads(r.output)["findings"]}
    r = run_check(tmp_path, PATIENT, ibu, obs(egfr, 1, comparator="<"))
    assert "PINCER-K" not in {f["rule_id"] for f in json.loads(r.output)["findings"]}
    # no unit: read in the canonical unit (documented assumption)
    r = run_check(tmp_path, PATIENT, ibu, obs(egfr, 30))
    assert "PINCER-K" in {f["rule_id"] for f in json.loads(r.output)["findings"]}


def test_creatinine_in_mg_per_dl_is_converted_for_the_doac_dose_check(tmp_path):
    af = {
        "resourceType": "Condition",
        "subject": {"reference": "Patient/p"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "49436004"}]},
    }
    r = run_check(
        tmp_path,
        PATIENT,
        af,
        med("703907006", "Apixaban 2.5mg tablets"),
        obs("2160-0", 1.0, "mg/dL", system="http://loinc.org"),
        obs("29463-7", 80, "kg", system="http://loinc.org"),
    )
    out = json.loads(r.output)
    # 84 y, 80 kg, creatinine 88.4 µmol/L: only one apixaban criterion (age) → 5 mg expected
    assert "MON-DOAC-DOSE" in {f["rule_id"] for f in out["findings"]}


def test_unknown_codes_and_missing_dates_are_warnings_not_crashes(tmp_path):
    r = run_check(
        tmp_path,
        PATIENT,
        med("123456", "Mystery mixture", when=None),
        med("999", "Unknown tablets"),
        obs("1234", 5, when=None),
        {
            "resourceType": "Condition",
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}]},
            "subject": {"reference": "Patient/p"},
        },
    )
    assert r.exit_code == 0, r.output
    warnings = json.loads(r.output)["warnings"]
    assert any("undated MedicationRequest" in w for w in warnings)
    assert any("not recognised" in w for w in warnings)
    assert any("undated Observation" in w for w in warnings)


@pytest.mark.parametrize(
    "content,message",
    [
        ("not json", "not JSON"),
        ('{"hello": 1}', "not a FHIR resource"),
        ('{"resourceType": "Spaceship"}', "unknown FHIR R4 resource type"),
        (
            '{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": '
            '{"resourceType": "Patient", "birthDate": "yesterday"}}]}',
            "invalid FHIR R4 Bundle",
        ),
        ('{"resourceType": "Bundle", "type": "collection"}', "no Patient"),
    ],
)
def test_structurally_invalid_input_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "x.json"
    path.write_text(content)
    r = runner.invoke(app, ["review", "check", str(path)])
    assert r.exit_code == 2
    assert message in r.output
    assert "Traceback" not in r.output


def test_bad_as_of_and_format(tmp_path):
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle(PATIENT)))
    assert (
        runner.invoke(app, ["review", "check", str(path), "--as-of", "30/06/2024"]).exit_code == 2
    )
    assert runner.invoke(app, ["review", "check", str(path), "--format", "xml"]).exit_code == 2
