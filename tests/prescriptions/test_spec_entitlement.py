"""The ICS entitlement finder: patients who pay but are probably exempt, one test per NHSBSA
criterion with a positive and a negative patient each (fixed as_of: 7 December 2026)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ipmo.patients import Condition, MedicationIssue, Patient
from ipmo.prescriptions.entitlement import find_entitlements
from ipmo.prescriptions.models import ExemptionCertificate
from ipmo.store import session_scope

AS_OF = date(2026, 12, 7)
NUMBERS = iter(f"99900{n:04d}" for n in range(100, 9999))


def _valid(prefix9: str) -> str:
    total = sum(int(d) * (10 - i) for i, d in enumerate(prefix9))
    check = 11 - total % 11
    return None if check == 10 else prefix9 + str(0 if check == 11 else check)


def _number() -> str:
    while True:
        candidate = _valid(next(NUMBERS)[:9])
        if candidate:
            return candidate


def _patient(s, born, conditions=(), issues=(), certificate=None) -> str:
    number = _number()
    p = Patient(
        nhs_number=number, given_name="T", family_name="Test", birth_date=born, sex="female"
    )
    s.add(p)
    s.flush()
    for code, term in conditions:
        s.add(Condition(patient_id=p.id, snomed_code=code, term=term))
    for bnf, days_ago in issues:
        s.add(
            MedicationIssue(
                patient_id=p.id,
                dmd_code="1",
                name=bnf,
                bnf_code=bnf,
                issue_date=AS_OF - timedelta(days=days_ago),
                issue_type="repeat",
            )
        )
    if certificate:
        s.add(
            ExemptionCertificate(
                nhs_number=number,
                kind=certificate[0],
                valid_from=certificate[1],
                valid_to=certificate[2],
            )
        )
    return number


@pytest.fixture
def found(engine):
    people = {}
    with session_scope(engine) as s:
        people["turns 60 on 20 December"] = _patient(s, date(1966, 12, 20))
        people["turns 60 in January"] = _patient(s, date(1967, 1, 3))
        people["diabetes on metformin"] = _patient(
            s, date(1980, 5, 1), [("44054006", "Diabetes mellitus type 2")], [("0601022B0", 30)]
        )
        people["diabetes, diet alone"] = _patient(
            s, date(1980, 5, 2), [("44054006", "Diabetes mellitus type 2")]
        )
        people["diabetes on metformin, with a MedEx"] = _patient(
            s,
            date(1980, 5, 3),
            [("44054006", "Diabetes mellitus type 2")],
            [("0601022B0", 30)],
            ("medical", date(2025, 1, 1), date(2029, 12, 31)),
        )
        people["on levothyroxine"] = _patient(s, date(1975, 2, 1), [], [("0602010V0", 60)])
        people["hypothyroid, no replacement"] = _patient(
            s, date(1975, 2, 2), [("40930008", "Hypothyroidism")]
        )
        people["epilepsy on valproate"] = _patient(
            s, date(1990, 1, 1), [("84757009", "Epilepsy")], [("0408010G0", 20), ("0408010G0", 80)]
        )
        people["pregabalin for pain, no epilepsy"] = _patient(
            s, date(1990, 1, 2), [], [("0408010AE", 20), ("0408010AE", 80)]
        )
        people["breast cancer on letrozole"] = _patient(
            s, date(1970, 3, 1), [("254837009", "Malignant neoplasm of breast")], [("0803041", 40)]
        )
        people["cancer in the past, no treatment"] = _patient(
            s, date(1970, 3, 2), [("254837009", "Malignant neoplasm of breast")], [("0803041", 400)]
        )
        people["13 items a year"] = _patient(
            s, date(1985, 6, 1), [], [("0212000", 27 * k) for k in range(13)]
        )
        people["4 items in 3 months"] = _patient(
            s, date(1985, 6, 2), [], [("0212000", 20 * k + 1) for k in range(4)]
        )
        people["3 items in 3 months, 11 a year"] = _patient(
            s,
            date(1985, 6, 3),
            [],
            [("0212000", 30 * k + 1) for k in range(3)]
            + [("0212000", 100 + 25 * k) for k in range(8)],
        )
        people["12 items a year, 3 in 3 months"] = _patient(  # the 12-month boundary
            s, date(1985, 6, 4), [], [("0212000", 30 * k + 1) for k in range(12)]
        )
        people["aged 65 on levothyroxine"] = _patient(s, date(1961, 1, 1), [], [("0602010V0", 60)])
    with session_scope(engine) as s:
        findings = find_entitlements(s, AS_OF)
    by_person = {}
    for f in findings:
        by_person.setdefault(f.nhs_number, set()).add(f.criterion)
    return {label: by_person.get(number, set()) for label, number in people.items()}


def test_spec_turning_60_this_month(found):
    assert found["turns 60 on 20 December"] == {"turning-60"}
    assert found["turns 60 in January"] == set()


def test_spec_diabetes_treated_with_medicines_not_diet_alone(found):
    assert found["diabetes on metformin"] == {"medex-diabetes"}
    assert found["diabetes, diet alone"] == set()
    assert found["diabetes on metformin, with a MedEx"] == set()  # holds a certificate


def test_spec_hypothyroidism_needing_thyroid_hormone_replacement(found):
    assert found["on levothyroxine"] == {"medex-hypothyroidism"}
    assert found["hypothyroid, no replacement"] == set()
    assert found["aged 65 on levothyroxine"] == set()  # free by age already


def test_spec_epilepsy_needing_continuous_anticonvulsive_therapy(found):
    assert found["epilepsy on valproate"] == {"medex-epilepsy"}
    assert found["pregabalin for pain, no epilepsy"] == set()


def test_spec_undergoing_treatment_for_cancer(found):
    assert found["breast cancer on letrozole"] == {"medex-cancer"}
    assert found["cancer in the past, no treatment"] == set()


def test_spec_prepayment_certificate_would_cost_less(found):
    # £9.90 an item; 3-month PPC £32.05 (4 items: £39.60), 12-month £114.50 (12 items: £118.80)
    assert found["13 items a year"] == {"ppc-cheaper"}
    assert found["4 items in 3 months"] == {"ppc-cheaper"}
    assert found["3 items in 3 months, 11 a year"] == set()  # £29.70 and £108.90: no saving
    assert found["12 items a year, 3 in 3 months"] == {"ppc-cheaper"}  # £118.80 > £114.50


def test_entitlement_api_lists_only_patients_the_user_may_see(sample_ics, client_as):
    from sqlalchemy import select

    with session_scope(sample_ics) as s:
        cara = s.scalar(select(Patient).where(Patient.nhs_number == "9990000034"))  # A10002
        dev = s.scalar(select(Patient).where(Patient.nhs_number == "9990000042"))  # A20001
        for p in (cara, dev):
            s.add(
                MedicationIssue(
                    patient_id=p.id,
                    dmd_code="1",
                    name="Levothyroxine 50microgram tablets",
                    bnf_code="0602010V0",
                    issue_date=AS_OF - timedelta(days=10),
                    issue_type="repeat",
                )
            )
    body = client_as("pcn.pharmacist").get(
        "/api/prescriptions/entitlements", params={"as_of": AS_OF.isoformat()}
    )
    assert body.status_code == 200
    numbers = {f["nhs_number"] for f in body.json()["findings"]}
    assert "9990000034" in numbers and "9990000042" not in numbers  # Riverside PCN only
    assert body.json()["by_criterion"]["medex-hypothyroidism"] >= 1
