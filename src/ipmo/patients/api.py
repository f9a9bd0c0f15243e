"""Patient identity API (relationship-checked and audited)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from ipmo.patients.service import summary
from ipmo.security import Activity, Principal
from ipmo.security.access import check_patient_access
from ipmo.web.deps import db_session, require

router = APIRouter(prefix="/api/patients", tags=["patients"])


@router.get("/{nhs_number}")
def read_patient(
    nhs_number: str,
    principal: Principal = Depends(require(Activity.RECORD_VIEW)),
    session: Session = Depends(db_session),
) -> dict:
    """A patient's identity, registration, nominated pharmacy and care home."""
    patient = check_patient_access(session, principal, nhs_number, action="patient.read")
    return summary(session, patient)
