"""Find a patient by NHS number and see their summary."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from ipmo.patients.identity import InvalidNhsNumber, normalise_nhs_number
from ipmo.patients.service import summary
from ipmo.security import Activity, Principal
from ipmo.security.access import check_patient_access
from ipmo.web.deps import db_session, require
from ipmo.web.nav import NavItem
from ipmo.web.templating import render

router = APIRouter(include_in_schema=False)
NAV = [
    NavItem(
        "Find a patient", "/patients", Activity.RECORD_VIEW, "Open a patient's record by NHS number"
    )
]


@router.get("/patients")
def find(
    request: Request,
    nhs_number: str = "",
    principal: Principal = Depends(require(Activity.RECORD_VIEW)),
):
    if not nhs_number:
        return render(request, "patients/find.html", {"error": None, "value": ""})
    try:
        digits = normalise_nhs_number(nhs_number)
    except InvalidNhsNumber as exc:
        return render(request, "patients/find.html", {"error": str(exc), "value": nhs_number}, 422)
    return RedirectResponse(f"/patients/{digits}", status_code=303)


@router.get("/patients/{nhs_number}")
def show(
    request: Request,
    nhs_number: str,
    principal: Principal = Depends(require(Activity.RECORD_VIEW)),
    session: Session = Depends(db_session),
):
    patient = check_patient_access(session, principal, nhs_number, action="patient.read")
    return render(request, "patients/summary.html", {"p": summary(session, patient)})
