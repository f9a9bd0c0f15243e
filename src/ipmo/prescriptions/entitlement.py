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

from sqlalchemy import ColumnElement, Integer, and_, exists, func, or_, select
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


def _issued(prefixes: tuple[str, ...], since: date, as_of: date, at_least: int = 1):
    """Patient ids with at least ``at_least`` issues of BNF codes starting ``prefixes``."""
    return (
        select(MedicationIssue.patient_id)
        .where(
            or_(*(MedicationIssue.bnf_code.like(f"{p}%") for p in prefixes)),
            MedicationIssue.issue_date > since,
            MedicationIssue.issue_date <= as_of,
        )
        .group_by(MedicationIssue.patient_id)
        .having(func.count() >= at_least)
    )


def _diagnosed(codes: tuple[str, ...] = (), terms: tuple[str, ...] = ()):
    match = [Condition.snomed_code.in_(codes)] if codes else []
    match += [func.lower(Condition.term).like(f"%{t}%") for t in terms]
    return select(Condition.patient_id).where(or_(*match))


def find_entitlements(session: Session, as_of: date, where=None) -> list[Finding]:
    """Every finding on ``as_of`` for the paying population (``where``: the caller's access
    filter over :class:`Patient`)."""
    base = select(Patient.id, Patient.nhs_number, Patient.birth_date).where(
        paying_population(as_of)
    )
    if where is not None:
        base = base.where(where)
    year, half, quarter = (as_of - timedelta(days=d) for d in (365, 182, 91))
    findings: list[Finding] = []

    def add(criterion, query, reason, source):
        for _, number, *_ in session.execute(query).all():
            findings.append(Finding(number, criterion, reason, source))

    month_start = as_of.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    add(
        "turning-60",
        base.where(
            Patient.birth_date >= _years_before(month_start, 60),
            Patient.birth_date < _years_before(next_month, 60),
        ),
        "turns 60 this month: free prescriptions from their birthday",
        KA_25779,
    )
    medical = [
        (
            "medex-diabetes",
            and_(
                Patient.id.in_(_diagnosed(DIABETES, ("diabetes mellitus",))),
                Patient.id.in_(_issued(("0601",), year, as_of)),
            ),
            "diabetes mellitus treated with medicines (not diet alone), no medical exemption "
            "certificate",
        ),
        (
            "medex-hypothyroidism",
            Patient.id.in_(_issued(("0602010",), year, as_of)),
            "on thyroid hormone replacement (myxoedema), no medical exemption certificate",
        ),
        (
            "medex-epilepsy",
            and_(
                Patient.id.in_(_diagnosed(EPILEPSY, ("epilep",))),
                Patient.id.in_(_issued(("0408",), half, as_of, at_least=2)),
            ),
            "epilepsy on continuous anticonvulsive therapy, no medical exemption certificate",
        ),
        (
            "medex-cancer",
            and_(
                Patient.id.in_(_diagnosed(terms=CANCER_TERMS)),
                Patient.id.in_(_issued(("0801", "0803"), half, as_of)),
            ),
            "undergoing treatment for cancer, no medical exemption certificate",
        ),
    ]
    for criterion, condition, reason in medical:
        add(criterion, base.where(condition), reason, KA_03753)
    counts = (
        select(
            MedicationIssue.patient_id,
            func.count().label("year"),
            func.sum((MedicationIssue.issue_date > quarter).cast(Integer)).label("quarter"),
        )
        .where(MedicationIssue.issue_date > year, MedicationIssue.issue_date <= as_of)
        .group_by(MedicationIssue.patient_id)
        .subquery()
    )
    rows = session.execute(
        base.add_columns(counts.c.year, counts.c.quarter).join(
            counts, counts.c.patient_id == Patient.id
        )
    ).all()
    for _, number, _, items_year, items_quarter in rows:
        cost_year, cost_quarter = CHARGE * items_year, CHARGE * (items_quarter or 0)
        if cost_year > PPC_12_MONTHS or cost_quarter > PPC_3_MONTHS:
            ppc, cost = (
                ("12-month", cost_year) if cost_year > PPC_12_MONTHS else ("3-month", cost_quarter)
            )
            price = PPC_12_MONTHS if ppc == "12-month" else PPC_3_MONTHS
            findings.append(
                Finding(
                    number,
                    "ppc-cheaper",
                    f"{items_year} items in 12 months ({items_quarter or 0} in 3): £{cost} in "
                    f"charges against a {ppc} PPC at £{price} ({CHARGES_DATED})",
                    PPC_SOURCE,
                )
            )
    return findings
