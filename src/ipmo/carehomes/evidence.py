"""What the store holds behind the findings, for many residents at once (no access checks here:
``actions.py`` checks and audits before calling, and a hook caller has checked its patients).

For each resident: the administrations of the look-back window, the PRN medicines the eMAR has
marked (started at the first PRN dose), the best-interests decisions in force and whether the
GP record holds a dementia diagnosis (the review domain's ``dementia`` code set).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ipmo.carehomes.administrations import ROW_FIELDS, Administration
from ipmo.carehomes.findings import LOOKBACK, Finding, all_findings
from ipmo.carehomes.models import AdministrationRow, BestInterestsDecision
from ipmo.patients import Condition, Patient
from ipmo.review import codelist

_STORED = [c for c in ROW_FIELDS if c != "nhs_number"]


def _naive(as_of: datetime) -> datetime:
    return as_of.astimezone(UTC).replace(tzinfo=None)


def best_interests_in_force(
    session: Session, patient_ids: Sequence[int], on: date
) -> dict[int, set[str]]:
    t = BestInterestsDecision
    rows = session.execute(
        select(t.patient_id, t.medicine_code).where(
            t.patient_id.in_(patient_ids), t.decided_on <= on, t.review_by >= on
        )
    )
    out: dict[int, set[str]] = defaultdict(set)
    for pid, code in rows:
        out[pid].add(code)
    return out


def with_dementia(session: Session, patient_ids: Sequence[int], on: date) -> set[int]:
    rows = session.scalars(
        select(Condition.patient_id).where(
            Condition.patient_id.in_(patient_ids),
            Condition.snomed_code.in_(codelist("dementia")),
            (Condition.onset_date.is_(None)) | (Condition.onset_date <= on),
            (Condition.resolved_date.is_(None)) | (Condition.resolved_date > on),
        )
    )
    return set(rows)


def findings_for(
    session: Session, patient_ids: Sequence[int], as_of: datetime
) -> dict[int, list[Finding]]:
    """Every finding for each of these residents over the look-back window to ``as_of``."""
    since = _naive(as_of) - LOOKBACK
    t = AdministrationRow
    nhs = {
        pid: number
        for pid, number in session.execute(
            select(Patient.id, Patient.nhs_number).where(Patient.id.in_(patient_ids))
        )
    }
    admins: dict[int, list[Administration]] = defaultdict(list)
    rows = session.execute(
        select(t.patient_id, *(getattr(t, c) for c in _STORED))
        .where(
            t.patient_id.in_(patient_ids),
            # the round index finds the window; a dose is never given a day before its round
            t.dose_round > since - timedelta(days=1),
            t.at > since,
        )
        .order_by(t.patient_id, t.at)
    )
    for pid, ident, *rest in rows:
        admins[pid].append(Administration.from_row((ident, nhs[pid], *rest)))
    prn: dict[int, dict[str, tuple[str, date]]] = defaultdict(dict)
    first_prn = session.execute(
        select(t.patient_id, t.medicine_code, func.min(t.medicine_name), func.min(t.at))
        .where(t.patient_id.in_(patient_ids), t.prn.is_(True))
        .group_by(t.patient_id, t.medicine_code)
    )
    for pid, code, name, first in first_prn:
        prn[pid][code] = (name, first.date())
    on = as_of.date()
    decisions = best_interests_in_force(session, patient_ids, on)
    dementia = with_dementia(session, patient_ids, on)
    return {
        pid: all_findings(
            admins.get(pid, []), as_of, prn.get(pid, {}), decisions.get(pid, set()), pid in dementia
        )
        for pid in patient_ids
    }


def worklist_reasons(
    session: Session, as_of: date, patient_ids: Sequence[int] | None = None
) -> dict[int, list[tuple[str, str]]]:
    """For the review domain (hook ``REVIEW_FINDINGS``): per care-home resident with findings
    on ``as_of`` — every resident with administrations in the window, or only ``patient_ids``
    — (rule id ``carehomes.<rule>``, reason shown to the pharmacist)."""
    when = datetime(as_of.year, as_of.month, as_of.day, 23, 59, tzinfo=UTC)
    since = _naive(when) - LOOKBACK
    query = select(AdministrationRow.patient_id).where(AdministrationRow.dose_round > since)
    if patient_ids is not None:
        query = query.where(AdministrationRow.patient_id.in_(patient_ids))
    residents = list(session.scalars(query.distinct()))
    out: dict[int, list[tuple[str, str]]] = {}
    for pid, found in findings_for(session, residents, when).items():
        if found:
            out[pid] = [
                (f"carehomes.{f.rule}", f"eMAR: {f.summary} — {f.medicine_name}") for f in found
            ]
    return out
