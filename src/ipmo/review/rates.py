"""The one home of the review rates, both derived from the ``IndicatorRate`` rows ``ipmo review
run`` writes (per practice and rule: patients the rule flagged, and its own denominator):

* :func:`rates` — each rule's rate within its own denominator, per practice or PCN, in percent
  (``/review/rates``, ``/api/review/rates``);
* :func:`practice_review_rates` — PINCER and SMR-cohort patients flagged per 1,000 registered
  patients, per practice (the analytics dashboard's ``/analytics/practice-review-rates``).

Both apply disclosure control (``ipmo.disclosure``) to every count before a rate is formed.

Inputs of the per-1,000 rates, both from the store (SQLAlchemy, SQLite or PostgreSQL):

* the review domain's ``IndicatorRate`` rows written by ``ipmo review run``: per practice and
  rule, ``numerator`` = patients the rule flagged (PINCER hazards: PRIMIS/OpenSAFELY logic;
  SMR cohorts: Network Contract DES criteria — see ``ipmo.review.rules``). The latest ``as_of``
  is used unless one is given;
* the registered list: patients with a practice who were alive on ``as_of`` (PINCER §1.2, the
  same population ``review.service.run`` evaluates).

Disclosure control (``ipmo.disclosure``: counts ≤ 7 withheld, others rounded to 5) is
applied to both counts *before* the rate is formed, and the rate is computed from the published
counts, so it never reveals more than they do. Nothing is stored: the rates are derived on read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields
from datetime import date

import pyarrow as pa
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ipmo.disclosure import disclose
from ipmo.organisations import Organisation
from ipmo.patients import Patient
from ipmo.review.models import IndicatorRate
from ipmo.review.rules import all_rules

GROUPINGS = ("practice", "pcn")

FAMILIES = ("pincer", "smr")
PER = 1000


@dataclass(frozen=True)
class PracticeRuleRate:
    practice: str
    practice_name: str
    rule_id: str
    family: str
    title: str
    as_of: date
    registered: int | None  # disclosed (None = withheld)
    flagged: int | None  # disclosed
    per_1000: float | None  # from the disclosed counts


def latest_as_of(session: Session) -> date | None:
    return session.scalar(select(func.max(IndicatorRate.as_of)))


def registered_patients(session: Session, as_of: date) -> dict[str, int]:
    """Practice → patients registered and alive on ``as_of`` (raw counts: do not publish)."""
    rows = session.execute(
        select(Patient.practice_code, func.count(Patient.id))
        .where(
            Patient.practice_code.is_not(None),
            or_(Patient.date_of_death.is_(None), Patient.date_of_death > as_of),
        )
        .group_by(Patient.practice_code)
    )
    return {practice: int(count) for practice, count in rows if practice is not None}


def indicator_totals(
    session: Session,
    as_of: date,
    org_of: Callable[[str | None], str | None] = lambda practice: practice,
    rule_ids: Iterable[str] | None = None,
) -> dict[tuple[str, str], tuple[int, int]]:
    """(organisation, rule id) → (denominator, numerator) summed over the ``IndicatorRate`` rows
    of ``as_of``; ``org_of`` maps a practice code to the organisation it counts in (raw counts:
    do not publish)."""
    query = select(IndicatorRate).where(IndicatorRate.as_of == as_of)
    if rule_ids is not None:
        query = query.where(IndicatorRate.rule_id.in_(list(rule_ids)))
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in session.scalars(query):
        t = totals[(org_of(r.practice_code) or "unknown", r.rule_id)]
        t[0] += r.denominator
        t[1] += r.numerator
    return {key: (d, n) for key, (d, n) in totals.items()}


def flagged_patients(session: Session, as_of: date, rule_ids: Iterable[str]) -> dict[tuple, int]:
    """(practice, rule id) → patients flagged on ``as_of`` (raw counts: do not publish)."""
    return {k: n for k, (_d, n) in indicator_totals(session, as_of, rule_ids=rule_ids).items()}


def rates(session: Session, group_by: str = "practice") -> list[dict]:
    """Latest rates per practice or PCN, each within its rule's own denominator, in percent,
    with disclosure control applied."""
    latest = latest_as_of(session)
    if latest is None:
        return []
    pcn = {
        o.ods_code: o.parent_code
        for o in session.scalars(select(Organisation).where(Organisation.kind == "practice"))
    }
    by_pcn = group_by != "practice"
    totals = indicator_totals(
        session, latest, (lambda p: pcn.get(p or "")) if by_pcn else (lambda p: p)
    )
    out = []
    for (org, rule_id), (d, n) in sorted(totals.items()):
        dd, nn = disclose(d), disclose(n)
        out.append(
            {
                "org": org,
                "rule_id": rule_id,
                "as_of": latest.isoformat(),
                "denominator": dd,
                "numerator": nn,
                "rate_percent": round(100 * nn / dd, 1) if dd and nn is not None else None,
            }
        )
    return out


def practice_review_rates(
    session: Session, as_of: date | None = None, families: Iterable[str] = FAMILIES
) -> list[PracticeRuleRate]:
    """One row per practice × PINCER indicator / SMR cohort, disclosure-controlled.

    Empty when ``ipmo review run`` has not run (no rates stored for any date).
    """
    as_of = as_of or latest_as_of(session)
    if as_of is None:
        return []
    families = tuple(families)
    unknown = sorted(set(families) - {r.family for r in all_rules()})
    if unknown:
        raise ValueError(f"unknown rule family {', '.join(unknown)}")
    rules = [r for r in all_rules() if r.kind == "flag" and r.family in families]
    registered = registered_patients(session, as_of)
    flagged = flagged_patients(session, as_of, [r.id for r in rules])
    names = dict(
        session.execute(
            select(Organisation.ods_code, Organisation.name).where(
                Organisation.ods_code.in_(list(registered))
            )
        ).all()
    )
    out: list[PracticeRuleRate] = []
    for practice in sorted(registered):
        listed = disclose(registered[practice])
        for rule in rules:
            count = disclose(flagged.get((practice, rule.id), 0))
            rate = round(PER * count / listed, 1) if listed and count is not None else None
            out.append(
                PracticeRuleRate(
                    practice=practice,
                    practice_name=names.get(practice, practice),
                    rule_id=rule.id,
                    family=rule.family,
                    title=rule.title,
                    as_of=as_of,
                    registered=listed,
                    flagged=count,
                    per_1000=rate,
                )
            )
    return out


# PracticeRuleRate's field types (as annotated) → Arrow's: the table's columns are its fields.
_ARROW_TYPES = {
    "str": pa.string(),
    "date": pa.date32(),
    "int | None": pa.int64(),
    "float | None": pa.float64(),
}


def rates_table(rows: Iterable[PracticeRuleRate]) -> pa.Table:
    """The rows as an Arrow table (for CSV/Parquet export or the dashboard)."""
    schema = pa.schema([(f.name, _ARROW_TYPES[str(f.type)]) for f in fields(PracticeRuleRate)])
    return pa.Table.from_pylist([asdict(r) for r in rows], schema=schema)
