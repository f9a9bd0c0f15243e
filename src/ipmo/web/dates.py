"""Dates the NHS.UK way: written "7 December 2026" and typed into the three-field date input.

NHS digital service manual, content style guide "Dates": day, month in full, year, no leading
zero and no ordinal; the date input component asks for day, month and year in separate fields
(browser date pickers are hard to use for dates of birth and with assistive technology).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def _when(
    value: date | datetime | str | None, default: str, parse: Callable[[str], date]
) -> date | str:
    """What a filter writes: ``value`` itself, a string read with ``parse`` first, or the text to
    show as it is (None or "" → ``default``; a string ``parse`` cannot read → the string)."""
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        return value
    try:
        return parse(value)
    except ValueError:
        return value


def _iso(text: str) -> date:
    return datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)


def nhs_date(value: date | datetime | str | None, default: str = "") -> str:
    """``date(2026, 12, 7)`` → "7 December 2026"; ISO strings are read first; None → default."""
    when = _when(value, default, _iso)
    if isinstance(when, str):
        return when
    return f"{when.day} {MONTHS[when.month - 1]} {when.year}"


def nhs_month(value: date | str | None, default: str = "") -> str:
    """A month: ``"2026-11"`` or a date → "November 2026" (monthly figures, axes)."""
    when = _when(value, default, lambda text: date.fromisoformat(text[:7] + "-01"))
    if isinstance(when, str):
        return when
    return f"{MONTHS[when.month - 1]} {when.year}"


def nhs_datetime(value: datetime | str | None, default: str = "") -> str:
    """ "7 December 2026 at 2:05pm" (the style guide's 12-hour clock, no leading zero)."""
    when = _when(value, default, datetime.fromisoformat)
    if not isinstance(when, datetime):
        return when if isinstance(when, str) else nhs_date(when)
    hour = when.hour % 12 or 12
    suffix = "am" if when.hour < 12 else "pm"
    return f"{nhs_date(when)} at {hour}:{when.minute:02d}{suffix}"


class DateInputError(ValueError):
    """What is wrong with a typed date, in the words the NHS.UK error message pattern uses."""

    def __init__(self, message: str, field: str = "day") -> None:
        super().__init__(message)
        self.field = field  # which of day / month / year to mark (and link the summary to)


def date_field(fields: Mapping[str, str], name: str, what: str = "Date") -> date | None:
    """The NHS.UK date input ``name`` of a posted form or a query (its fields ``name[day]``,
    ``name[month]`` and ``name[year]``), read as :func:`parse_date_input` reads it."""
    day, month, year = (fields.get(f"{name}[{part}]", "") for part in ("day", "month", "year"))
    return parse_date_input(day, month, year, what)


def parse_date_input(day: str, month: str, year: str, what: str = "Date") -> date | None:
    """Read the three fields of the NHS.UK date input; all empty → None."""
    parts = {"day": day.strip(), "month": month.strip(), "year": year.strip()}
    if not any(parts.values()):
        return None
    for name, text in parts.items():
        if not text:
            raise DateInputError(f"{what} must include a {name}", name)
        if not text.isdigit():
            raise DateInputError(f"{what} must be a real date", name)
    if len(parts["year"]) != 4:
        raise DateInputError("Year must include 4 numbers", "year")
    try:
        return date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    except ValueError:
        raise DateInputError(f"{what} must be a real date", "day") from None
