"""Published figures the synthetic ICS is calibrated to, each with its source.

Every number here is a *target*: the generator draws patients so that the population rate lands
near it, and the realism report (:mod:`ipmo.synth.realism`) prints the generated rate beside it with
a stated tolerance. Figures are rounded; they are for realism, not for analysis.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# --- Age and sex -------------------------------------------------------------------------------
# ONS, "Population estimates for England and Wales: mid-2022" (England, 5-year bands, thousands,
# both sexes, rounded) and the female share of each band from the same release (rounded).
ONS_SOURCE = "ONS mid-2022 population estimates, England"
AGE_BANDS = [
    (0, 4),
    (5, 9),
    (10, 14),
    (15, 19),
    (20, 24),
    (25, 29),
    (30, 34),
    (35, 39),
    (40, 44),
    (45, 49),
    (50, 54),
    (55, 59),
    (60, 64),
    (65, 69),
    (70, 74),
    (75, 79),
    (80, 84),
    (85, 89),
    (90, 99),
]
AGE_BAND_THOUSANDS = [
    3200,
    3450,
    3500,
    3250,
    3500,
    3800,
    3950,
    3850,
    3650,
    3500,
    3900,
    3900,
    3400,
    2900,
    2850,
    2200,
    1400,
    850,
    550,
]
FEMALE_SHARE = [
    0.488,
    0.488,
    0.488,
    0.487,
    0.495,
    0.503,
    0.505,
    0.507,
    0.506,
    0.507,
    0.508,
    0.508,
    0.510,
    0.515,
    0.525,
    0.540,
    0.560,
    0.600,
    0.680,
]


@dataclass(frozen=True)
class ConditionTarget:
    """A long-term condition: its register code, published prevalence and how risk varies.

    ``age_risk`` gives relative risk per 5-year band (same bands as :data:`AGE_BANDS`); the
    generator scales it so the rate over ``min_age``+ equals ``prevalence``. ``depends`` multiplies
    the risk for people who already have another condition (comorbidity clustering).
    """

    key: str
    snomed: str
    term: str
    prevalence: float
    min_age: int
    source: str
    age_risk: tuple[float, ...]
    female_rr: float = 1.0
    depends: dict[str, float] = field(default_factory=dict)
    tolerance: float = 0.15  # relative tolerance in the realism report
    # QOF publishes most prevalences over the whole list (all ages) even when the register has an
    # age floor; ``denom_age`` is the age floor of the published denominator (None: min_age).
    denom_age: int | None = 0

    @property
    def denominator_age(self) -> int:
        return self.min_age if self.denom_age is None else self.denom_age


def _rise(start: int, steep: float, cap: float = 60.0) -> tuple[float, ...]:
    """Relative risk rising from the band of age ``start`` exponentially (chronic disease)."""
    out = []
    for lo, _hi in AGE_BANDS:
        out.append(0.0 if lo < start else min(cap, steep ** ((lo - start) / 10)))
    return tuple(out)


QOF = "NHS Digital, Quality and Outcomes Framework 2022-23, England prevalence"
# Conditions in dependency order: a condition may depend only on those above it.
CONDITIONS: list[ConditionTarget] = [
    ConditionTarget(
        "hypertension",
        "59621000",
        "Essential hypertension",
        0.144,
        0,
        f"{QOF} (HYP, all ages)",
        _rise(20, 2.3, 40),
        0.95,
    ),
    ConditionTarget(
        "diabetes",
        "44054006",
        "Diabetes mellitus type 2",
        0.075,
        17,
        f"{QOF} (DM, 17+)",
        _rise(20, 1.9, 12),
        0.8,
        {"hypertension": 2.0},
        denom_age=None,
    ),
    ConditionTarget(
        "asthma",
        "195967001",
        "Asthma",
        0.065,
        6,
        f"{QOF} (AST)",
        tuple([0.0, 0.8] + [1.0] * 17),
        1.2,
    ),
    ConditionTarget(
        "copd",
        "13645005",
        "Chronic obstructive lung disease",
        0.019,
        35,
        f"{QOF} (COPD)",
        _rise(35, 2.2, 30),
        0.95,
    ),
    ConditionTarget(
        "chd",
        "53741008",
        "Coronary arteriosclerosis",
        0.030,
        30,
        f"{QOF} (CHD)",
        _rise(35, 2.6, 60),
        0.55,
        {"hypertension": 1.8, "diabetes": 1.8},
    ),
    ConditionTarget(
        "stroke",
        "230690007",
        "Cerebrovascular accident",
        0.018,
        30,
        f"{QOF} (STIA)",
        _rise(35, 2.6, 60),
        0.9,
        {"hypertension": 1.8},
    ),
    ConditionTarget(
        "af",
        "49436004",
        "Atrial fibrillation",
        0.021,
        30,
        f"{QOF} (AF)",
        _rise(40, 3.0, 120),
        0.8,
        {"hypertension": 1.5},
    ),
    ConditionTarget(
        "hf",
        "84114007",
        "Heart failure",
        0.010,
        30,
        f"{QOF} (HF)",
        _rise(45, 3.0, 120),
        0.8,
        {"chd": 3.0, "af": 3.0},
    ),
    ConditionTarget(
        "ckd",
        "433144002",
        "Chronic kidney disease stage 3",
        0.040,
        18,
        f"{QOF} (CKD stages 3-5, 18+)",
        _rise(40, 3.0, 150),
        1.2,
        {"hypertension": 2.0, "diabetes": 1.8, "hf": 1.5},
        denom_age=None,
    ),
    ConditionTarget(
        "depression",
        "35489007",
        "Depressive disorder",
        0.132,
        18,
        f"{QOF} (DEP, 18+, recorded since 2006)",
        tuple([0.0] * 3 + [0.6] + [1.0] * 15),
        1.7,
        denom_age=None,
    ),
    ConditionTarget(
        "dementia",
        "52448006",
        "Dementia",
        0.0075,
        40,
        f"{QOF} (DEM)",
        _rise(60, 4.5, 400),
        1.3,
        tolerance=0.2,
    ),
    ConditionTarget(
        "hypothyroidism",
        "40930008",
        "Hypothyroidism",
        0.035,
        18,
        "NHS Digital QOF 2013-14 (THY, last year on QOF)",
        _rise(20, 1.6, 8),
        4.0,
    ),
    ConditionTarget(
        "ra",
        "69896004",
        "Rheumatoid arthritis",
        0.0077,
        16,
        f"{QOF} (RA, 16+)",
        _rise(25, 1.5, 6),
        2.5,
        tolerance=0.2,
        denom_age=None,
    ),
    ConditionTarget(
        "smi",
        "58214004",
        "Schizophrenia",
        0.0096,
        16,
        f"{QOF} (MH register)",
        tuple([0.0] * 3 + [0.6] + [1.0] * 11 + [0.7] * 4),
        0.9,
        tolerance=0.2,
    ),
    ConditionTarget(
        "epilepsy",
        "84757009",
        "Epilepsy",
        0.008,
        18,
        f"{QOF} (EP, 18+)",
        tuple([0.0] * 3 + [1.0] * 16),
        1.0,
        tolerance=0.2,
        denom_age=None,
    ),
    ConditionTarget(
        "gout",
        "90560007",
        "Gout",
        0.025,
        18,
        "Kuo CF et al. Rising burden of gout in the UK, Ann Rheum Dis 2015 (2.49%)",
        _rise(30, 1.8, 12),
        0.3,
        {"ckd": 2.0, "hypertension": 1.5},
        tolerance=0.2,
        denom_age=None,
    ),
    ConditionTarget(
        "osteoarthritis",
        "396275006",
        "Osteoarthritis",
        0.10,
        45,
        "Versus Arthritis, State of Musculoskeletal Health 2023 (diagnosed OA, 45+; approximate)",
        _rise(45, 1.6, 8),
        1.4,
        tolerance=0.25,
        denom_age=None,
    ),
    ConditionTarget(
        "peptic_ulcer",
        "13200003",
        "Peptic ulcer",
        0.02,
        30,
        "Generator assumption: history of peptic ulcer (no register); drives PINCER B/C",
        _rise(30, 1.5, 8),
        0.8,
        tolerance=0.25,
        denom_age=None,
    ),
]
CONDITION_INDEX = {c.key: i for i, c in enumerate(CONDITIONS)}

# Bipolar disorder is coded for a third of the SMI register (lithium candidates).
BIPOLAR_SNOMED, BIPOLAR_TERM = "13746004", "Bipolar disorder"

# --- Care homes ---------------------------------------------------------------------------------
CARE_HOME_SHARE = 0.007
CARE_HOME_SOURCE = "ONS Census 2021, care home residents in England (~0.7% of the population)"
# Relative chance of living in a care home by age band (ONS Census 2021: most residents 80+).
CARE_HOME_AGE_RR = [0] * 13 + [1, 2, 6, 16, 40, 90]

# --- Polypharmacy -------------------------------------------------------------------------------
POLYPHARMACY_SOURCE = (
    "DHSC, Good for you, good for us, good for everybody: national overprescribing review (2021)"
)
POLY_5_PLUS = 0.15  # "15% of people take five or more medicines a day"
POLY_8_PLUS = 0.07  # "7% take eight or more"
POLY_10_PLUS_ADULTS = 0.058  # adults dispensed 10+ distinct drugs in 84 days, Tayside 2010
POLY_10_SOURCE = (
    "Guthrie B et al., The rising tide of polypharmacy, BMC Medicine 2015;13:74 (adults, 10+ drugs)"
)
