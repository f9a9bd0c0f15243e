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
