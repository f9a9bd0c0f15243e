"""Free text → structured Dosage: the brief's examples, refusals, and the Hypothesis round trip."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipmo.terminology.dosage import DoseParseError, dosage_to_text, parse_dose_text
from ipmo.terminology.dosage.parse import _TIME_UNIT, SNOMED, UCUM, UNITS

TABLET = {"system": SNOMED, "code": "428673006", "unit": "tablet"}
CAPSULE = {"system": SNOMED, "code": "428641000", "unit": "capsule"}
ML = {"system": UCUM, "code": "mL", "unit": "millilitre"}


def test_one_tablet_twice_a_day():
    assert parse_dose_text("1 tablet twice a day", keep_text=False) == {
        "doseAndRate": [{"doseQuantity": {"value": 1, **TABLET}}],
        "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
    }


def test_take_two_capsules_at_night():
    assert parse_dose_text("take two capsules at night", keep_text=False) == {
        "doseAndRate": [{"doseQuantity": {"value": 2, **CAPSULE}}],
        "timing": {"repeat": {"when": ["NIGHT"]}},
    }


def test_five_ml_three_times_daily_when_required():
    assert parse_dose_text("5ml three times daily when required", keep_text=False) == {
        "doseAndRate": [{"doseQuantity": {"value": 5, **ML}}],
        "asNeededBoolean": True,
        "timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}},
    }


def test_abbreviations_and_ranges():
    d = parse_dose_text("1-2 tabs qds prn for pain", keep_text=False)
    assert d["doseAndRate"][0]["doseRange"]["low"]["value"] == 1
    assert d["doseAndRate"][0]["doseRange"]["high"]["value"] == 2
    assert d["timing"]["repeat"] == {"frequency": 4, "period": 1, "periodUnit": "d"}
    assert d["asNeededCodeableConcept"] == {"text": "pain"}


def test_text_is_kept_by_default():
    assert parse_dose_text("One tablet OD")["text"] == "One tablet OD"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "apply thinly",  # no dose or timing the reader can trust
        "1 tablet then 2 tablets",  # a sequence
        "1 tablet twice a day 2 tablets",  # two doses
        "1 tablet once a day twice a day",  # two frequencies
        "take as directed",
        "2 tablets alternate days",
    ],
)
def test_ambiguous_or_unknown_text_is_refused(text):
    with pytest.raises(DoseParseError):
        parse_dose_text(text)


# ---- round trip: structured → text → structured ---------------------------------------------

VALUES = st.sampled_from([0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 10, 20, 100, 250, 500])


def _q(value, unit):
    q = {"value": value, "unit": unit}
    if UNITS[unit]:
        q["system"], q["code"] = UNITS[unit]
    return q


@st.composite
def dose(draw):
    unit = draw(st.sampled_from(sorted(UNITS)))
    if draw(st.booleans()):
        return unit, [{"doseQuantity": _q(draw(VALUES), unit)}]
    low, high = sorted(draw(st.lists(VALUES, min_size=2, max_size=2, unique=True)))
    return unit, [{"doseRange": {"low": _q(low, unit), "high": _q(high, unit)}}]


PERIOD_UNITS = st.sampled_from(["h", "d", "wk", "mo"])


@st.composite
def frequency(draw):
    unit = draw(PERIOD_UNITS)
    kind = draw(st.sampled_from(["adverb", "per", "every", "range", "upto", "everyrange"]))
    if kind == "adverb":
        return {"period": 1, "periodUnit": unit}
    if kind == "per":
        return {"frequency": draw(st.integers(1, 6)), "period": 1, "periodUnit": unit}
    if kind == "every":
        f = draw(st.integers(1, 3))
        return {"frequency": f, "period": draw(st.integers(2, 12)), "periodUnit": unit}
    if kind == "range":
        f = draw(st.integers(1, 4))
        fmax = f + draw(st.integers(1, 3))
        return {"frequency": f, "frequencyMax": fmax, "period": 1, "periodUnit": unit}
    if kind == "upto":
        return {"frequencyMax": draw(st.integers(2, 8)), "period": 1, "periodUnit": unit}
    p = draw(st.integers(1, 6))
    return {
        "frequency": 1,
        "period": p,
        "periodMax": p + draw(st.integers(1, 4)),
        "periodUnit": "h",
    }


WHENS = ["MORN", "NOON", "AFT", "EVE", "NIGHT", "HS", "WAKE", "C", "CM", "CD", "CV", "AC", "PC"]
REASONS = ["pain", "nausea", "shortness of breath", "itching"]
ROUTES = [
    ("26643006", "oral"),
    ("34206005", "subcutaneous route"),
    ("6064005", "topical route"),
]


@st.composite
def structured_dosage(draw):
    d = {}
    repeat = {}
    unit = None
    if draw(st.booleans()):
        unit, d["doseAndRate"] = draw(dose())
    if draw(st.booleans()):
        repeat.update(draw(frequency()))
    if draw(st.booleans()):
        repeat["when"] = draw(st.lists(st.sampled_from(WHENS), min_size=1, max_size=3, unique=True))
        if draw(st.booleans()) and len(repeat["when"]) == 1:
            repeat["offset"] = draw(st.sampled_from([30, 60, 90, 120, 1440]))
    if draw(st.booleans()):
        code, display = draw(st.sampled_from(ROUTES))
        d["route"] = {"coding": [{"system": SNOMED, "code": code, "display": display}]}
    needed = draw(st.sampled_from(["no", "yes", "reason"]))
    if needed == "yes":
        d["asNeededBoolean"] = True
    elif needed == "reason":
        d["asNeededCodeableConcept"] = {"text": draw(st.sampled_from(REASONS))}
    if draw(st.booleans()):
        name = draw(st.sampled_from(["day", "week", "month"]))
        repeat["boundsDuration"] = {
            "value": draw(st.integers(1, 28)),
            "unit": name,
            "system": UCUM,
            "code": _TIME_UNIT[name],
        }
    if unit and draw(st.booleans()):
        d["maxDosePerPeriod"] = {
            "numerator": _q(draw(VALUES), unit),
            "denominator": {"value": 24, "unit": "hour", "system": UCUM, "code": "h"},
        }
    if repeat:
        d["timing"] = {"repeat": repeat}
    if not (d.get("doseAndRate") or repeat or needed != "no"):
        d["asNeededBoolean"] = True
    return d


@settings(max_examples=200, deadline=None)
@given(structured_dosage())
def test_round_trip_structured_text_structured(dosage):
    text = dosage_to_text(dosage)
    assert parse_dose_text(text, keep_text=False) == dosage, text
