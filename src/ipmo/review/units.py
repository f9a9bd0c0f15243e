"""Unit normalisation for observations: each kind has one canonical unit.

Assumptions (documented, applied identically to FHIR input and to the store extract):
- no unit → the canonical unit of the kind (GP systems record eGFR, K⁺, Na⁺ in their usual unit);
- a known alternative unit → converted (creatinine mg/dL ×88.4 → µmol/L, weight lb/g → kg);
- any other unit → the value is unusable (kept as "test done", ignored by thresholds).
"""

from __future__ import annotations

CANONICAL: dict[str, str] = {
    "egfr": "ml/min/1.73m2",
    "crcl": "ml/min",
    "creatinine": "umol/l",
    "potassium": "mmol/l",
    "sodium": "mmol/l",
    "weight": "kg",
    "bp_systolic": "mm[hg]",
    "heart_rate": "/min",
}

_ALIASES = {
    "ml/min/1.73m2": {
        "ml/min/1.73m2",
        "ml/min/{1.73_m2}",
        "ml/min/1.73m^2",
        "ml/min/1.73 m2",
        "ml/min/1.73m*2",
        "ml/min per 1.73m2",
        "ml/min/1.73sqm",
    },
    "ml/min": {"ml/min"},
    "umol/l": {"umol/l", "µmol/l", "micromol/l"},
    "mmol/l": {"mmol/l", "meq/l"},
    "kg": {"kg"},
    "mm[hg]": {"mm[hg]", "mmhg"},
    "/min": {"/min", "{beats}/min", "bpm", "beats/min"},
}
_FACTORS = {
    ("creatinine", "mg/dl"): 88.4,
    ("weight", "g"): 0.001,
    ("weight", "[lb_av]"): 0.45359237,
    ("weight", "lb"): 0.45359237,
}


def normalise(kind: str, value: float | None, unit: str | None) -> float | None:
    """Value in the kind's canonical unit, or None when it cannot be used."""
    if value is None:
        return None
    canonical = CANONICAL.get(kind)
    if canonical is None or not unit or not unit.strip():
        return value
    u = unit.strip().lower().replace(" ", "") if kind != "egfr" else unit.strip().lower()
    if u in _ALIASES.get(canonical, set()) or u.replace(" ", "") in {
        a.replace(" ", "") for a in _ALIASES.get(canonical, set())
    }:
        return value
    factor = _FACTORS.get((kind, u))
    return value * factor if factor is not None else None
