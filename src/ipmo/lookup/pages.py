"""Find a patient (by NHS number, or by name and date of birth) and see who they are."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from ipmo.lookup import actions
from ipmo.lookup.service import NameSearch, SearchError
from ipmo.patients import InvalidNhsNumber, normalise_nhs_number
from ipmo.security import Activity, Principal
from ipmo.web.dates import DateInputError, parse_date_input
from ipmo.web.deps import DbSession, app_today, require
from ipmo.web.nav import NavItem
from ipmo.web.templating import render

router = APIRouter(include_in_schema=False)
NAV = [
    NavItem(
        "Find a patient",
        "/patients",
        Activity.RECORD_VIEW,
        "Find a patient by NHS number, or by name and date of birth",
    )
]


@router.get("/patients")
def find(
    request: Request,
    session: DbSession,
    nhs_number: str = "",
    family_name: str = "",
    given_name: str = "",
    principal: Principal = Depends(require(Activity.RECORD_VIEW)),
):
    q = request.query_params
    form = {
        "nhs_number": nhs_number,
        "family_name": family_name,
        "given_name": given_name,
        "dob_day": q.get("dob[day]", ""),
        "dob_month": q.get("dob[month]", ""),
        "dob_year": q.get("dob[year]", ""),
    }
    ctx: dict = {"form": form, "errors": {}, "results": None, "too_many": False}
    by_name = any(form[k].strip() for k in form if k != "nhs_number")
    if nhs_number.strip():
        try:
            digits = normalise_nhs_number(nhs_number)
        except InvalidNhsNumber as exc:
            ctx["errors"] = {"nhs_number": f"{exc}, for example 999 000 0018"}
            return render(request, "patients/find.html", ctx, 422)
        return RedirectResponse(f"/patients/{digits}", status_code=303)
    if not by_name:
        return render(request, "patients/find.html", ctx)
    errors: dict[str, str] = {}
    born: date | None = None
    try:
        born = parse_date_input(
            form["dob_day"], form["dob_month"], form["dob_year"], "Date of birth"
        )
    except DateInputError as exc:
        errors[f"dob-{exc.field}"] = str(exc)
    try:
        if not errors:
            wanted = NameSearch(family_name, given_name, born)
            result = actions.search(session, principal, wanted, app_today(request))
            ctx.update(results=result.patients, too_many=result.too_many)
    except SearchError as exc:
        field = "dob-day" if "birth" in str(exc) else "family_name"
        errors[field] = str(exc)
    if errors:
        ctx["errors"] = errors
        return render(request, "patients/find.html", ctx, 422)
    return render(request, "patients/find.html", ctx)


@router.get("/patients/{nhs_number}")
def show(
    request: Request,
    nhs_number: str,
    session: DbSession,
    principal: Principal = Depends(require(Activity.RECORD_VIEW)),
):
    b = actions.patient_banner(session, principal, nhs_number, app_today(request))
    return render(
        request,
        "patients/summary.html",
        {"p": b, "banner": b, "back": {"href": "/patients", "text": "Find another patient"}},
    )
