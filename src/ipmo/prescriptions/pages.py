"""Prescription tracker page (NHS.UK design): search by prescription ID *or* NHS number, as the
national Clinical Prescription Tracker does; same access rules and audit as the API."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from ipmo.fhir.outcome import FhirError
from ipmo.prescriptions.api import find
from ipmo.prescriptions.codes import ITEM_STATUS, PRESCRIPTION_STATUS
from ipmo.security import Activity, Principal
from ipmo.web.deps import db_session, require
from ipmo.web.nav import NavItem
from ipmo.web.templating import render

router = APIRouter(include_in_schema=False)
NAV = [
    NavItem(
        "Prescription tracker",
        "/prescriptions/tracker",
        Activity.RECORD_VIEW,
        "Find an EPS prescription by its ID or the patient's NHS number",
    )
]
DIGITS = re.compile(r"^[\d ]+$")


@router.get("/prescriptions/tracker")
def tracker(
    request: Request,
    q: str | None = Query(None, max_length=40),
    principal: Principal = Depends(require(Activity.RECORD_VIEW)),
    session: Session = Depends(db_session, scope="function"),
):
    ctx: dict = {
        "title": "Prescription tracker",
        "q": q or "",
        "rows": None,
        "error": None,
        "PS": PRESCRIPTION_STATUS,
        "IS": ITEM_STATUS,
    }
    if q and q.strip():
        text = q.strip()
        by_number = bool(DIGITS.match(text))
        try:
            rows, _, _ = find(
                session,
                principal,
                None if by_number else text,
                text if by_number else None,
            )
            ctx["rows"] = rows
        except FhirError as exc:
            ctx["error"] = (
                "Enter a 10-digit NHS number or an 18-character prescription ID "
                f"({exc.diagnostics})"
            )
    return render(request, "prescriptions/tracker.html", ctx)
