"""Patient identity API (relationship-checked and audited)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from ipmo.lookup import actions
from ipmo.security import Activity, Principal
from ipmo.web.deps import DbSession, Today, require

router = APIRouter(prefix="/api/patients", tags=["patients"])


class OrganisationRef(BaseModel):
    ods_code: str
    name: str | None  # None when the code is not in this ICS's organisation list


class PatientRead(BaseModel):
    """patients.service.summary: identity, registration, nominated pharmacy and care home."""

    nhs_number: str
    name: str
    birth_date: date
    age: int
    sex: str
    practice: OrganisationRef | None
    nominated_pharmacy: OrganisationRef | None
    care_home: OrganisationRef | None
    imd_decile: int | None  # 1 = most deprived


@router.get("/{nhs_number}")
def read_patient(
    nhs_number: str,
    session: DbSession,
    today: Today,
    principal: Principal = Depends(require(Activity.RECORD_VIEW)),
) -> PatientRead:
    """A patient's identity, registration, nominated pharmacy and care home (age today)."""
    found = actions.patient_summary(session, principal, nhs_number, today)
    return PatientRead.model_validate(found)
