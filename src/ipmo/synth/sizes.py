"""The sizes ``ipmo synth --size`` knows, and the deterministic ODS-style codes of the ICS.

Codes depend only on position, never on the seed, so callers (the demo users, tests) can name
"the first practice" without reading the store. All codes contain a ``Z`` so they cannot be
mistaken for a real ODS code of the same shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    patients: int
    places: int
    pcns: int
    practices: int
    pharmacies: int
    trusts: int
    care_homes: int


SIZES: dict[str, Size] = {
    "tiny": Size(
        patients=400, places=2, pcns=3, practices=8, pharmacies=10, trusts=1, care_homes=2
    ),
    "small": Size(
        patients=8_000, places=2, pcns=3, practices=8, pharmacies=10, trusts=1, care_homes=3
    ),
    "demo": Size(
        patients=50_000, places=2, pcns=6, practices=12, pharmacies=16, trusts=2, care_homes=10
    ),
    "ics": Size(
        patients=1_500_000,
        places=5,
        pcns=30,
        practices=200,
        pharmacies=350,
        trusts=4,
        care_homes=300,
    ),
}


def icb_code() -> str:
    return "QZZ"


def _numbered(pattern: str) -> Callable[[int], str]:
    """The code of the ``i``-th organisation of a kind (from 0): ``pattern`` holding ``i + 1``."""

    def code(i: int) -> str:
        return pattern.format(i + 1)

    return code


place_code = _numbered("{:02d}Z")
pcn_code = _numbered("UZ{:04d}")
practice_code = _numbered("Z{:05d}")
pharmacy_code = _numbered("FZ{:03d}")
trust_code = _numbered("RZ{}")
care_home_code = _numbered("VZ{:03d}")


def nhs111_code() -> str:
    return "NZ111"


@dataclass(frozen=True)
class DemoCodes:
    """The organisations the demo users belong to: the first of each kind."""

    icb: str = icb_code()
    place: str = place_code(0)
    pcn: str = pcn_code(0)
    practice: str = practice_code(0)
    pharmacy: str = pharmacy_code(0)
    trust: str = trust_code(0)
    care_home: str = care_home_code(0)
    nhs111: str = nhs111_code()


DEMO_CODES = DemoCodes()
