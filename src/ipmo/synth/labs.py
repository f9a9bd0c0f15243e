"""Lab results and other observations over time, with realistic monitoring gaps.

Each monitored group gets a series of tests at a typical interval going back ~18 months; a stated
share of patients have *lapsed* monitoring (their last test is older than the interval), which is
what PINCER's monitoring indicators (AC, ME, LI, AM) look for. Intervals follow the usual shared
care / NICE monitoring schedules (methotrexate FBC/LFT 3-monthly, lithium levels 3-monthly,
amiodarone TFT 6-monthly, renal function yearly on ACEi/diuretics, INR every 4-6 weeks).

Kinds: ``egfr``, ``creatinine``, ``potassium``, ``inr``, ``hba1c``, ``haemoglobin`` and ``wbc``
(together an FBC), ``alt`` (LFT), ``tsh`` (TFT), ``lithium``, ``weight``, ``smr`` (a structured
medication review code, no value), ``fall``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ipmo.synth.people import People
from ipmo.synth.prescribing import Prescribing, Products

# kind -> (SNOMED CT code, unit). Codes are from the PINCER / OpenSAFELY codelists in ../shared
# except INR (no INR observable is in the public lists; 440685005 is the SNOMED CT procedure
# "Calculation of international normalized ratio" — to be checked against the release).
KINDS: dict[str, tuple[str, str | None]] = {
    "egfr": ("1011481000000105", "mL/min/1.73m2"),
    "creatinine": ("1000731000000107", "umol/L"),
    "potassium": ("1000651000000109", "mmol/L"),
    "inr": ("440685005", None),
    "hba1c": ("999791000000106", "mmol/mol"),
    "haemoglobin": ("1022431000000105", "g/L"),
    "wbc": ("1022541000000102", "10*9/L"),
    "alt": ("1018251000000107", "U/L"),
    "tsh": ("1022791000000101", "mU/L"),
    "lithium": ("1006681000000100", "mmol/L"),
    "weight": ("27113001", "kg"),
    "smr": ("1239511000000100", None),
    "fall": ("1912002", None),
}
WINDOW = 540

# np.where(cond, value, None) as numpy's stubs accept it: an object-array None
_NONE = np.array(None, dtype=object)


@dataclass
class Labs:
    pt: list[np.ndarray]
    kind: list[str]
    ago: list[np.ndarray]
    value: list[np.ndarray]
    comparator: list[np.ndarray | None]


def _series(who, interval, lapse, rng):
    """Dates (days ago) of tests every ``interval`` days; lapsed patients' last test is overdue."""
    m = len(who)
    lapsed = rng.random(m) < lapse
    last = np.where(
        lapsed, interval + rng.integers(15, max(16, interval), m), rng.integers(0, interval, m)
    )
    k = np.maximum((WINDOW - last) // interval + 1, 1)
    idx = np.repeat(np.arange(m), k)
    j = np.arange(len(idx)) - np.repeat(np.cumsum(k) - k, k)
    ago = last[idx] + j * interval + rng.integers(-5, 6, len(idx))
    return who[idx], np.clip(ago, 0, WINDOW + 10), idx


def build_labs(people: People, presc: Prescribing, products: Products, rng) -> Labs:
    n = people.n
    cls = products.drug_class[presc.prod]
    active = ~presc.stopped

    def on(*classes: str) -> np.ndarray:
        mask = np.zeros(n, bool)
        mask[presc.pt[np.isin(cls, classes) & active]] = True
        return mask

    out = Labs([], [], [], [], [])

    def add(kind, pts, ago, value, comparator=None):
        out.pt.append(pts)
        out.kind.append(kind)
        out.ago.append(ago)
        out.value.append(np.round(value, 2) if value is not None else np.full(len(pts), np.nan))
        out.comparator.append(comparator)

    # Renal function and electrolytes (U&E): yearly for people at risk, 8% overdue.
    renal = (
        on("acei", "arb", "loop", "mra", "metformin", "doac", "lithium", "thiazide")
        | people.cond("ckd")
        | people.cond("diabetes")
        | people.cond("hypertension")
        | (people.age >= 75)
    )
    who = np.flatnonzero(renal)
    p, ago, idx = _series(who, 365, 0.08, rng)
    stage = people.ckd_stage[p]
    base = np.select(
        [stage == 3, stage == 4, stage == 5],
        [rng.uniform(30, 59, len(p)), rng.uniform(15, 29, len(p)), rng.uniform(6, 14, len(p))],
        np.clip(rng.normal(118 - 0.7 * people.age[p], 12), 61, 130),
    )
    egfr = np.round(base)
    comparator = np.where(egfr > 90, ">", _NONE)
    add("egfr", p, ago, np.where(egfr > 90, 90, egfr), comparator)
    female = people.female[p]
    creat = np.where(female, 62, 80) * (90 / np.maximum(base, 5)) ** 0.9
    add("creatinine", p, ago, np.round(creat))
    k = rng.normal(4.4, 0.35, len(p)) + 0.25 * (stage >= 4) + 0.15 * on("acei", "arb", "mra")[p]
    add("potassium", p, ago, np.round(k, 1))

    # Diabetes: HbA1c 6-monthly
    p, ago, _ = _series(np.flatnonzero(people.cond("diabetes")), 182, 0.15, rng)
    add("hba1c", p, ago, np.round(rng.lognormal(np.log(56), 0.18, len(p))))

    # Warfarin: INR every 5 weeks
    p, ago, _ = _series(np.flatnonzero(on("warfarin")), 35, 0.05, rng)
    add("inr", p, ago, np.round(np.clip(rng.normal(2.6, 0.6, len(p)), 1.0, 6.5), 1))

    # Methotrexate: FBC and LFT 3-monthly, 15% overdue (PINCER ME)
    p, ago, _ = _series(np.flatnonzero(on("methotrexate")), 84, 0.15, rng)
    add("haemoglobin", p, ago, np.round(rng.normal(132, 14, len(p))))
    add("wbc", p, ago, np.round(rng.normal(6.5, 1.6, len(p)), 1))
    add("alt", p, ago, np.round(rng.lognormal(np.log(24), 0.4, len(p))))
    # Everyone else 50+ has an occasional routine FBC
    p, ago, _ = _series(
        np.flatnonzero((people.age >= 50) & ~on("methotrexate") & (rng.random(n) < 0.5)),
        400,
        0.3,
        rng,
    )
    add("haemoglobin", p, ago, np.round(rng.normal(135, 14, len(p))))

    # Thyroid: levothyroxine yearly; amiodarone 6-monthly with 25% overdue (PINCER AM)
    p, ago, _ = _series(np.flatnonzero(on("levothyroxine")), 365, 0.1, rng)
    add("tsh", p, ago, np.round(rng.lognormal(np.log(2.0), 0.5, len(p)), 2))
    p, ago, _ = _series(np.flatnonzero(on("amiodarone") & ~on("levothyroxine")), 182, 0.25, rng)
    add("tsh", p, ago, np.round(rng.lognormal(np.log(2.2), 0.6, len(p)), 2))

    # Lithium levels 3-monthly, 20% overdue (PINCER LI)
    p, ago, _ = _series(np.flatnonzero(on("lithium")), 91, 0.20, rng)
    add("lithium", p, ago, np.round(np.clip(rng.normal(0.65, 0.15, len(p)), 0.2, 1.6), 2))

    # Weight: most adults once in 18 months
    who = np.flatnonzero((people.age >= 18) & (rng.random(n) < 0.55))
    add(
        "weight",
        who,
        rng.integers(0, WINDOW, len(who)),
        np.round(people.weight_kg[who] + rng.normal(0, 1.5, len(who)), 1),
    )

    # Structured medication reviews: ~20% of people on 5+ repeat medicines, 60% of care home
    counts = np.bincount(presc.pt[active], minlength=n)
    chance = np.where(people.care_home >= 0, 0.6, np.where(counts >= 5, 0.2, 0.01))
    who = np.flatnonzero(rng.random(n) < chance)
    add("smr", who, rng.integers(0, 540, len(who)), None)

    # Falls (65+): recorded fall events, more in care homes; some recurrent
    chance = np.where(people.age >= 65, 0.06 + 0.2 * (people.care_home >= 0), 0.0)
    who = np.flatnonzero(rng.random(n) < chance)
    who = np.concatenate([who, who[rng.random(len(who)) < 0.3]])
    add("fall", who, rng.integers(0, 365, len(who)), None)
    return out
