"""Prescription tracker pages (NHS.UK design): search by prescription ID *or* NHS number (with an
optional issue date range), the patient's prescriptions in current / future / past tabs, and one
prescription's items and timeline. Same access rules and audit as the API
(:mod:`ipmo.prescriptions.actions`)."""

from __future__ import annotations

import re
from datetime import date

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.fhir.outcome import FhirError
from ipmo.organisations import Organisation
from ipmo.patients import InvalidNhsNumber
from ipmo.prescriptions import actions, views
from ipmo.prescriptions.stuck import DEFAULT_HOURS
from ipmo.security import Activity, Principal
from ipmo.web.deps import app_today, db_session, form_fields, require
from ipmo.web.nav import NavItem
from ipmo.web.templating import render

router = APIRouter(include_in_schema=False)
NAV = [
    NavItem(
        "Prescription tracker",
        "/prescriptions/tracker",
        Activity.RECORD_VIEW,
        "Find an EPS prescription by its ID or the patient's NHS number",
        # those who issue, dispense or chase EPS prescriptions (care homes chase their residents'),
        # and the ICS safety officer; not hospital pharmacists: EPS is primary care's prescribing
        frozenset(
            {"pcn-pharmacist", "community-pharmacist", "gp", "nhs111-clinician"}
            | {"care-home-staff", "ics-medicines-safety"}
        ),
    ),
    NavItem(
        "Stuck urgent prescriptions",
        "/prescriptions/stuck",
        Activity.REFERRAL_SEND,
        "Urgent prescriptions not downloaded by their pharmacy in its opening hours: redirect",
    ),
]
DIGITS = re.compile(r"^[\d ]+$")
VIEWER = Depends(require(Activity.RECORD_VIEW))
URGENT_CARE = Depends(require(Activity.REFERRAL_SEND, Activity.RECORD_VIEW))  # NHS 111 clinicians
STORE = Depends(db_session, scope="function")


def _org_names(session: Session, rows) -> dict[str, str]:
    codes = set()
    for p in rows:
        codes |= {p.prescriber_org, p.nominated_pharmacy, p.dispenser_org}
        codes |= {e.org for e in p.events}
    codes.discard(None)
    if not codes:
        return {}
    found = session.execute(
        select(Organisation.ods_code, Organisation.name).where(Organisation.ods_code.in_(codes))
    ).all()
    return {code: name for code, name in found}


def _day(text: str | None, field: str, errors: dict[str, str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[field] = "Enter a real date, for example 2026-12-07"
        return None


@router.get("/prescriptions/tracker")
def tracker(
    request: Request,
    q: str | None = Query(None, max_length=40),
    date_from: str | None = Query(None, max_length=10, alias="from"),
    date_to: str | None = Query(None, max_length=10, alias="to"),
    tab: str = Query("current", max_length=10),
    as_of: str | None = Query(None, max_length=10),
    principal: Principal = VIEWER,
    session: Session = STORE,
):
    errors: dict[str, str] = {}
    start, end = _day(date_from, "from", errors), _day(date_to, "to", errors)
    today = _day(as_of, "as_of", errors) or app_today(request)
    ctx: dict = {
        "title": "Prescription tracker",
        "q": q or "",
        "date_from": date_from or "",
        "date_to": date_to or "",
        "tab": tab if tab in views.TABS else "current",
        "tabs": {},
        "errors": errors,
        "views": views,
        "names": {},
        "searched": False,
    }
    if q and q.strip() and not errors:
        text = q.strip()
        by_number = bool(DIGITS.match(text))
        try:
            found = actions.search(
                session,
                principal,
                None if by_number else text,
                text if by_number else None,
                start,
                end,
            )
        except FhirError as exc:
            field = "from" if "date_from" in (exc.expression or []) else "q"
            errors[field] = (
                "The date range ends before it starts"
                if field == "from"
                else "Enter a 10-digit NHS number or an 18-character prescription ID "
                f"({exc.diagnostics})"
            )
        else:
            ctx["searched"] = True
            ctx["tabs"] = {
                t: [p for p in found.rows if views.tab_of(p, today) == t] for t in views.TABS
            }
            for p in found.rows:  # future repeat-dispensing issues show in the future tab
                if views.future_issues(p) and views.tab_of(p, today) == "current":
                    ctx["tabs"]["future"].append(p)
            ctx["names"] = _org_names(session, found.rows)
            ctx["today"] = today
    return render(request, "prescriptions/tracker.html", ctx)


@router.get("/prescriptions/tracker/{prescription_id}")
def prescription(
    request: Request,
    prescription_id: str,
    principal: Principal = VIEWER,
    session: Session = STORE,
):
    try:
        found = actions.search(session, principal, prescription_id, None)
    except FhirError:
        found = actions.Found()
    if not found.rows:
        return render(
            request,
            "prescriptions/prescription.html",
            {"title": "Prescription not found", "p": None, "views": views, "names": {}},
            status_code=404,
        )
    p = found.rows[0]
    ctx = {
        "title": f"Prescription {p.prescription_id}",
        "p": p,
        "views": views,
        "names": _org_names(session, [p]),
        "steps": views.timeline(p),
    }
    return render(request, "prescriptions/prescription.html", ctx)


def _stuck_page(request, session, principal, *, error=None, done=None, status_code=200):
    now = request.app.state.clock()
    rows = actions.stuck_list(session, principal, now)
    ctx = {
        "title": "Stuck urgent prescriptions",
        "rows": rows,
        "pharmacies": actions.open_pharmacies(session, now),
        "hours": DEFAULT_HOURS,
        "error": error,
        "done": done,
        "views": views,
    }
    return render(request, "prescriptions/stuck.html", ctx, status_code=status_code)


@router.get("/prescriptions/stuck")
def stuck(
    request: Request,
    principal: Principal = URGENT_CARE,
    session: Session = STORE,
):
    return _stuck_page(request, session, principal)


@router.post("/prescriptions/stuck/{prescription_id}/redirect")
def redirect_stuck(
    prescription_id: str,
    request: Request,
    form: dict[str, str] = Depends(form_fields),
    principal: Principal = URGENT_CARE,
    session: Session = STORE,
):
    try:
        p = actions.redirect(
            session, principal, prescription_id, form.get("pharmacy", ""), request.app.state.clock()
        )
    except actions.RedirectError as exc:
        error = {"id": prescription_id, "message": str(exc)}
        return _stuck_page(request, session, principal, error=error, status_code=422)
    names = _org_names(session, [p])
    done = {"id": p.prescription_id, "pharmacy": names.get(p.nominated_pharmacy or "")}
    return _stuck_page(request, session, principal, done=done)


@router.get("/prescriptions/exemption")
def exemption_check(
    request: Request,
    nhs_number: str | None = Query(None, max_length=20),
    on: str | None = Query(None, max_length=10),
    principal: Principal = VIEWER,
    session: Session = STORE,
):
    errors: dict[str, str] = {}
    day = _day(on, "on", errors) or request.app.state.clock().date()
    ctx: dict = {
        "title": "Check prescription charge exemption",
        "nhs_number": nhs_number or "",
        "on": day.isoformat(),
        "errors": errors,
        "answer": None,
    }
    if nhs_number and not errors:
        try:
            patient, ctx["answer"] = actions.exemption(session, principal, nhs_number, day)
        except InvalidNhsNumber as exc:
            errors["nhs_number"] = f"Enter a valid 10-digit NHS number ({exc})"
        else:
            ctx["patient"] = patient
    return render(request, "prescriptions/exemption.html", ctx)
