"""Ingest adapters: FHIR R4/STU3 mapping, CSV, and bad input refused with a reason."""

import json
from datetime import date

import pytest

from ipmo.records.adapters import FhirInputError, from_csv, from_fhir, load_source

NHS = "9434765919"
OTHER_NHS = "9000000009"


def ms(id_: str, nhs: str = NHS, code: str = "900151", **extra) -> dict:
    return {
        "resourceType": "MedicationStatement",
        "id": id_,
        "status": "active",
        "medicationCodeableConcept": {
            "coding": [
                {"system": "https://dmd.nhs.uk", "code": code, "display": "Amlodipine 5mg tablets"}
            ]
        },
        "subject": {"identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs}},
        "dosage": [{"text": "1 tablet once a day"}],
        **extra,
    }


def bundle(*resources: dict) -> str:
    return json.dumps(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": r} for r in resources],
        }
    )


def test_r4_statement_keeps_provenance():
    doc = from_fhir(
        bundle(ms("a", effectivePeriod={"start": "2025-01-02"}, meta={"versionId": "3"}))
    )
    assert doc.fhir_version == "R4" and doc.nhs_number == NHS
    (item,) = doc.items
    assert (item.resource_type, item.resource_id, item.resource_version) == (
        "MedicationStatement",
        "a",
        "3",
    )
    assert item.authored_on == date(2025, 1, 2) and item.dose_text == "1 tablet once a day"


def test_stu3_gp_connect_plan_and_issues_make_one_line(shared_dir):
    path = shared_dir / "fhir/gpconnect_examples/access_record_structured_1.6.2/split_plan.json"
    doc = from_fhir(path.read_bytes())
    assert doc.fhir_version == "STU3" and doc.source_kind == "gp"
    assert [i.status for i in doc.items] == ["completed", "active"]  # old plan stopped, new one
    # the example has two authorisations (plans) and one issue (order) based on the first:
    # the issue is not a line of its own, it dates the first plan's last issue
    assert [(i.resource_type, i.resource_id) for i in doc.items] == [
        ("MedicationRequest", "E9881EF6-EF3A-4556-9202-A437C5E31128-HD-1"),
        ("MedicationRequest", "E9881EF6-EF3A-4556-9202-A437C5E31128"),
    ]
    assert doc.items[0].last_issued is not None and doc.items[1].last_issued is None
    assert {i.category for i in doc.items} == {"repeat"}


def test_stu3_dosage_is_mapped_to_r4_dose_and_rate():
    stu3 = {
        "resourceType": "MedicationStatement",
        "id": "s",
        "status": "active",
        "taken": "y",
        "meta": {
            "profile": [
                "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-MedicationStatement-1"
            ]
        },
        "medicationCodeableConcept": {
            "coding": [
                {
                    "system": "http://snomed.info/sct",
                    "code": "900151",
                    "display": "Amlodipine 5mg tablets",
                }
            ]
        },
        "subject": {"reference": "Patient/1"},
        "dosage": [
            {
                "doseQuantity": {"value": 1, "unit": "tablet"},
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
            }
        ],
    }
    doc = from_fhir(json.dumps(stu3))
    assert doc.fhir_version == "STU3"
    assert doc.items[0].dosage[0]["doseAndRate"] == [
        {"doseQuantity": {"value": 1, "unit": "tablet"}}
    ]
    assert doc.items[0].dose_text == "1 tablet - once a day"


def test_xml_and_jekyll_wrapped_json_are_read(shared_dir):
    xml = shared_dir / "fhir/ukcore_examples/UKCore-MedicationStatement-Amoxicillin-Example.xml"
    assert from_fhir(xml.read_bytes()).items[0].name == "Amoxicillin 250mg capsules"
    wrapped = "{% highlight json %}\n" + bundle(ms("a")) + "\n{% endhighlight %}\n"
    assert len(from_fhir(wrapped).items) == 1


@pytest.mark.parametrize(
    ("payload", "code", "words"),
    [
        ('{"resourceType": "Bundle", ', "invalid", "malformed JSON"),
        (
            "<Bundle xmlns='http://hl7.org/fhir'><type value='collection'>",
            "invalid",
            "malformed XML",
        ),
        (bundle(ms("a"), ms("b", nhs=OTHER_NHS)), "business-rule", "mixes 2 patients"),
        (bundle(ms("a", nhs="9434765918")), "value", "Modulus 11"),
        (
            json.dumps({"resourceType": "MedicationUsage", "status": "recorded"}),
            "not-supported",
            "R5",
        ),
        (json.dumps({"resourceType": "Patient"}), "not-supported", "not a medication source"),
        (json.dumps({**ms("a"), "status": 5}), "structure", "MedicationStatement.status"),
    ],
)
def test_bad_input_is_refused_with_a_reason(payload, code, words):
    with pytest.raises(FhirInputError) as info:
        from_fhir(payload)
    assert info.value.code == code and words in info.value.diagnostics
    assert info.value.outcome()["issue"][0]["diagnostics"] == info.value.diagnostics


def test_unsupported_forced_version():
    with pytest.raises(FhirInputError, match="not supported"):
        from_fhir(bundle(ms("a")), version="R5")


CSV = """nhs_number,source_kind,source_org_code,name,status,dose_text,authored_on,category
943 476 5919,specialist,RX1,Amlodipine 5mg tablets,active,1 tablet once a day,2025-01-02,repeat
9434765919,specialist,RX1,Paracetamol 500mg tablets,active,apply thinly as directed,,acute
"""


def test_csv_source():
    doc = load_source(CSV.encode(), filename="x.csv")
    assert doc.nhs_number == NHS and doc.source_kind == "specialist"
    assert [i.name for i in doc.items] == ["Amlodipine 5mg tablets", "Paracetamol 500mg tablets"]
    assert doc.items[0].dosage[0]["timing"]["repeat"]["frequency"] == 1  # parsed free text
    assert doc.items[1].dosage is None  # not parseable: kept as text only
    assert doc.items[0].authored_on == date(2025, 1, 2)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("nhs_number,name\n", "missing column"),
        (CSV.replace("9434765919,specialist", "9000000009,specialist"), "mixes two patients"),
        (CSV.replace("2025-01-02", "02/01/2025"), "line 2: authored_on"),
        (CSV.replace(",active,apply", ",taking,apply"), "line 3: status"),
    ],
)
def test_csv_bad_input(text, words):
    with pytest.raises(FhirInputError, match=words):
        from_csv(text)
