"""The registered population: age, sex, practice, deprivation, care homes and conditions.

Vectorised with numpy so 1.5 million people take seconds. Ages follow ONS mid-2022 (England);
conditions are drawn per person from an age/sex risk curve times a personal morbidity factor and
comorbidity multipliers, then scaled so each register's rate matches its QOF target
(:mod:`ipmo.synth.targets`). The morbidity factor makes conditions (and so medicines) cluster in the
same people, which is what gives a realistic tail of polypharmacy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ipmo.synth import targets as T
from ipmo.synth.orgs import Orgs

# Common given names and surnames in England and Wales (ONS baby names; ONS/common surnames).
FEMALE_NAMES = [
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Emily",
    "Sophie",
    "Grace",
    "Lily",
    "Freya",
    "Margaret",
    "Susan",
    "Patricia",
    "Elizabeth",
    "Sarah",
    "Helen",
    "Joan",
    "Jean",
    "Karen",
    "Mary",
    "Ruth",
    "Aisha",
    "Fatima",
    "Priya",
    "Zara",
    "Chloe",
    "Hannah",
    "Jessica",
    "Rebecca",
    "Laura",
]
MALE_NAMES = [
    "Oliver",
    "George",
    "Noah",
    "Arthur",
    "Leo",
    "Harry",
    "Oscar",
    "Jack",
    "Charlie",
    "Henry",
    "John",
    "David",
    "Michael",
    "Peter",
    "Robert",
    "James",
    "William",
    "Paul",
    "Richard",
    "Thomas",
    "Mohammed",
    "Ali",
    "Arjun",
    "Daniel",
    "Samuel",
    "Joseph",
    "Adam",
    "Ryan",
    "Kevin",
    "Stephen",
]
SURNAMES = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Thomas",
    "Clarke",
    "Jackson",
    "Wood",
    "Harris",
    "Edwards",
    "Turner",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
    "Hughes",
    "Moore",
    "Clark",
    "King",
    "Harrison",
    "Lewis",
    "Baker",
    "Lee",
    "Allen",
    "Morris",
    "Khan",
    "Scott",
    "Watson",
    "Davis",
    "Parker",
    "James",
    "Bennett",
    "Young",
    "Phillips",
    "Richardson",
    "Mitchell",
    "Begum",
    "Ahmed",
    "Hussain",
    "Singh",
    "Shah",
    "Ali",
    "Kaur",
    "Murphy",
    "Kelly",
    "Campbell",
]


@dataclass
class People:
    n: int
    age: np.ndarray
    band: np.ndarray
    female: np.ndarray
    birth_days_ago: np.ndarray
    practice: np.ndarray
    place: np.ndarray
    pharmacy: np.ndarray  # index or -1 (no nomination)
    care_home: np.ndarray  # index or -1
    imd: np.ndarray
    morbidity: np.ndarray
    weight_kg: np.ndarray
    given: np.ndarray
    family: np.ndarray
    postcode: np.ndarray
    has: np.ndarray  # (n, len(CONDITIONS)) bool
    onset_days_ago: np.ndarray  # (n, len(CONDITIONS)) int
    bipolar: np.ndarray
    ckd_stage: np.ndarray  # 0 or 3/4/5

    def cond(self, key: str) -> np.ndarray:
        return self.has[:, T.CONDITION_INDEX[key]]


def _calibrate(base: np.ndarray, denom: np.ndarray, target: float, cap: float = 0.9) -> np.ndarray:
    """Scale ``base`` risks by k so the mean probability over ``denom`` equals ``target``."""
    lo, hi = 0.0, 1.0
    b = base[denom]
    while np.minimum(cap, hi * b).mean() < target and hi < 1e9:
        hi *= 2
    for _ in range(50):
        k = (lo + hi) / 2
        if np.minimum(cap, k * b).mean() < target:
            lo = k
        else:
            hi = k
    return np.minimum(cap, hi * base)


def build_people(n: int, orgs: Orgs, rng: np.random.Generator) -> People:
    counts = np.array(T.AGE_BAND_THOUSANDS, dtype=float)
    band = rng.choice(len(counts), n, p=counts / counts.sum())
    lo = np.array([b[0] for b in T.AGE_BANDS])[band]
    width = np.array([b[1] - b[0] + 1 for b in T.AGE_BANDS])[band]
    age = lo + (rng.random(n) * width).astype(int)
    old = band == len(T.AGE_BANDS) - 1  # 90+: numbers fall steeply with age
    age[old] = 90 + np.minimum(rng.geometric(0.28, old.sum()) - 1, 15)
    female = rng.random(n) < np.array(T.FEMALE_SHARE)[band]
    birth_days_ago = (age * 365.25 + rng.integers(0, 365, n)).astype(np.int64)

    practice = rng.choice(len(orgs.practice_codes), n, p=orgs.practice_weight)
    place = orgs.place_of_practice[practice]
    imd = np.clip(orgs.practice_imd[practice] + np.rint(rng.normal(0, 1.4, n)), 1, 10).astype(int)
    # Personal morbidity: lognormal, worse with deprivation (Marmot gradient).
    morbidity = rng.lognormal(0, 1.0, n) * (1 + 0.06 * (5.5 - imd))

    # Nominated pharmacy (EPS nomination, most patients): one in the patient's place.
    pharmacy = np.full(n, -1)
    nominated = rng.random(n) < 0.85
    for p in np.unique(place):
        options = np.flatnonzero(orgs.pharmacy_place == p)
        who = nominated & (place == p)
        if len(options):
            pharmacy[who] = options[rng.integers(0, len(options), who.sum())]

    # Care homes: about 0.7% of people, almost all 65+, most 85+.
    care_home = np.full(n, -1)
    n_res = round(n * T.CARE_HOME_SHARE)
    w = np.array(T.CARE_HOME_AGE_RR, dtype=float)[band] * morbidity
    if n_res and len(orgs.care_home_codes) and w.sum() > 0:
        residents = rng.choice(n, n_res, replace=False, p=w / w.sum())
        for p in np.unique(place[residents]):
            homes = np.flatnonzero(orgs.care_home_place == p)
            if not len(homes):
                homes = np.arange(len(orgs.care_home_codes))
            who = residents[place[residents] == p]
            care_home[who] = homes[rng.integers(0, len(homes), len(who))]
        morbidity[residents] *= 1.3

    has = np.zeros((n, len(T.CONDITIONS)), dtype=bool)
    for i, c in enumerate(T.CONDITIONS):
        base = np.array(c.age_risk)[band] * np.where(female, c.female_rr, 1.0) * morbidity
        for other, rr in c.depends.items():
            base = base * np.where(has[:, T.CONDITION_INDEX[other]], rr, 1.0)
        if c.key == "dementia":  # ~70% of care home residents have dementia (Alzheimer's Society)
            base = base * np.where(care_home >= 0, 25.0, 1.0)
        base[age < c.min_age] = 0
        denom = age >= c.denominator_age
        has[:, i] = rng.random(n) < _calibrate(base, denom, c.prevalence)

    years_since = np.maximum(age[:, None] - np.array([c.min_age for c in T.CONDITIONS]), 1)
    onset_days_ago = (rng.random(has.shape) * np.minimum(years_since, 25) * 365).astype(np.int64)
    onset_days_ago = np.maximum(onset_days_ago, 30)
    bipolar = has[:, T.CONDITION_INDEX["smi"]] & (rng.random(n) < 0.35)
    ckd_stage = np.where(
        has[:, T.CONDITION_INDEX["ckd"]], rng.choice([3, 4, 5], n, p=[0.88, 0.09, 0.03]), 0
    )

    adult_weight = np.where(female, rng.normal(72, 14, n), rng.normal(85, 15, n))
    child_weight = 3.5 + age * 3.0 + rng.normal(0, 2, n)
    weight = np.round(np.clip(np.where(age >= 16, adult_weight, child_weight), 2.5, 220), 1)

    given = np.where(
        female,
        np.array(FEMALE_NAMES)[rng.integers(0, len(FEMALE_NAMES), n)],
        np.array(MALE_NAMES)[rng.integers(0, len(MALE_NAMES), n)],
    )
    family = np.array(SURNAMES)[rng.integers(0, len(SURNAMES), n)]
    outward = np.array(orgs.place_outward)[place]
    letters = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
    postcode = np.char.add(
        np.char.add(outward, " "),
        np.char.add(
            rng.integers(1, 10, n).astype(str),
            np.char.add(letters[rng.integers(0, 20, n)], letters[rng.integers(0, 20, n)]),
        ),
    )
    return People(
        n,
        age,
        band,
        female,
        birth_days_ago,
        practice,
        place,
        pharmacy,
        care_home,
        imd,
        morbidity,
        weight,
        given,
        family,
        postcode,
        has,
        onset_days_ago,
        bipolar,
        ckd_stage,
    )
