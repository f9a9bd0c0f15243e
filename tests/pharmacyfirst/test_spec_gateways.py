"""Pharmacy First gateway criteria, one test per criterion, each with a case that meets it and
one that does not. Source of every criterion: NHS England, NHS Pharmacy First Service clinical
pathways (PRN00936_ii, 2024) with the service specification (PRN00936), as cited per criterion
in ``src/ipmo/pharmacyfirst/pathways.yaml``. The consultation date is fixed (18 November 2026).
"""

from __future__ import annotations

from datetime import date

import pytest

from ipmo.pharmacyfirst.gateway import CriterionResult, Facts, check
from ipmo.pharmacyfirst.pathways import catalogue

DAY = date(2026, 11, 18)

# answers that pass every gateway criterion of each pathway
PASSING: dict[str, dict] = {
    "uti": {"urinary_catheter": False, "recurrent_uti": False},
    "acute-otitis-media": {"recurrent_aom": False},
    "sore-throat": {"immunosuppressed": False},
    "sinusitis": {"immunosuppressed": False, "symptom_days": 12},
    "shingles": {},
    "impetigo": {"bullous": False, "recurrent_impetigo": False},
    "infected-insect-bites": {},
}


def aged(years: int, months: int = 0) -> date:
    """A birth date making the patient exactly ``years`` (and ``months``) old on DAY."""
    total = DAY.year * 12 + DAY.month - 1 - years * 12 - months
    return date(total // 12, total % 12 + 1, DAY.day)


def judge(pathway: str, criterion: str, *, born: date, sex="female", pregnant=None, **answers):
    facts = Facts(
        birth_date=born,
        sex=sex,
        consulted_on=DAY,
        answers=PASSING[pathway] | {"pregnant": pregnant} | answers,
    )
    result = check(catalogue().pathway(pathway, DAY), facts)
    found: CriterionResult = next(c for c in result.gateway if c.id == criterion)
    assert found.source, "every criterion cites its source"
    return found.met, result.passed


def test_every_gateway_criterion_has_a_spec_test():
    names = set(globals())
    expected = {
        f"test_spec_{code.replace('-', '_')}_{c.id.replace('-', '_')}"
        for code in catalogue().codes()
        for c in catalogue().pathway(code, DAY).gateway
    }
    assert len(expected) == 23
    assert expected <= names, sorted(expected - names)


# ---- uncomplicated UTI: women 16 to 64 years ------------------------------------------------


def test_spec_uti_age():
    assert judge("uti", "age", born=aged(16)) == (True, True)
    assert judge("uti", "age", born=aged(64, 11)) == (True, True)
    assert judge("uti", "age", born=aged(15, 11)) == (False, False)
    assert judge("uti", "age", born=aged(65)) == (False, False)


def test_spec_uti_sex():
    assert judge("uti", "sex", born=aged(30), sex="female") == (True, True)
    assert judge("uti", "sex", born=aged(30), sex="male") == (False, False)


def test_spec_uti_pregnant():
    assert judge("uti", "pregnant", born=aged(30), pregnant=False) == (True, True)
    assert judge("uti", "pregnant", born=aged(30), pregnant=True) == (False, False)


def test_spec_uti_urinary_catheter():
    assert judge("uti", "urinary-catheter", born=aged(30)) == (True, True)
    assert judge("uti", "urinary-catheter", born=aged(30), urinary_catheter=True) == (False, False)
    assert judge("uti", "urinary-catheter", born=aged(30), urinary_catheter=None)[0] is None


def test_spec_uti_recurrent_uti():
    assert judge("uti", "recurrent-uti", born=aged(30)) == (True, True)
    assert judge("uti", "recurrent-uti", born=aged(30), recurrent_uti=True) == (False, False)


# ---- acute otitis media: 1 to 17 years ------------------------------------------------------


def test_spec_acute_otitis_media_age():
    assert judge("acute-otitis-media", "age", born=aged(1)) == (True, True)
    assert judge("acute-otitis-media", "age", born=aged(17, 11)) == (True, True)
    assert judge("acute-otitis-media", "age", born=aged(0, 11)) == (False, False)
    assert judge("acute-otitis-media", "age", born=aged(18)) == (False, False)


def test_spec_acute_otitis_media_pregnant_under_16():
    c = "pregnant-under-16"
    assert judge("acute-otitis-media", c, born=aged(15), pregnant=False) == (True, True)
    assert judge("acute-otitis-media", c, born=aged(16), pregnant=True) == (True, True)
    assert judge("acute-otitis-media", c, born=aged(15), pregnant=True) == (False, False)


def test_spec_acute_otitis_media_recurrent_aom():
    assert judge("acute-otitis-media", "recurrent-aom", born=aged(6)) == (True, True)
    assert judge("acute-otitis-media", "recurrent-aom", born=aged(6), recurrent_aom=True) == (
        False,
        False,
    )


# ---- acute sore throat: 5 years and over ----------------------------------------------------


def test_spec_sore_throat_age():
    assert judge("sore-throat", "age", born=aged(5)) == (True, True)
    assert judge("sore-throat", "age", born=aged(90)) == (True, True)
    assert judge("sore-throat", "age", born=aged(4, 11)) == (False, False)


def test_spec_sore_throat_pregnant_under_16():
    assert judge("sore-throat", "pregnant-under-16", born=aged(20), pregnant=True) == (True, True)
    assert judge("sore-throat", "pregnant-under-16", born=aged(14), pregnant=True) == (
        False,
        False,
    )


def test_spec_sore_throat_immunosuppressed():
    assert judge("sore-throat", "immunosuppressed", born=aged(30)) == (True, True)
    assert judge("sore-throat", "immunosuppressed", born=aged(30), immunosuppressed=True) == (
        False,
        False,
    )


# ---- acute sinusitis: 12 years and over -----------------------------------------------------


def test_spec_sinusitis_age():
    assert judge("sinusitis", "age", born=aged(12)) == (True, True)
    assert judge("sinusitis", "age", born=aged(11, 11)) == (False, False)


def test_spec_sinusitis_pregnant_under_16():
    assert judge("sinusitis", "pregnant-under-16", born=aged(13), pregnant=False) == (True, True)
    assert judge("sinusitis", "pregnant-under-16", born=aged(13), pregnant=True) == (False, False)


def test_spec_sinusitis_immunosuppressed():
    assert judge("sinusitis", "immunosuppressed", born=aged(40)) == (True, True)
    assert judge("sinusitis", "immunosuppressed", born=aged(40), immunosuppressed=True) == (
        False,
        False,
    )


def test_spec_sinusitis_chronic_sinusitis():
    assert judge("sinusitis", "chronic-sinusitis", born=aged(40), symptom_days=84) == (True, True)
    assert judge("sinusitis", "chronic-sinusitis", born=aged(40), symptom_days=85) == (
        False,
        False,
    )


# ---- shingles: 18 years and over ------------------------------------------------------------


def test_spec_shingles_age():
    assert judge("shingles", "age", born=aged(18)) == (True, True)
    assert judge("shingles", "age", born=aged(17, 11)) == (False, False)


def test_spec_shingles_pregnant():
    assert judge("shingles", "pregnant", born=aged(30), pregnant=False) == (True, True)
    # shingles excludes every pregnant individual, not only those under 16
    assert judge("shingles", "pregnant", born=aged(30), pregnant=True) == (False, False)


# ---- impetigo: 1 year and over --------------------------------------------------------------


def test_spec_impetigo_age():
    assert judge("impetigo", "age", born=aged(1)) == (True, True)
    assert judge("impetigo", "age", born=aged(0, 6)) == (False, False)


def test_spec_impetigo_pregnant_under_16():
    assert judge("impetigo", "pregnant-under-16", born=aged(30), pregnant=True) == (True, True)
    assert judge("impetigo", "pregnant-under-16", born=aged(15), pregnant=True) == (False, False)


def test_spec_impetigo_bullous():
    assert judge("impetigo", "bullous", born=aged(7)) == (True, True)
    assert judge("impetigo", "bullous", born=aged(7), bullous=True) == (False, False)


def test_spec_impetigo_recurrent_impetigo():
    assert judge("impetigo", "recurrent-impetigo", born=aged(7)) == (True, True)
    assert judge("impetigo", "recurrent-impetigo", born=aged(7), recurrent_impetigo=True) == (
        False,
        False,
    )


# ---- infected insect bites: 1 year and over -------------------------------------------------


def test_spec_infected_insect_bites_age():
    assert judge("infected-insect-bites", "age", born=aged(1)) == (True, True)
    assert judge("infected-insect-bites", "age", born=aged(0, 11)) == (False, False)


def test_spec_infected_insect_bites_pregnant_under_16():
    c = "pregnant-under-16"
    assert judge("infected-insect-bites", c, born=aged(25), pregnant=True) == (True, True)
    assert judge("infected-insect-bites", c, born=aged(15), pregnant=True) == (False, False)


@pytest.mark.parametrize("pathway", sorted(PASSING))
def test_a_pregnancy_on_the_gp_record_counts_unless_the_pharmacist_answers(pathway):
    p = catalogue().pathway(pathway, DAY)
    base = dict(birth_date=aged(14), sex="female", consulted_on=DAY, pregnant_on_record=True)
    recorded = check(p, Facts(**base, answers=PASSING[pathway]))
    if any("pregnant" in c.rule for c in p.gateway):
        assert not recorded.passed
    assert recorded.findings and "pregnancy" in recorded.findings[0]
