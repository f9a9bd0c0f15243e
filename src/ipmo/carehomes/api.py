"""JSON API for care homes: a resident's findings from their eMAR administrations.

Access through the policy (``check_patient_access`` inside the action: care-home staff see only
their own home's residents) and audited.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from sqlalchemy.orm import Session

from ipmo.carehomes import actions
from ipmo.carehomes.actions import resident_findings
from ipmo.carehomes.schemas import (
    Created,
    FindingOut,
    IncidentIn,
    ResidentFindings,
    StaffIn,
    TrainingIn,
)
from ipmo.carehomes.staff import Competency
from ipmo.security import Activity, Principal
from ipmo.web.deps import db_session, require
from ipmo.web.params import DB_INT_MAX

router = APIRouter(tags=["carehomes"])
# every route: a signed-in user who may view records (the actions narrow it), one unit of work
USER = Depends(require(Activity.RECORD_VIEW))
DB = Depends(db_session, scope="function")


@router.get("/api/carehomes/residents/{nhs_number}/findings", response_model=ResidentFindings)
def findings(
    nhs_number: str,
    as_of: datetime | None = Query(None, description="ISO date-time with zone; default now"),
    principal: Principal = USER,
    session: Session = DB,
) -> ResidentFindings:
    when = as_of or datetime.now(UTC)
    if when.tzinfo is None:
        raise HTTPException(422, "as_of needs a time zone (e.g. 2026-03-15T20:00:00Z)")
    found = resident_findings(session, principal, nhs_number, when)
    return ResidentFindings(
        as_of=when.isoformat(),
        findings=[FindingOut.model_validate(f, from_attributes=True) for f in found],
    )


# --- the home's staff register, training and competency, and medication incidents (NICE SC1
# 1.18 and 1.5); only the home's own staff (403 otherwise), each write audited


@router.get("/api/carehomes/staff", response_model=list[Competency])
def staff(principal: Principal = USER, session: Session = DB) -> list[Competency]:
    return actions.staff_competency(session, principal, date.today())


@router.post("/api/carehomes/staff", response_model=Created, status_code=201)
def add_staff(
    body: StaffIn,
    principal: Principal = USER,
    session: Session = DB,
) -> Created:
    return Created(id=actions.register_staff(session, principal, body.name, body.job_title).id)


@router.post("/api/carehomes/staff/{staff_id}/training", response_model=Created, status_code=201)
def add_training(
    staff_id: int = Path(ge=1, le=DB_INT_MAX),
    *,
    body: TrainingIn,
    principal: Principal = USER,
    session: Session = DB,
) -> Created:
    record = actions.record_training(
        session, principal, staff_id, body.kind, body.completed_on, body.detail, date.today()
    )
    return Created(id=record.id)


@router.post("/api/carehomes/incidents", response_model=Created, status_code=201)
def add_incident(
    body: IncidentIn,
    principal: Principal = USER,
    session: Session = DB,
) -> Created:
    fields = body.model_dump()
    return Created(id=actions.record_incident(session, principal, today=date.today(), **fields).id)
