"""NHS number checks, delegated to the `nhs-number` package (Modulus 11)."""

from __future__ import annotations

import nhs_number


class InvalidNhsNumber(ValueError):
    pass


def normalise_nhs_number(value: str) -> str:
    """Return the 10-digit NHS number or raise :class:`InvalidNhsNumber` with a reason.

    Spaces and dashes are allowed on input ("943 476 5919"); the stored form is digits only.
    """
    digits = "".join(ch for ch in str(value) if ch not in " -")
    if len(digits) != 10 or not digits.isdigit():
        raise InvalidNhsNumber("NHS number must be 10 digits")
    if not nhs_number.is_valid(digits):
        raise InvalidNhsNumber("NHS number fails the Modulus 11 check")
    return digits


def is_synthetic(value: str) -> bool:
    """Synthetic/test numbers are allocated from the 999 range."""
    return str(value).startswith("999")
