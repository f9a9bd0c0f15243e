"""Medicines: who is on what (regimens per condition) and the GP issue history that results.

Regimens are data (:data:`REGIMENS`): for each condition, a list of *slots*; each slot picks at
most one drug class with the stated probabilities (e.g. hypertension: ACE inhibitor 40% *or* ARB
17%). Proportions are rounded from NICE pathways and common English prescribing patterns; they
are generator assumptions, checked only through the realism report's polypharmacy and PINCER rows.
Products come from ``data/regimens.csv`` (real dm+d VMP ids, built by
``scripts/build_regimens.py``).

Safety problems are injected on purpose so case finding has something to find: NSAIDs in older
people are co-prescribed a PPI only 60% of the time, a few asthmatics get propranolol, some
anticoagulated or heart-failure patients keep an NSAID (see :func:`_safety_adjust`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources

import numpy as np

from ipmo.synth.people import People

HISTORY_DAYS = 480  # 15-16 months: PINCER AC needs an issue on or before t-15m ...
SHORT_HISTORY_DAYS = 390  # ... but only for ACEi/loop; 13 months covers every other lookback
LONG_HISTORY_CLASSES = ("acei", "loop")

Slot = list[tuple[str, float]]
REGIMENS: dict[str, list[Slot]] = {
    "hypertension": [
        [("acei", 0.40), ("arb", 0.17)],
        [("ccb", 0.50)],
        [("thiazide", 0.25)],
        [("alpha_blocker", 0.08)],
        [("beta_blocker", 0.08)],
    ],
    "diabetes": [
        [("metformin", 0.80)],
        [("sulfonylurea", 0.20)],
        [("dpp4", 0.18)],
        [("sglt2", 0.30)],
        [("statin", 0.75)],
        [("insulin", 0.12)],
    ],
    "asthma": [[("saba", 0.85)], [("ics", 0.40), ("ics_laba", 0.40)], [("ltra", 0.10)]],
    "copd": [[("saba", 0.90)], [("lama", 0.65)], [("ics_laba", 0.40)]],
    "chd": [
        [("aspirin", 0.65), ("antiplatelet", 0.20)],
        [("statin", 0.85)],
        [("beta_blocker", 0.50)],
        [("acei", 0.45)],
    ],
    "stroke": [[("antiplatelet", 0.65), ("aspirin", 0.15)], [("statin", 0.80)]],
    "af": [[("doac", 0.70), ("warfarin", 0.09)], [("beta_blocker", 0.60)], [("amiodarone", 0.04)]],
    "hf": [
        [("loop", 0.70)],
        [("acei", 0.50), ("arb", 0.20)],
        [("beta_blocker", 0.75)],
        [("mra", 0.35)],
        [("sglt2", 0.20)],
    ],
    "ckd": [[("acei", 0.30), ("arb", 0.15)], [("statin", 0.55)]],
    "depression": [
        [("ssri", 0.45), ("mirtazapine", 0.08), ("snri", 0.08), ("tca", 0.05)],
        [("trazodone", 0.02)],
    ],
    "dementia": [[("antipsychotic", 0.12)], [("mirtazapine", 0.08)]],
    "hypothyroidism": [[("levothyroxine", 0.95)]],
    "ra": [
        [("methotrexate", 0.50)],
        [("dmard", 0.35)],
        [("oral_steroid_lt", 0.10)],
        [("nsaid", 0.15)],
    ],
    "smi": [[("antipsychotic", 0.75)]],
    "epilepsy": [[("valproate", 0.30)]],
    "gout": [[("allopurinol", 0.45)], [("colchicine", 0.15)]],
    "osteoarthritis": [
        [("nsaid", 0.12)],
        [("weak_opioid", 0.35)],
        [("gabapentinoid", 0.08)],
        [("strong_opioid", 0.04)],
        [("tca", 0.06)],
    ],
}


@dataclass
class Products:
    drug_class: np.ndarray
    vmp: np.ndarray
    name: np.ndarray
    vtm: np.ndarray
    bnf: np.ndarray
    amp_code: np.ndarray
    amp_name: np.ndarray
    dose: np.ndarray
    quantity: np.ndarray
    by_class: dict[str, np.ndarray]

    def of(self, *classes: str) -> np.ndarray:
        return np.concatenate([self.by_class.get(c, np.array([], int)) for c in classes])


def load_products() -> Products:
    path = resources.files("ipmo.synth") / "data" / "regimens.csv"
    # Traversable.open() takes no newline argument; csv wants newline="" (embedded newlines),
    # so read the text and let csv split it.
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    col = {k: np.array([r[k] for r in rows], dtype=object) for k in rows[0]}
    classes = np.array([r["drug_class"] for r in rows])
    by_class = {c: np.flatnonzero(classes == c) for c in dict.fromkeys(classes)}
    return Products(
        classes,
        col["vmp_code"],
        col["name"],
        col["vtm_code"],
        col["bnf_code"],
        col["amp_code"],
        col["amp_name"],
        col["dose_text"],
        np.array([float(r["quantity"]) for r in rows]),
        by_class,
    )


@dataclass
class Prescribing:
    # repeat courses (one per patient x product)
    pt: np.ndarray
    prod: np.ndarray
    start_ago: np.ndarray
    last_ago: np.ndarray
    stopped: np.ndarray
    # all GP issues (repeat and acute)
    i_pt: np.ndarray
    i_prod: np.ndarray
    i_ago: np.ndarray
    i_acute: np.ndarray


def _pick(products: Products, cls: str, k: int, rng: np.random.Generator) -> np.ndarray:
    options = products.by_class[cls]
    return options[rng.integers(0, len(options), k)]


def _assign(people: People, products: Products, rng: np.random.Generator):
    pts, prods = [], []

    def give(who: np.ndarray, cls: str) -> None:
        if cls in products.by_class and len(who):
            pts.append(who)
            prods.append(_pick(products, cls, len(who), rng))

    boost = np.clip(people.morbidity**0.8, 0.6, 2.5)  # sicker people are treated more
    # Older multimorbid people are treated more intensively (more add-on drugs per condition).
    intensity = boost * (
        1 + 0.25 * (people.age >= 45) + 0.3 * (people.age >= 65) + 0.3 * (people.age >= 80)
    )
    for key, slots in REGIMENS.items():
        patients = np.flatnonzero(people.cond(key))
        for slot in slots:
            total = sum(p for _cls, p in slot)
            treated = rng.random(len(patients)) < np.minimum(0.97, total * intensity[patients])
            r = rng.random(len(patients)) * total  # which class, in the slot's proportions
            edge = 0.0
            for cls, p in slot:
                give(patients[treated & (r >= edge) & (r < edge + p)], cls)
                edge += p
    give(np.flatnonzero(people.bipolar & (rng.random(people.n) < 0.30)), "lithium")

    age, n = people.age, people.n
    adult = age >= 18
    cvd = people.cond("chd") | people.cond("stroke") | people.cond("diabetes")
    background = {
        "ppi": np.clip(0.02 + 0.006 * (age - 25), 0, 0.40) * boost,
        "statin": np.where(~cvd & (age >= 45), 0.15 + 0.20 * (age >= 65), 0.0) * boost,
        "ccb": np.where(age >= 65, 0.05, 0.0) * boost,
        "alpha_blocker": np.where(~people.female & (age >= 60), 0.10, 0.0),
        "levothyroxine": np.where(age >= 60, 0.02, 0.0),
        "antihistamine": np.where(adult, 0.03, 0.01),
        "z_drug": np.where(adult, 0.010 + 0.012 * (age >= 65), 0.0),
        "benzo": np.where(adult, 0.008, 0.0),
        "hrt": np.where(people.female & (age >= 45) & (age < 65), 0.10, 0.0),
        "nsaid": np.where(adult & (age < 65), 0.012, 0.0),
        "weak_opioid": np.where(adult, 0.05 + 0.05 * (age >= 65), 0.0) * boost,
        "gabapentinoid": np.where(adult, 0.03 * boost, 0.0),
        "tca": np.where(adult, 0.03, 0.0) * boost,
        "ssri": np.where(adult, 0.03 + 0.02 * (age >= 65), 0.0) * boost,
        "eye_nsbb": np.where(age >= 60, 0.02, 0.0),  # glaucoma (timolol eye drops)
        "oral_steroid_lt": np.where(age >= 60, 0.01, 0.0),  # polymyalgia rheumatica, COPD
        "antiemetic": np.where(adult, 0.008, 0.0),
        "h2ra": np.where(adult, 0.006, 0.0),
        "strong_opioid": np.where(age >= 65, 0.02, 0.0) * boost,
    }
    for cls, chance in background.items():
        give(np.flatnonzero(rng.random(n) < chance), cls)
    # PINCER G: non-selective beta-blocker (propranolol for migraine/anxiety) in a few asthmatics
    give(np.flatnonzero(people.cond("asthma") & (rng.random(n) < 0.006)), "nsbb")
    give(np.flatnonzero(~people.cond("asthma") & adult & (rng.random(n) < 0.006)), "nsbb")

    pt = np.concatenate(pts)
    prod = np.concatenate(prods)
    return _safety_adjust(people, products, pt, prod, rng)


def _safety_adjust(people, products, pt, prod, rng):
    """Clinicians avoid most hazardous combinations, not all: thin them to plausible rates."""
    cls = products.drug_class[prod]
    # one product per class per patient
    class_id = np.unique(cls, return_inverse=True)[1]
    _, first = np.unique(pt.astype(np.int64) * 1000 + class_id, return_index=True)
    pt, prod, cls = pt[first], prod[first], cls[first]

    def on(c: str | tuple[str, ...]) -> np.ndarray:
        mask = np.zeros(people.n, bool)
        mask[pt[np.isin(cls, c)]] = True
        return mask

    oac = on(("doac", "warfarin"))
    risky = oac | people.cond("hf") | (people.ckd_stage >= 4) | people.cond("peptic_ulcer")
    drop = (cls == "nsaid") & risky[pt] & (rng.random(len(pt)) < 0.93)
    pt, prod, cls = pt[~drop], prod[~drop], cls[~drop]
    # Gastroprotection: most people 65+ on an NSAID (and most with an ulcer history on an
    # antiplatelet) also get a PPI; the rest are PINCER A/B/C hits.
    nsaid_old = on("nsaid") & (people.age >= 65) & ~on("ppi")
    ulcer_ap = people.cond("peptic_ulcer") & on(("aspirin", "antiplatelet")) & ~on("ppi")
    oac_ap = oac & on(("aspirin", "antiplatelet")) & ~on("ppi")
    protect = np.flatnonzero(
        (nsaid_old & (rng.random(people.n) < 0.6))
        | (ulcer_ap & (rng.random(people.n) < 0.8))
        | (oac_ap & (rng.random(people.n) < 0.7))
    )
    extra = _pick(products, "ppi", len(protect), rng)
    pt = np.concatenate([pt, protect])
    prod = np.concatenate([prod, extra])
    order = np.lexsort((prod, pt))
    return pt[order], prod[order]


def build_prescribing(people: People, products: Products, rng: np.random.Generator) -> Prescribing:
    pt, prod = _assign(people, products, rng)
    m = len(pt)
    interval = np.where(rng.random(m) < 0.4, 28, 56)
    inhaler = products.quantity[prod] <= 1
    interval[inhaler] = rng.choice([30, 60, 90], inhaler.sum())
    history = np.where(
        np.isin(products.drug_class[prod], LONG_HISTORY_CLASSES), HISTORY_DAYS, SHORT_HISTORY_DAYS
    )
    start_ago = np.where(rng.random(m) < 0.8, history, rng.integers(20, history))
    stopped = (rng.random(m) < 0.07) & (start_ago > 200)
    end_ago = np.where(stopped, rng.integers(100, 190, m), 0)
    last_ago = end_ago + rng.integers(0, interval)
    last_ago = np.minimum(last_ago, start_ago)
    k = (start_ago - last_ago) // interval + 1
    idx = np.repeat(np.arange(m), k)
    j = np.arange(len(idx)) - np.repeat(np.cumsum(k) - k, k)
    r_ago = last_ago[idx] + j * interval[idx] + rng.integers(-2, 3, len(idx))
    r_ago = np.clip(r_ago, 0, HISTORY_DAYS + 5)

    # Acute courses in the last year: antibiotics, short NSAID and steroid courses.
    age, n = people.age, people.n
    on_oac = np.zeros(n, bool)
    on_oac[pt[np.isin(products.drug_class[prod], ("doac", "warfarin"))]] = True
    # the same caution as for repeats: few NSAID courses where they are most hazardous
    caution = np.where(
        on_oac | people.cond("hf") | (people.ckd_stage >= 4) | people.cond("peptic_ulcer"),
        0.15,
        1.0,
    )
    rate = {
        "antibiotic": 0.45 * (1 + 0.5 * (age >= 65)) * np.sqrt(people.morbidity),
        "nsaid": np.where(age >= 18, np.where(age < 65, 0.06, 0.02), 0.0) * caution,
        "oral_steroid": 0.25 * (people.cond("asthma") | people.cond("copd")),
    }
    a_pt, a_prod = [], []
    for cls, lam in rate.items():
        count = rng.poisson(lam)
        who = np.repeat(np.arange(n), count)
        a_pt.append(who)
        a_prod.append(_pick(products, cls, len(who), rng))
    a_pt_all = np.concatenate(a_pt)
    a_prod_all = np.concatenate(a_prod)
    a_ago = rng.integers(0, 365, len(a_pt_all))

    i_pt = np.concatenate([pt[idx], a_pt_all])
    i_prod = np.concatenate([prod[idx], a_prod_all])
    i_ago = np.concatenate([r_ago, a_ago])
    i_acute = np.concatenate([np.zeros(len(idx), bool), np.ones(len(a_pt_all), bool)])
    order = np.lexsort((-i_ago, i_pt))
    return Prescribing(
        pt,
        prod,
        start_ago,
        last_ago,
        stopped,
        i_pt[order],
        i_prod[order],
        i_ago[order],
        i_acute[order],
    )
