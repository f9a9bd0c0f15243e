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
    """Synthetic/test numbers come from the range NHS England never issues to people
    (9000000000–9999999999, ``nhs_number.REGION_SYNTHETIC``); ipmo draws from 999… first and,
    for populations larger than that block's ~909k valid numbers, from 998… and below."""
    digits = "".join(ch for ch in str(value) if ch.isdigit())
    return len(digits) == 10 and digits.startswith("9")
