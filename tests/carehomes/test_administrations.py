"""eMAR parsing: UK Core MedicationAdministration (JSON/XML) and the documented CSV."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ipmo.carehomes import from_csv, from_fhir
from ipmo.fhir.versions import FhirInputError

EXAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fhir" / "ukcore_examples"
FOLDER = EXAMPLES / "medication_administration"

# every shared example: read, or refused with the element that stops it
EXPECTED = {
    "UKCore-MedicationAdministration-CiprofloxacinIV-Example.xml": "given",
    "UKCore-MedicationAdministration-Sn-ZeroDosage-Example.xml": "status 'on-hold'",
    "UKCore-MedicationAdministration-TimoptolEyeDrops-Example.xml": "medicationReference",
}


def test_every_shared_example_is_read_or_refused_with_a_reason():
    files = sorted(p.name for p in FOLDER.glob("*.xml")) + sorted(
        p.name for p in FOLDER.glob("*.json")
    )
    assert files == sorted(EXPECTED)
    for name in files:
        data = (FOLDER / name).read_bytes()
        if EXPECTED[name] == "given":
            adm = from_fhir(data)
            assert adm.outcome == "given"
        else:
            with pytest.raises(FhirInputError) as exc:
                from_fhir(data)
            assert EXPECTED[name] in exc.value.diagnostics


def test_ciprofloxacin_example_fields():
    adm = from_fhir(
        (FOLDER / "UKCore-MedicationAdministration-CiprofloxacinIV-Example.xml").read_bytes()
    )
    assert adm.identifier == "504cdccf-203d-4023-af47-5351e283aee7"
    assert adm.medicine_code == "35831211000001109"
    assert adm.at == datetime(2023, 6, 30, 13, 0, tzinfo=UTC)
    assert (adm.dose_value, adm.dose_unit) == (400.0, "mg")
    assert adm.route == "Intravenous"
    assert adm.kinds == {"given"}


def _resource(**over):
    res = {
        "resourceType": "MedicationAdministration",
        "identifier": [{"system": "https://example.org/emar", "value": "adm-1"}],
        "status": "completed",
        "medicationCodeableConcept": {
            "coding": [
                {
                    "system": "https://dmd.nhs.uk",
                    "code": "39720211000001101",
                    "display": "Co-careldopa 25mg/100mg tablets",
                }
            ]
        },
        "subject": {
            "identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9000000009"}
        },
        "effectiveDateTime": "2026-03-01T08:05:00Z",
        "dosage": {"dose": {"value": 1, "unit": "tablet"}},
    }
    res.update(over)
    return json.dumps(res)


def test_not_done_declined_is_refused():
    adm = from_fhir(
        _resource(
            status="not-done",
            statusReason=[
                {
                    "coding": [
                        {
                            "system": "http://snomed.info/sct",
                            "code": "182895007",
                            "display": "Drug declined by patient",
                        }
                    ]
                }
            ],
        )
    )
    assert adm.outcome == "refused"
    assert adm.nhs_number == "9000000009"


def test_not_done_withheld_and_omitted_are_told_apart():
    assert (
        from_fhir(_resource(status="not-done", statusReason=[{"text": "Withheld: BP low"}])).outcome
        == "withheld"
    )
    assert (
        from_fhir(_resource(status="not-done", statusReason=[{"text": "Out of stock"}])).outcome
        == "omitted"
    )
    assert from_fhir(_resource(status="not-done")).outcome == "omitted"


def test_covert_and_prn_from_dosage():
    adm = from_fhir(
        _resource(dosage={"text": "PRN for pain", "method": {"text": "covert, crushed in food"}})
    )
    assert adm.kinds == {"given", "covert", "prn"}
    assert from_fhir(_resource()).kinds == {"given"}


def test_missing_time_and_invalid_nhs_number_refused():
    res = json.loads(_resource())
    del res["effectiveDateTime"]
    with pytest.raises(FhirInputError, match="effective"):
        from_fhir(json.dumps(res))
    with pytest.raises(FhirInputError, match="NHS number"):
        from_fhir(
            _resource(
                subject={
                    "identifier": {
                        "system": "https://fhir.nhs.uk/Id/nhs-number",
                        "value": "9000000001",
                    }
                }
            )
        )


HEADER = (
    "administration_id,nhs_number,medicine_code,medicine_name,outcome,at,scheduled_at,prn,covert\n"
)


def test_csv_reads_each_kind():
    rows = from_csv(
        HEADER
        + "a1,9000000009,111,Paracetamol 500mg tablets,given,2026-03-01T08:00:00Z,,Y,N\n"
        + "a2,9000000009,222,Sertraline,refused,2026-03-01T08:00:00Z,2026-03-01T08:00:00Z,N,N\n"
        + "a3,9000000009,222,Sertraline 50mg tablets,omitted,2026-03-02T08:00:00+00:00,,,\n"
        + "a4,9000000009,222,Sertraline 50mg tablets,withheld,2026-03-03T08:00:00Z,,n,y\n",
        "home.csv",
    )
    assert [sorted(r.kinds) for r in rows] == [
        ["given", "prn"],
        ["refused"],
        ["omitted"],
        ["covert", "withheld"],
    ]


def test_csv_unknown_column_refused_with_file_and_row():
    with pytest.raises(FhirInputError, match=r"home.csv row 1: unknown column\(s\): ward"):
        from_csv(HEADER.strip() + ",ward\n", "home.csv")


def test_csv_bad_row_names_file_and_row():
    with pytest.raises(FhirInputError, match="home.csv row 3: outcome 'spat out'"):
        from_csv(
            HEADER
            + "a1,9000000009,111,P,given,2026-03-01T08:00:00Z,,,\n"
            + "a2,9000000009,111,P,spat out,2026-03-01T08:00:00Z,,,\n",
            "home.csv",
        )
    with pytest.raises(FhirInputError, match="home.csv row 2: at .* no time zone"):
        from_csv(HEADER + "a1,9000000009,111,P,given,2026-03-01T08:00:00,,,\n", "home.csv")
