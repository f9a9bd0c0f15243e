"""Discharge Medicines Service: the discharge list compared with what the community sees.

NHS England DMS toolkit (PAR366), stage 1 (within 72 hours): the community pharmacist does a
clinical check of the discharge medicines, *compares them with the medicines the patient was taking
before admission* and checks queued prescriptions. ../shared/fhir/STANDARDS.md §4.4.

The "before admission" list is, when the patient has a One Medication Record (issue 5: "the
discharge medication list ... is reconciled against the One Medication Record when both exist"),
its reconciled current list at the referral date (``ipmo.records.service.current_medications``);
otherwise the current GP repeat medication (``MedicationIssue`` rows of type repeat issued in the
``LOOKBACK`` before the referral). The comparison (:func:`reconcile`) is the same for both.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.patients.models import MedicationIssue
from ipmo.referrals.models import Referral

LOOKBACK = timedelta(days=183)  # six months: a repeat not issued in that time is not "current"


@dataclass(frozen=True)
class Line:
    name: str
    dmd_code: str | None = None
    dose_text: str | None = None
    change: str | None = None  # discharge lines only: started | stopped | changed | unchanged
    codes: tuple[str, ...] = ()  # community lines: every other code the medicine is known by


@dataclass(frozen=True)
class Finding:
    name: str
    kind: str  # one of FINDINGS
    action: str
    discharge_dose: str | None = None
    community_dose: str | None = None


FINDINGS = {
    "stopped-still-on-repeat": "Stopped in hospital but still on the GP repeat list: ask the "
    "practice to stop it and remove it from any queued prescriptions",
    "changed-dose": "Changed in hospital: ask the practice to update the repeat",
    "new": "Started in hospital: ask the practice to add it; check supply",
    "started-already-on-repeat": "Started in hospital but already on the GP list: possible "
    "duplicate; check with the hospital",
    "continued-not-on-repeat": "Continued at discharge but not on the GP list: check with the "
    "practice",
    "missing-from-discharge": "On the GP list but not mentioned at discharge: was it stopped?",
    "confirmed": "Same in both lists",
}


def _key(line: Line) -> str:
    if line.dmd_code:
        return "dmd:" + line.dmd_code
    return "name:" + " ".join(line.name.lower().split()[:2])


def reconcile(discharge: list[Line], community: list[Line]) -> list[Finding]:
    """Pure comparison of the discharge list with the pre-admission (GP) list."""
    gp = {_key(c): c for c in community}
    by_code = {"dmd:" + code: c for c in community for code in c.codes}
    by_name = {"name:" + " ".join(c.name.lower().split()[:2]): c for c in community}
    seen: set[str] = set()
    out: list[Finding] = []
    for d in discharge:
        c = (
            gp.get(_key(d))
            or by_code.get(_key(d))
            or by_name.get("name:" + " ".join(d.name.lower().split()[:2]))
        )
        if c is not None:
            seen.add(_key(c))
        if d.change == "stopped":
            kind = "stopped-still-on-repeat" if c else None
        elif d.change == "started":
            kind = "started-already-on-repeat" if c else "new"
        elif d.change == "changed":
            kind = "changed-dose" if c else "new"
        else:
            kind = "confirmed" if c else "continued-not-on-repeat"
        if kind is None:  # stopped and not on the GP list either: nothing to do
            continue
        out.append(Finding(d.name, kind, FINDINGS[kind], d.dose_text, c.dose_text if c else None))
    for key, c in gp.items():
        if key not in seen:
            kind = "missing-from-discharge"
            out.append(Finding(c.name, kind, FINDINGS[kind], None, c.dose_text))
    return out


def record_list(session: Session, ref: Referral) -> list[Line] | None:
    """The One Medication Record's current list at the referral date, or None without one."""
    from ipmo.records import current_medications

    if ref.patient_id is None:
        return None
    current = current_medications(session, ref.patient_id, ref.created_at.date())
    if current is None:
        return None
    return [Line(m.name, m.dmd_code, m.dose_text, codes=m.codes) for m in current]


def community_list(session: Session, ref: Referral) -> list[Line]:
    """GP repeat medication issued in the six months before the referral (the fallback)."""
    if ref.patient_id is None:
        return []
    since = (ref.created_at - LOOKBACK).date()
    rows = session.scalars(
        select(MedicationIssue)
        .where(
            MedicationIssue.patient_id == ref.patient_id,
            MedicationIssue.issue_type == "repeat",
            MedicationIssue.issue_date >= since,
            MedicationIssue.issue_date <= ref.created_at.date(),
        )
        .order_by(MedicationIssue.issue_date)
    )
    latest: dict[str, Line] = {}
    for r in rows:  # the newest issue of each product wins (its dose is current)
        latest[r.dmd_code] = Line(r.name, r.dmd_code, r.dose_text)
    return list(latest.values())


def reconcile_for(session: Session, ref: Referral) -> dict:
    discharge = [Line(d.name, d.dmd_code, d.dose_text, d.change) for d in ref.discharge_items]
    community = record_list(session, ref)
    compared_with = "one-medication-record"
    if community is None:
        community, compared_with = community_list(session, ref), "gp-repeat-medication"
    return {
        "reference": ref.reference,
        "compared_with": compared_with if community else None,
        "discharge_items": [
            {k: v for k, v in asdict(x).items() if k != "codes"} for x in discharge
        ],
        "findings": [asdict(f) for f in reconcile(discharge, community)] if community else [],
        "checked_at": ref.dms_checked_at.isoformat() if ref.dms_checked_at else None,
        "checked_by": ref.dms_checked_by,
    }
