"""Care-home staff who administer medicines: training, annual competency and medication
incidents (NICE SC1 "Managing medicines in care homes", 2014, section 1.18 "Training and
competency": staff who administer medicines have the training, and an assessment of their
competence at least annually; section 1.5 "Reporting medicines-related problems": incidents
recorded and reported).

Competency is due 12 months after the last assessment (SC1's "at least annually"); it is
*due soon* in the last 30 days (ipmo's choice, one monthly rota) and *overdue* after. Incident
categories follow the NRLS medication incident stages and the harm levels are the NRLS degrees
of harm (NHS England, National Reporting and Learning System).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ipmo.carehomes.models import CarehomeStaff, MedicationIncident, StaffTraining

COMPETENCY_VALID = timedelta(days=365)
DUE_SOON = timedelta(days=30)
TRAINING, COMPETENCY = "training", "competency"
CATEGORIES = (
    "omitted dose",
    "wrong dose",
    "wrong medicine",
    "wrong resident",
    "wrong time",
    "wrong route",
    "storage",
    "recording",
    "other",
)
HARM = ("no harm", "low harm", "moderate harm", "severe harm", "death")


@dataclass(frozen=True)
class Competency:
    staff_id: int
    name: str
    job_title: str
    trained_on: date | None
    assessed_on: date | None
    due_on: date | None
    status: str  # "in date" | "due soon" | "overdue" | "never assessed"


def status_on(assessed_on: date | None, today: date) -> tuple[date | None, str]:
    if assessed_on is None:
        return None, "never assessed"
    due = assessed_on + COMPETENCY_VALID
    if due < today:
        return due, "overdue"
    if due - today <= DUE_SOON:
        return due, "due soon"
    return due, "in date"


def competencies(session: Session, homes: list[str], today: date) -> dict[str, list[Competency]]:
    """Each active member of staff per home with their last training, last assessment and
    the competency status on ``today``."""
    last = {
        (sid, kind): when
        for sid, kind, when in session.execute(
            select(StaffTraining.staff_id, StaffTraining.kind, func.max(StaffTraining.completed_on))
            .where(StaffTraining.completed_on <= today)
            .group_by(StaffTraining.staff_id, StaffTraining.kind)
        )
    }
    out: dict[str, list[Competency]] = {h: [] for h in homes}
    for s in session.scalars(
        select(CarehomeStaff)
        .where(CarehomeStaff.care_home_code.in_(homes), CarehomeStaff.active.is_(True))
        .order_by(CarehomeStaff.name)
    ):
        assessed = last.get((s.id, COMPETENCY))
        due, status = status_on(assessed, today)
        out[s.care_home_code].append(
            Competency(s.id, s.name, s.job_title, last.get((s.id, TRAINING)), assessed, due, status)
        )
    return out


def incidents_by_harm(
    session: Session, homes: list[str], since: date, until: date
) -> dict[str, dict[str, int]]:
    rows = session.execute(
        select(MedicationIncident.care_home_code, MedicationIncident.harm, func.count())
        .where(
            MedicationIncident.care_home_code.in_(homes),
            MedicationIncident.occurred_on > since,
            MedicationIncident.occurred_on <= until,
        )
        .group_by(MedicationIncident.care_home_code, MedicationIncident.harm)
    )
    out: dict[str, dict[str, int]] = {h: {} for h in homes}
    for home, harm, n in rows:
        out[home][harm] = n
    return out
