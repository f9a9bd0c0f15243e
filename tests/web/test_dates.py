"""Dates written and typed the NHS.UK way (content style guide "Dates", date input component)."""

from datetime import date, datetime

import pytest

from ipmo.web.dates import (
    DateInputError,
    date_field,
    nhs_date,
    nhs_datetime,
    nhs_month,
    parse_date_input,
)


def test_dates_are_written_day_month_year_without_leading_zero():
    assert nhs_date(date(2026, 12, 7)) == "7 December 2026"
    assert nhs_date("2026-01-02") == "2 January 2026"
    assert nhs_date(None, "Not known") == "Not known"
    assert nhs_date("not a date") == "not a date"


def test_times_use_the_12_hour_clock():
    assert nhs_datetime(datetime(2026, 12, 7, 14, 5)) == "7 December 2026 at 2:05pm"
    assert nhs_datetime(datetime(2026, 12, 7, 0, 30)) == "7 December 2026 at 12:30am"


def test_the_filters_read_strings_and_show_what_they_cannot_read():
    # the three filters share one reading step: ISO text first, unreadable text as it is
    assert nhs_date("2026-12-07T09:00:00") == "7 December 2026"
    assert nhs_month("2026-11") == "November 2026"
    assert nhs_month(date(2026, 2, 14)) == "February 2026"
    assert nhs_month("", "none") == "none"
    assert nhs_month("2026-13") == "2026-13"
    assert nhs_datetime("2026-12-07T14:05:00") == "7 December 2026 at 2:05pm"
    assert nhs_datetime(date(2026, 12, 7)) == "7 December 2026"  # a date has no time to write
    assert nhs_datetime(None, "never") == "never"
    assert nhs_datetime("soon") == "soon"


def test_a_date_field_is_read_from_its_three_named_fields():
    form = {"born[day]": "7", "born[month]": "12", "born[year]": "2026", "other[day]": "1"}
    assert date_field(form, "born") == date(2026, 12, 7)
    assert date_field(form, "missing") is None  # none of its fields sent: left empty
    with pytest.raises(DateInputError) as bad:
        date_field(form, "other", "Date of birth")
    assert (str(bad.value), bad.value.field) == ("Date of birth must include a month", "month")


def test_date_input_reads_three_fields():
    assert parse_date_input("7", "12", "2026") == date(2026, 12, 7)
    assert parse_date_input("", " ", "") is None


@pytest.mark.parametrize(
    ("day", "month", "year", "message", "field"),
    [
        ("", "3", "1940", "Date of birth must include a day", "day"),
        ("1", "", "1940", "Date of birth must include a month", "month"),
        ("1", "3", "40", "Year must include 4 numbers", "year"),
        ("31", "2", "1940", "Date of birth must be a real date", "day"),
        ("1", "March", "1940", "Date of birth must be a real date", "month"),
    ],
)
def test_date_input_errors_name_the_field(day, month, year, message, field):
    with pytest.raises(DateInputError) as err:
        parse_date_input(day, month, year, "Date of birth")
    assert (str(err.value), err.value.field) == (message, field)
