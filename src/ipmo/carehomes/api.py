"""JSON API for care homes: a resident's findings from their eMAR administrations.

Access through the policy (``check_patient_access`` inside the action: care-home staff see only
their own home's residents) and audited.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlalchemy.orm import Session

from ipmo.carehomes.actions import resident_findings
from ipmo.carehomes.schemas import FindingOut, ResidentFindings
from ipmo.security import Activity, Principal
from ipmo.web.deps import db_session, require

router = APIRouter(tags=["carehomes"])


@router.get("/api/carehomes/residents/{nhs_number}/findings", response_model=ResidentFindings)
def findings(
    nhs_number: str,
    as_of: datetime | None = Query(None, description="ISO date-time with zone; default now"),
    principal: Principal = Depends(require(Activity.RECORD_VIEW)),
    session: Session = Depends(db_session, scope="function"),
) -> ResidentFindings:
    when = as_of or datetime.now(UTC)
    if when.tzinfo is None:
        raise HTTPException(422, "as_of needs a time zone (e.g. 2026-03-15T20:00:00Z)")
    found = resident_findings(session, principal, nhs_number, when)
    return ResidentFindings(
        as_of=when.isoformat(),
        findings=[FindingOut.model_validate(f, from_attributes=True) for f in found],
    )
