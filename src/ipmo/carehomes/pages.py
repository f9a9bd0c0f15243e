"""Care-home pages (NHS.UK design system).

* ``/carehomes`` — the residents the access policy lets the user see, each with their findings:
  care-home staff see their own home's residents and alerts; a PCN (MOCH) pharmacist sees the
  caseload across the homes whose residents the PCN's practices hold.
* ``/carehomes/residents/{nhs}`` — one resident's findings and best-interests decisions, and
  the form to record a decision (error summary linked to the field; confirmation panel).
* ``/carehomes/waste`` — supplied vs given vs returned or destroyed per medicine per month, the
  cost at dm+d prices and the stop-ordering list (a home's staff: their home, with the form to
  record a return; a MOCH / PCN pharmacist: the caseload across homes).
* ``/carehomes/homes`` — the ICS's per-home figures (aggregates, small numbers withheld).
Every read goes through ``actions.py`` (access policy and audit).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from ipmo.carehomes import actions
from ipmo.carehomes.findings import TEXT
from ipmo.security import Activity, Principal
from ipmo.web.dates import DateInputError, parse_date_input
from ipmo.web.deps import app_today, db_session, form_fields, require
from ipmo.web.nav import NavItem
from ipmo.web.templating import render

router = APIRouter(include_in_schema=False)
USER = Depends(require(Activity.RECORD_VIEW))  # the actions narrow who sees what
DB = Depends(db_session, scope="function")
NAV = [
    NavItem(
        "Care-home residents",
        "/carehomes",
        Activity.RECORD_VIEW,
        "Residents of the care homes you look after and what their medicines administration "
        "records show",
        # the home's staff, the PCN's care-home pharmacists (MOCH), the residents' GPs and the
        # ICS safety officer; pharmacies, hospitals and NHS 111 have no care-home caseload
        frozenset({"care-home-staff", "pcn-pharmacist", "gp", "ics-medicines-safety"}),
    ),
    NavItem(
        "Medicines waste",
        "/carehomes/waste",
        Activity.RECORD_VIEW,
        "Care-home medicines supplied, given, returned and destroyed, their cost and what to "
        "stop ordering",
        # the home's own job each month; the PCN pharmacist reaches it from the care-home
        # residents page (a header item more pushed the SMR worklist into "More")
        frozenset({"care-home-staff"}),
    ),
    NavItem(
        "Care homes",
        "/carehomes/homes",
        Activity.ANALYTICS_VIEW,
        "Per care home: residents, doses refused or omitted and findings from eMAR records",
    ),
]
RULE_NAMES = {
    "repeated-refusals-or-omissions": "Repeated refusals or omissions",
    "prn-used-regularly": "When-required medicine used regularly",
    "prn-never-used": "When-required medicine not used",
    "covert-without-best-interests": "Covert administration without a best-interests decision",
    "time-critical-late": "Time-critical medicine late",
    "antipsychotic-in-dementia": "Antipsychotic in dementia: reassess",
}
assert set(RULE_NAMES) == set(TEXT)  # a new rule needs a name people can read


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/carehomes")
def residents(
    request: Request,
    principal: Principal = USER,
    session: Session = DB,
):
    rows = actions.residents_overview(session, principal, _now())
    return render(
        request,
        "carehomes/residents.html",
        {
            "residents": rows,
            "rule_names": RULE_NAMES,
            "own_home": principal.role.code == "care-home-staff",
        },
    )


def _resident_page(
    request: Request,
    session: Session,
    principal: Principal,
    nhs_number: str,
    *,
    saved: bool = False,
    error: DateInputError | ValueError | None = None,
    form: dict[str, str] | None = None,
):
    now = _now()
    found = actions.resident_findings(session, principal, nhs_number, now)
    decisions = actions.best_interests_decisions(session, principal, nhs_number)
    field = getattr(error, "field", None) or (str(error).split(":")[0] if error else None)
    return render(
        request,
        "carehomes/resident.html",
        {
            "nhs": nhs_number,
            "findings": found,
            "rule_names": RULE_NAMES,
            "decisions": decisions,
            "covert": sorted(
                {(f.medicine_code, f.medicine_name) for f in found if f.rule.startswith("covert")}
            ),
            "saved": saved,
            "error": str(error).split(": ", 1)[-1] if error else None,
            "error_field": field,
            "form": form or {},
            "as_of": now.date(),
        },
        422 if error else 200,
    )


@router.get("/carehomes/residents/{nhs_number}")
def resident(
    request: Request,
    nhs_number: str,
    saved: int | None = Query(None, ge=1, le=1),
    principal: Principal = USER,
    session: Session = DB,
):
    return _resident_page(request, session, principal, nhs_number, saved=bool(saved))


@router.post("/carehomes/residents/{nhs_number}/best-interests")
def record_best_interests(
    request: Request,
    nhs_number: str,
    form: dict[str, str] = Depends(form_fields),
    principal: Principal = USER,
    session: Session = DB,
):
    code, _sep, name = form.get("medicine", "").partition("|")
    try:
        decided = _date(form, "decided_on", "Date of the decision")
        review = _date(form, "review_by", "Review date")
        actions.record_best_interests(
            session,
            principal,
            nhs_number,
            medicine_code=code,
            medicine_name=name,
            decided_on=decided,
            review_by=review,
            participants=form.get("participants", ""),
            today=app_today(request),
        )
    except (DateInputError, actions.BestInterestsError) as exc:
        return _resident_page(request, session, principal, nhs_number, error=exc, form=form)
    return RedirectResponse(f"/carehomes/residents/{nhs_number}?saved=1", status_code=303)


def _date(form: dict[str, str], name: str, what: str) -> date:
    try:
        found = parse_date_input(
            form.get(f"{name}[day]", ""),
            form.get(f"{name}[month]", ""),
            form.get(f"{name}[year]", ""),
            what,
        )
    except DateInputError as exc:
        raise actions.BestInterestsError(f"{name}: {exc}") from None
    if found is None:
        raise actions.BestInterestsError(f"{name}: Enter the {what.lower()}")
    return found


@router.get("/carehomes/homes")
def homes(
    request: Request,
    principal: Principal = Depends(require(Activity.ANALYTICS_VIEW)),
    session: Session = Depends(db_session, scope="function"),
):
    figures = actions.homes_figures(session, principal, _now())
    return render(request, "carehomes/homes.html", {"homes": figures, "rule_names": RULE_NAMES})


@router.get("/carehomes/staff")
def staff(
    request: Request,
    principal: Principal = USER,
    session: Session = DB,
):
    """The home's staff who administer medicines: training and annual competency (NICE SC1
    1.18), due soon and overdue marked. The home's own staff only (403 for anyone else)."""
    found = actions.staff_competency(session, principal, app_today(request))
    return render(request, "carehomes/staff.html", {"staff": found})


