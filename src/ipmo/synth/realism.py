"""The realism report: each generated rate beside its published target, with a tolerance.

Computed from the generated arrays (before loading), so it costs seconds even at ICS size.
PINCER rows use the indicator definitions of ``shared/clinical/RULES.md`` §1.3, simplified to the
generated drug classes; their targets are *plausibility bands* (the national figures are not in
the stored corpus), named as such.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ipmo.synth import targets as T

PINCER_SOURCE = (
    "plausibility band (Fisher L et al., BMJ Medicine 2023;2:e000392, OpenSAFELY "
    "PINCER; national figures not in the stored corpus)"
)


@dataclass(frozen=True)
class RealismRow:
    measure: str
    generated: float
    target: float | None
    low: float | None
    high: float | None
    source: str
    unit: str = "%"

    @property
    def passed(self) -> bool | None:
        if self.low is None or self.high is None:
            return None
        return self.low <= self.generated <= self.high

    @property
    def tolerance(self) -> str:
        if self.low is None or self.high is None:
            return "—"
        return f"{self.low:.2f}–{self.high:.2f}"


def _pct(num: np.ndarray, denom: np.ndarray) -> float:
    d = denom.sum()
    return 100.0 * (num & denom).sum() / d if d else 0.0


def _rel(measure, generated, target, rel, source) -> RealismRow:
    return RealismRow(measure, generated, target, target * (1 - rel), target * (1 + rel), source)


def realism_rows(people, presc, products, labs) -> list[RealismRow]:
    n = people.n
    age = people.age
    everyone = np.ones(n, bool)
    rows = [
        RealismRow("Aged 65 and over", _pct(age >= 65, everyone), 18.7, 17.2, 20.2, T.ONS_SOURCE),
        RealismRow("Female", _pct(people.female, everyone), 50.7, 49.2, 52.2, T.ONS_SOURCE),
        RealismRow(
            "Living in a care home",
            _pct(people.care_home >= 0, everyone),
            100 * T.CARE_HOME_SHARE,
            0.55,
            0.85,
            T.CARE_HOME_SOURCE,
        ),
    ]
    for i, c in enumerate(T.CONDITIONS):
        denom = age >= c.denominator_age
        label = f"{c.term} ({c.denominator_age}+)" if c.denominator_age else c.term
        rows.append(
            _rel(label, _pct(people.has[:, i], denom), 100 * c.prevalence, c.tolerance, c.source)
        )

    count = medicines_count(n, presc, products)
    rows.append(
        RealismRow(
            "Taking 5+ medicines",
            _pct(count >= 5, everyone),
            100 * T.POLY_5_PLUS,
            11.0,
            19.0,
            T.POLYPHARMACY_SOURCE,
        )
    )
    rows.append(
        RealismRow(
            "Taking 8+ medicines",
            _pct(count >= 8, everyone),
            100 * T.POLY_8_PLUS,
            4.5,
            9.5,
            T.POLYPHARMACY_SOURCE,
        )
    )
    rows.append(
        RealismRow(
            "Adults taking 10+ medicines (SMR cohort)",
            _pct(count >= 10, age >= 18),
            100 * T.POLY_10_PLUS_ADULTS,
            4.3,
            7.3,
            T.POLY_10_SOURCE,
        )
    )
    rows.extend(_pincer_rows(people, presc, products, labs))
    return rows


# NHSBSA polypharmacy comparators count BNF chapters 1-4 and 6-10 (no anti-infectives, no
# eye/skin/devices): shared/clinical/RULES.md §4.2. Products lacking a BNF code use their class.
COUNTED_CHAPTERS = {"01", "02", "03", "04", "06", "07", "08", "09", "10"}
CHAPTER_OF_CLASS = {"amiodarone": "02", "lithium": "04"}


def medicines_count(n: int, presc, products) -> np.ndarray:
    """Distinct medicines (products) issued to each person in the last 3 months, repeat or
    acute, in the counted BNF chapters."""
    chapter = np.array(
        [
            b[:2] if b else CHAPTER_OF_CLASS.get(c, "")
            for b, c in zip(products.bnf.tolist(), products.drug_class.tolist(), strict=True)
        ]
    )
    counted = np.isin(chapter, list(COUNTED_CHAPTERS))[presc.i_prod]
    recent = (presc.i_ago <= 90) & counted
    key = np.unique(presc.i_pt[recent].astype(np.int64) * 1000 + presc.i_prod[recent])
    return np.bincount(key // 1000, minlength=n)


def _pincer_rows(people, presc, products, labs) -> list[RealismRow]:
    n = people.n
    cls = products.drug_class[presc.i_prod]

    def issued(classes, lo, hi):
        mask = np.zeros(n, bool)
        sel = np.isin(cls, classes) & (presc.i_ago >= lo) & (presc.i_ago <= hi)
        mask[presc.i_pt[sel]] = True
        return mask

    def tested(kinds, within):
        mask = np.zeros(n, bool)
        for pts, kind, ago in zip(labs.pt, labs.kind, labs.ago, strict=True):
            if kind in kinds:
                mask[pts[ago <= within]] = True
        return mask

    nsaid, ppi = issued(("nsaid",), 0, 90), issued(("ppi",), 0, 90)
    oac = issued(("doac", "warfarin"), 0, 90)
    age = people.age
    rows = []

    def band(label, num, denom, lo, hi):
        rows.append(RealismRow(f"PINCER {label}", _pct(num, denom), None, lo, hi, PINCER_SOURCE))

    band("A: 65+, NSAID without gastroprotection", nsaid, (age >= 65) & ~ppi, 0.3, 3.0)
    band("D: anticoagulant and NSAID", nsaid, oac, 0.2, 3.0)
    band(
        "G: asthma and non-selective beta-blocker",
        issued(("nsbb",), 0, 90),
        people.cond("asthma"),
        0.1,
        1.5,
    )
    band("I: heart failure and NSAID", nsaid, people.cond("hf"), 0.2, 3.0)
    mtx = issued(("methotrexate",), 90, 180) & issued(("methotrexate",), 0, 90)
    band("ME: methotrexate without FBC", ~tested(("haemoglobin", "wbc"), 90), mtx, 3.0, 40.0)
    li = issued(("lithium",), 90, 180) & issued(("lithium",), 0, 90)
    band("LI: lithium without level", ~tested(("lithium",), 90), li, 3.0, 40.0)
    am = issued(("amiodarone",), 180, 365) & issued(("amiodarone",), 0, 180)
    band("AM: amiodarone without TFT", ~tested(("tsh",), 180), am, 5.0, 45.0)
    long_term = (issued(("acei",), 450, 10_000) & issued(("acei",), 0, 180)) | (
        issued(("loop",), 450, 10_000) & issued(("loop",), 0, 180)
    )
    no_check = ~tested(("creatinine", "egfr"), 450) | ~tested(("potassium",), 450)
    band("AC: 75+ on ACEi/loop without U&E", no_check, (age >= 75) & long_term, 2.0, 25.0)
    return rows
