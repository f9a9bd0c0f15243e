"""Dose-text corrections (issue 13 item 8), each against the NHS England dose syntax
implementation guide, with positive and negative cases. The EPS vectors
(test_spec_eps_vectors.py) stay the contract for everything else."""

import pytest

from ipmo.terminology.dosage import DoseTextError, dosage_to_text

SPOON = {"value": 2, "unit": "5ml spoonful"}


def _dose(**dose_and_rate):
    return {"doseAndRate": [dose_and_rate]}


# -- doseRange with only a high value: "up to 2 tablet" -----------------------------------------


def test_spec_dose_range_high_only_renders_up_to():
    d = _dose(doseRange={"high": {"value": 2, "unit": "tablet"}})
    d["timing"] = {"repeat": {"frequency": 4, "period": 1, "periodUnit": "d"}}
    assert dosage_to_text(d) == "up to 2 tablet - 4 times a day"


def test_spec_dose_range_high_only_negative_low_and_high_is_a_range():
    d = _dose(
        doseRange={"low": {"value": 1, "unit": "tablet"}, "high": {"value": 2, "unit": "tablet"}}
    )
    assert dosage_to_text(d) == "1 to 2 tablet"


@pytest.mark.parametrize(
    "rng",
    [
        {"low": {"unit": "tablet"}, "high": {"value": 2, "unit": "tablet"}},  # low without value
        {"low": {"value": 1, "unit": "tablet"}},  # no high: not an upper limit
        {"high": {"unit": "tablet"}},  # high without value
        {"high": {"value": 2}},  # high without unit
        {},
    ],
)
def test_spec_dose_range_high_only_negative_incomplete_ranges_still_refused(rng):
    with pytest.raises(DoseTextError, match="doseRange"):
        dosage_to_text(_dose(doseRange=rng))


def test_spec_rate_range_high_only_renders_up_to():
    d = _dose(rateRange={"high": {"value": 2, "unit": "liter per minute"}})
    assert dosage_to_text(d) == "at a rate of up to 2 liter per minute"


# -- a unit that starts with a number: "2 x 5ml spoonful" --------------------------------------


def test_spec_unit_starting_with_number_dose_quantity():
    d = _dose(doseQuantity=SPOON)
    d["timing"] = {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}}
    text = dosage_to_text(d)
    assert text == "2 x 5ml spoonful - 3 times a day"
    assert "2 5ml" not in text


@pytest.mark.parametrize(
    ("dosage", "expected"),
    [
        (_dose(doseQuantity={"value": 0.5, "unit": "2.5ml spoonful"}), "0.5 x 2.5ml spoonful"),
        (
            _dose(doseRange={"low": {"value": 1, "unit": "5ml spoonful"}, "high": SPOON}),
            "1 to 2 x 5ml spoonful",
        ),
        (_dose(doseRange={"high": SPOON}), "up to 2 x 5ml spoonful"),
        (
            {
                "maxDosePerPeriod": {
                    "numerator": {"value": 8, "unit": "5ml spoonful"},
                    "denominator": {"value": 24, "unit": "hour"},
                }
            },
            "up to a maximum of 8 x 5ml spoonful in 24 hours",
        ),
        (
            {"maxDosePerAdministration": {"value": 2, "unit": "5ml spoonful"}},
            "up to a maximum of 2 x 5ml spoonful per dose",
        ),
    ],
)
def test_spec_unit_starting_with_number_everywhere_a_quantity_is_printed(dosage, expected):
    assert dosage_to_text(dosage) == expected


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("tablet", "2 tablet"),
        ("millilitre", "2 millilitre"),
        ("spoonful", "2 spoonful"),
        ("ml 5", "2 ml 5"),  # a digit later in the unit is not a leading number
    ],
)
def test_spec_unit_starting_with_number_negative_other_units_unchanged(unit, expected):
    assert dosage_to_text(_dose(doseQuantity={"value": 2, "unit": unit})) == expected