WASTE_RULES = {
    "supplied-mostly-unused": "Supplied but mostly not given",
    "prn-not-given-resupplied": "When-required medicine re-supplied but not used",
}
WASTE_FORM = ("resident", "medicine_code", "medicine_name", "quantity", "unit", "disposal")


def _waste_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    saved: bool = False,
    error: ValueError | None = None,
    form: dict[str, str] | None = None,
):
    today = app_today(request)
    view = actions.waste_view(session, principal, today)
    field = str(error).split(":")[0] if error else None
    return render(
        request,
        "carehomes/waste.html",
        {
            "view": view,
            "rule_names": WASTE_RULES,
            "own_home": principal.role.code == "care-home-staff",
            "names": {r.nhs_number: r.name for r in view.residents},
            "saved": saved,
            "error": str(error).split(": ", 1)[-1] if error else None,
            "error_field": field,
            "form": form or {},
            "key": form.get("key") if form else uuid.uuid4().hex,
            "today": today,
        },
        422 if error else 200,
    )


@router.get("/carehomes/waste")
def waste(
    request: Request,
    saved: int | None = Query(None, ge=1, le=1),
    principal: Principal = USER,
    session: Session = DB,
):
    """The home's (or the MOCH caseload's) medicines waste and stop-ordering list; for the
    home's staff, the form to record medicines returned or destroyed."""
    return _waste_page(request, session, principal, saved=bool(saved))


@router.post("/carehomes/waste")
def record_waste(
    request: Request,
    form: dict[str, str] = Depends(form_fields),
    principal: Principal = USER,
    session: Session = DB,
):
    try:
        text = form.get("quantity", "").strip()
        try:
            quantity = float(text)
        except ValueError:
            raise actions.WasteInputError(
                "quantity: Enter the quantity as a number, for example 14"
            ) from None
        if not form.get("resident"):
            raise actions.WasteInputError("resident: Select the resident")
        try:
            on = parse_date_input(
                form.get("disposed_on[day]", ""),
                form.get("disposed_on[month]", ""),
                form.get("disposed_on[year]", ""),
                "Date returned or destroyed",
            )
        except DateInputError as exc:
            raise actions.WasteInputError(f"disposed_on: {exc}") from None
        if on is None:
            raise actions.WasteInputError("disposed_on: Enter the date returned or destroyed")
        actions.record_waste(
            session,
            principal,
            form.get("resident", ""),
            medicine_code=form.get("medicine_code", ""),
            medicine_name=form.get("medicine_name", ""),
            quantity=quantity,
            unit=form.get("unit", ""),
            disposal=form.get("disposal", ""),
            disposed_on=on,
            reason=form.get("reason", ""),
            key=form.get("key", ""),
            today=app_today(request),
        )
    except (actions.WasteInputError, actions.WasteConflict) as exc:
        return _waste_page(request, session, principal, error=exc, form=form)
    return RedirectResponse("/carehomes/waste?saved=1", status_code=303)
