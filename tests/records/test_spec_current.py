"""FCI Consolidated Medications Record, Appendix A ("current"), one test per clause, with the
index date as a parameter; and ipmo's additions X1–X3 (records/current.py)."""

from datetime import date

from ipmo.records.canonical import MedItem
from ipmo.records.current import is_current, is_stopped

INDEX = date(2025, 6, 1)


def line(**kw) -> MedItem:
    kw.setdefault("status", "active")
    return MedItem(name="x", **kw)


def test_spec_fci_a1_acute_end_date_not_passed():
    assert is_current(line(category="acute", authored_on=date(2020, 1, 1), end_date=INDEX), INDEX)
    assert not is_current(
        line(category="acute", authored_on=date(2025, 5, 1), end_date=date(2025, 5, 31)), INDEX
    )


def test_spec_fci_a1_acute_no_end_issued_within_two_years():
    assert is_current(line(category="acute", authored_on=date(2023, 6, 1)), INDEX)
    assert not is_current(line(category="acute", authored_on=date(2023, 5, 31)), INDEX)
    # the last issue counts as "issued"
    assert is_current(
        line(category="acute", authored_on=date(2020, 1, 1), last_issued=date(2024, 1, 1)), INDEX
    )


def test_spec_fci_a2_repeat_end_date_on_or_after_index():
    recent = date(2025, 1, 1)
    assert is_current(line(category="repeat", authored_on=recent, end_date=INDEX), INDEX)
    assert is_current(line(category="repeat", authored_on=recent), INDEX)
    assert not is_current(
        line(category="repeat", authored_on=recent, end_date=date(2025, 5, 31)), INDEX
    )


def test_spec_fci_a2_repeat_authorised_or_issued_within_two_years():
    old = date(2019, 1, 1)
    assert is_current(
        line(category="repeat", authored_on=old, last_issued=date(2024, 12, 1)), INDEX
    )
    assert is_current(line(category="repeat-dispensing", authored_on=date(2023, 6, 1)), INDEX)
    assert not is_current(
        line(category="repeat", authored_on=old, last_issued=date(2023, 5, 1)), INDEX
    )
    assert not is_current(
        line(category="repeat"), INDEX
    )  # no dates at all: cannot be shown current


def test_spec_index_date_is_a_parameter():
    item = line(category="repeat", authored_on=date(2022, 1, 1))
    assert is_current(item, date(2023, 12, 31))
    assert not is_current(item, date(2024, 1, 2))


def test_spec_x1_stopped_is_never_current():
    assert not is_current(line(category="repeat", status="stopped", authored_on=INDEX), INDEX)
    assert not is_current(
        line(category="acute", status="entered-in-error", authored_on=INDEX), INDEX
    )
    assert is_stopped(line(category="repeat", status="stopped", end_date=date(2025, 3, 1)), INDEX)
    assert not is_stopped(
        line(category="repeat", status="stopped", end_date=date(2020, 3, 1)), INDEX
    )


def test_spec_x2_future_start_is_not_yet_current():
    assert not is_current(line(category="repeat", authored_on=date(2025, 6, 2)), INDEX)
    assert is_current(line(category="repeat", authored_on=INDEX), INDEX)


def test_spec_x3_other_lines_follow_status_and_end():
    assert is_current(line(category="inpatient", authored_on=date(2025, 5, 1)), INDEX)
    assert not is_current(line(category="discharge", status="completed"), INDEX)
    assert not is_current(line(category=None, end_date=date(2025, 5, 1)), INDEX)


# --- D1: dispenses are current while the supply lasts (records/current.py module doc) --------
from ipmo.records.current import DEFAULT_SUPPLY_DAYS, GRACE_DAYS, decide  # noqa: E402


def dispense(**kw) -> MedItem:
    kw.setdefault("status", "completed")
    kw.setdefault("resource_type", "MedicationDispense")
    return MedItem(name="x", **kw)


def test_spec_d1_completed_dispense_is_current_while_days_supply_lasts():
    handed = date(2025, 5, 1)
    item = dispense(authored_on=handed, last_issued=handed, supply_days=28)
    last = handed.toordinal() + 28 + GRACE_DAYS
    assert decide(item, date.fromordinal(last)) == "D1"
    assert decide(item, date.fromordinal(last + 1)) == "D1-out"
    assert is_current(item, INDEX)  # 1 May + 28 + grace reaches 1 June


def test_spec_d1_supply_from_quantity_over_daily_dose():
    from ipmo.records.adapters.fhir import dispense_supply

    dosage = [
        {
            "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "tablet"}}],
            "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
        }
    ]
    res = {"quantity": {"value": 56, "unit": "tablets"}}
    assert dispense_supply(res, dosage) == (14.0, "quantity ÷ daily dose")
    # daysSupply wins over the quantity
    assert dispense_supply(res | {"daysSupply": {"value": 30}}, dosage) == (30.0, "daysSupply")
    # a quantity in another unit than the dose, or an as-required dose, says nothing
    assert dispense_supply({"quantity": {"value": 100, "unit": "ml"}}, dosage) == (None, None)
    prn = [dosage[0] | {"asNeededBoolean": True}]
    assert dispense_supply(res, prn) == (None, None)


def test_spec_d1_default_supply_when_the_dispense_says_nothing():
    handed = date(2025, 4, 1)
    item = dispense(authored_on=handed)
    end = date.fromordinal(handed.toordinal() + DEFAULT_SUPPLY_DAYS + GRACE_DAYS)
    assert decide(item, end) == "D1"
    assert decide(item, date.fromordinal(end.toordinal() + 1)) == "D1-out"


def test_spec_d1_dispense_without_a_handover_date_is_not_current():
    assert decide(dispense(), INDEX) == "D1-undated"
    assert not is_current(dispense(), INDEX)


def test_spec_d1_stopped_or_future_dispense_is_not_current():
    handed = date(2025, 5, 20)
    assert decide(dispense(status="stopped", authored_on=handed), INDEX) == "X1"
    assert decide(dispense(authored_on=date(2025, 6, 2)), INDEX) == "X2"


def test_spec_every_clause_is_explained():
    from ipmo.records.current import CLAUSES, explain

    item = dispense(authored_on=date(2025, 5, 1), supply_days=7, supply_basis="daysSupply")
    text = explain(item, "D1")
    assert "7 days' supply from daysSupply" in text and str(GRACE_DAYS) in text
    assert all(words for _, words in CLAUSES.values())
