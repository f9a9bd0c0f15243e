"""ICS entitlement finder: patients who pay for prescriptions but are probably exempt.

The paying population on ``as_of``: alive, aged 19 to 59 (16–18 may be exempt through full-time
education, which the record does not hold), with no exemption or prepayment certificate valid on
that day. Among them (one finding per criterion, each citing its rule):

- **turning 60 this month** — free from their 60th birthday "at the time the prescription is
  dispensed" (NHSBSA KA-25779);
- **a medical exemption condition on the record, no certificate** — NHSBSA "Which medical
  conditions entitle someone to a Medical exemption certificate?" (KA-03753 and the NHSBSA
  knowledge base 16084): *diabetes mellitus, except where treatment is by diet alone* (a diabetes
  diagnosis and a BNF 6.1 antidiabetic issued in the last 12 months); *myxoedema, that is
  hypothyroidism which needs thyroid hormone replacement* (BNF 6.2.1 thyroid hormones issued in the
  last 12 months); *epilepsy which needs continuous anticonvulsive therapy* (an epilepsy diagnosis
  and a BNF 4.8 antiepileptic issued at least twice in the last 6 months); *undergoing treatment
  for cancer* (a cancer diagnosis and a BNF 8.1 / 8.3 cancer medicine issued in the last 6
  months);
- **a prepayment certificate would cost less** — at £9.90 an item, a 3-month PPC at £32.05 or a
  12-month PPC at £114.50 (prescription charges from 1 May 2024, Department of Health and Social
  Care / NHSBSA; NHS: "you'll save money if you need more than 3 items in 3 months, or 11 items in
  12 months"): items issued in the last 3 months × £9.90 > £32.05, or in the last 12 months ×
  £9.90 > £114.50.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from ipmo.patients import Condition, MedicationIssue, Patient
from ipmo.prescriptions.models import ExemptionCertificate

CHARGE = Decimal("9.90")  # per item, England, from 1 May 2024
PPC_3_MONTHS = Decimal("32.05")
PPC_12_MONTHS = Decimal("114.50")
CHARGES_DATED = "prescription charges from 1 May 2024"
KA_03753 = "https://faq.nhsbsa.nhs.uk/knowledgebase/article/KA-03753/en-us"
KA_25779 = "https://faq.nhsbsa.nhs.uk/knowledgebase/article/KA-25779/en-us"
PPC_SOURCE = "https://www.nhs.uk/nhs-services/prescriptions/save-money-with-a-prescription-prepayment-certificate-ppc/"

DIABETES = ("73211009", "44054006", "46635009")  # diabetes mellitus, type 2, type 1
EPILEPSY = ("84757009",)
CANCER_TERMS = ("malignant", "cancer", "carcinoma", "lymphoma", "leukaemia", "myeloma", "sarcoma")


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True)
class Finding:
    nhs_number: str
    criterion: str
    reason: str
    source: str


def paying_population(as_of: date) -> ColumnElement[bool]:
    """SQL over :class:`Patient`: aged 19–59 on ``as_of``, alive, no certificate valid then."""
    return and_(
        Patient.birth_date > _years_before(as_of, 60),
        Patient.birth_date <= _years_before(as_of, 19),
        or_(Patient.date_of_death.is_(None), Patient.date_of_death > as_of),
        ~exists().where(
            ExemptionCertificate.nhs_number == Patient.nhs_number,
            ExemptionCertificate.valid_from <= as_of,
            ExemptionCertificate.valid_to >= as_of,
        ),
    )


def _bnf(prefixes: tuple[str, ...]) -> ColumnElement[bool]:
    return or_(*(MedicationIssue.bnf_code.like(f"{p}%") for p in prefixes))


def _count(condition: ColumnElement[bool]):
    return func.sum(case((condition, 1), else_=0))


def _diagnosed(codes: tuple[str, ...] = (), terms: tuple[str, ...] = ()) -> ColumnElement[bool]:
    match = [Condition.snomed_code.in_(codes)] if codes else []
    match += [func.lower(Condition.term).like(f"%{t}%") for t in terms]
    return or_(*match)


def find_entitlements(session: Session, as_of: date, where=None) -> list[Finding]:
    """Every finding on ``as_of`` for the paying population (``where``: the caller's access
    filter over :class:`Patient`), grouped by criterion.

    One pass over the last 12 months of GP issues (each patient's counts per criterion and
    window, by conditional sums) and one over conditions, joined to the paying population: the
    issues table is read once, not once per criterion (issue 16: the finder over the ICS)."""
    year, half, quarter = (as_of - timedelta(days=d) for d in (365, 182, 91))
    recent_half = MedicationIssue.issue_date > half
    issues = (
        select(
            MedicationIssue.patient_id,
            func.count().label("year"),
            _count(MedicationIssue.issue_date > quarter).label("quarter"),
            _count(_bnf(("0601",))).label("antidiabetic"),
            _count(_bnf(("0602010",))).label("thyroid"),
            _count(and_(_bnf(("0408",)), recent_half)).label("antiepileptic"),
            _count(and_(_bnf(("0801", "0803")), recent_half)).label("cancer"),
        )
        .where(MedicationIssue.issue_date > year, MedicationIssue.issue_date <= as_of)
        .group_by(MedicationIssue.patient_id)
        .subquery()
    )
    conditions = (
        select(
            Condition.patient_id,
            _count(_diagnosed(DIABETES, ("diabetes mellitus",))).label("diabetes"),
            _count(_diagnosed(EPILEPSY, ("epilep",))).label("epilepsy"),
            _count(_diagnosed(terms=CANCER_TERMS)).label("cancer"),
        )
        .group_by(Condition.patient_id)
        .subquery()
    )
    month_start = as_of.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    turning_60 = and_(
        Patient.birth_date >= _years_before(month_start, 60),
        Patient.birth_date < _years_before(next_month, 60),
    )
    query = (
        select(
            Patient.nhs_number,
            turning_60.label("turning_60"),
            issues.c.year,
            issues.c.quarter,
            issues.c.antidiabetic,
            issues.c.thyroid,
            issues.c.antiepileptic,
            issues.c.cancer,
            conditions.c.diabetes,
            conditions.c.epilepsy,
            conditions.c.cancer.label("cancer_diagnosed"),
        )
        .outerjoin(issues, issues.c.patient_id == Patient.id)
        .outerjoin(conditions, conditions.c.patient_id == Patient.id)
        .where(
            paying_population(as_of),
            or_(  # rows that may hold a finding (each is decided below, in one place)
                turning_60,
                and_(conditions.c.diabetes > 0, issues.c.antidiabetic > 0),
                issues.c.thyroid > 0,
                and_(conditions.c.epilepsy > 0, issues.c.antiepileptic >= 2),
                and_(conditions.c.cancer > 0, issues.c.cancer > 0),
                issues.c.year >= _items_above(PPC_12_MONTHS),
                issues.c.quarter >= _items_above(PPC_3_MONTHS),
            ),
        )
        .order_by(Patient.id)
    )
    if where is not None:
        query = query.where(where)
    by: dict[str, list[Finding]] = {c: [] for c in CRITERIA}
    for row in session.execute(query):
        number = row.nhs_number
        if row.turning_60:
            by["turning-60"].append(Finding(number, "turning-60", TURNING_60, KA_25779))
        if row.year is None:
            continue
        medical = (
            ("medex-diabetes", row.diabetes and row.antidiabetic),
            ("medex-hypothyroidism", row.thyroid),
            ("medex-epilepsy", row.epilepsy and row.antiepileptic >= 2),
            ("medex-cancer", row.cancer_diagnosed and row.cancer),
        )
        for criterion, holds in medical:
            if holds:
                by[criterion].append(Finding(number, criterion, MEDICAL[criterion], KA_03753))
        if ppc := _ppc(number, row.year, row.quarter or 0):
            by["ppc-cheaper"].append(ppc)
    return [f for criterion in CRITERIA for f in by[criterion]]


TURNING_60 = "turns 60 this month: free prescriptions from their birthday"
MEDICAL = {
    "medex-diabetes": (
        "diabetes mellitus treated with medicines (not diet alone), no medical exemption "
        "certificate"
    ),
    "medex-hypothyroidism": (
        "on thyroid hormone replacement (myxoedema), no medical exemption certificate"
    ),
    "medex-epilepsy": (
        "epilepsy on continuous anticonvulsive therapy, no medical exemption certificate"
    ),
    "medex-cancer": "undergoing treatment for cancer, no medical exemption certificate",
}
CRITERIA = ("turning-60", *MEDICAL, "ppc-cheaper")


def _items_above(price: Decimal) -> int:
    """The fewest items whose charges cost more than ``price``."""
    return int(price // CHARGE) + 1


def _ppc(number: str, items_year: int, items_quarter: int) -> Finding | None:
    cost_year, cost_quarter = CHARGE * items_year, CHARGE * items_quarter
    if not (cost_year > PPC_12_MONTHS or cost_quarter > PPC_3_MONTHS):
        return None
    ppc, cost = ("12-month", cost_year) if cost_year > PPC_12_MONTHS else ("3-month", cost_quarter)
    price = PPC_12_MONTHS if ppc == "12-month" else PPC_3_MONTHS
    return Finding(
        number,
        "ppc-cheaper",
        f"{items_year} items in 12 months ({items_quarter} in 3): £{cost} in "
        f"charges against a {ppc} PPC at £{price} ({CHARGES_DATED})",
        PPC_SOURCE,
    )
