"""Care-home staff pages: the home's residents and each resident's eMAR findings (NHS.UK design
system). The list shows only residents the access policy lets the user see (care-home staff:
their own home's) and is audited; a resident's page goes through ``check_patient_access``."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.carehomes.actions import resident_findings
from ipmo.patients import Patient
from ipmo.security import Activity, Principal
from ipmo.security.access import audit_event
from ipmo.security.policy import visible_patients_filter
from ipmo.web.deps import db_session, require
from ipmo.web.nav import NavItem
from ipmo.web.templating import render

router = APIRouter(include_in_schema=False)
NAV = [
    NavItem(
        "Care-home residents",
        "/carehomes",
        Activity.RECORD_VIEW,
        "Residents of your care home and what their medicines administration records show",
    )
]


@router.get("/carehomes")
def residents(
    request: Request,
    principal: Principal = Depends(require(Activity.RECORD_VIEW)),
    session: Session = Depends(db_session, scope="function"),
):
    rows = session.execute(
        select(Patient.nhs_number, Patient.given_name, Patient.family_name, Patient.care_home_code)
        .where(Patient.care_home_code.is_not(None), Patient.date_of_death.is_(None))
        .where(visible_patients_filter(principal))
        .order_by(Patient.care_home_code, Patient.family_name, Patient.given_name)
        .limit(500)
    ).all()
    audit_event(session, principal, "carehomes.residents.list", detail={"count": len(rows)})
    return render(request, "carehomes/residents.html", {"residents": rows})


@router.get("/carehomes/residents/{nhs_number}")
def resident(
    request: Request,
    nhs_number: str,
    principal: Principal = Depends(require(Activity.RECORD_VIEW)),
    session: Session = Depends(db_session, scope="function"),
):
    now = datetime.now(UTC)
    found = resident_findings(session, principal, nhs_number, now)
    return render(
        request,
        "carehomes/resident.html",
        {"nhs": nhs_number, "findings": found, "as_of": now.date().isoformat()},
    )
