"""Plan pages: the list, one plan with live progress, and forms to add objectives, PDSA cycles
and stakeholders (``plan.edit``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from ipmo.plans import actions, metrics
from ipmo.plans.report import RAG_LABELS, chart
from ipmo.plans.service import (
    ENGAGEMENT,
    PlanError,
    PlanNotFound,
    list_plans,
    objective_in,
    plan_view,
)
from ipmo.security import Activity
from ipmo.web.dates import DateInputError, date_field
from ipmo.web.deps import Caller, FormFields, app_today, caller
from ipmo.web.forms import FormErrors
from ipmo.web.nav import NavItem
from ipmo.web.params import RowId
from ipmo.web.templating import render

router = APIRouter(include_in_schema=False)
NAV = [
    NavItem(
        "ICS medicines plan",
        "/plans",
        Activity.PLAN_VIEW,
        "Objectives tied to live metrics, PDSA cycles and the plan on a page",
    ),
]
VIEW = caller(Activity.PLAN_VIEW)
EDIT = caller(Activity.PLAN_EDIT)


def _list_page(c: Caller, form: dict, errors: FormErrors | None = None):
    ctx = {
        "plans": list_plans(c.session),
        "can_edit": c.principal.can(Activity.PLAN_EDIT),
        "form": form,
        "errors": errors,
    }
    return render(c.request, "plans/list.html", ctx, status_code=422 if errors else 200)


@router.get("/plans")
def plans(c: Caller = VIEW):
    return _list_page(c, {})


def _typed_date(
    form: dict[str, str],
    name: str,
    what: str,
    errors: FormErrors,
    *,
    field_id: str | None = None,
    required: bool = True,
) -> date | None:
    """One NHS.UK date input of the form (``name[day]`` …); a missing (when required) or
    impossible date is added to ``errors`` against the part at fault (``<field_id>-day`` …)."""
    field_id = field_id or name
    try:
        day = date_field(form, name, what)
    except DateInputError as exc:
        errors.add(f"{field_id}-{exc.field}", str(exc))
        return None
    if day is None and required:
        errors.add(f"{field_id}-day", f"Enter the {what.lower()}")
    return day


def _with_dates(
    form: dict[str, str], dates: dict[str, tuple[str, bool]], id_prefix: str, errors: FormErrors
) -> dict[str, str | None]:
    """The form's text fields, trimmed, with each NHS.UK date input (``{name: (what, required)}``)
    turned into one ISO value for the plan service (None when left empty)."""
    clean: dict[str, str | None] = {k: (v.strip() or None) for k, v in form.items() if "[" not in k}
    for name, (what, required) in dates.items():
        day = _typed_date(
            form, name, what, errors, field_id=f"{id_prefix}{name}", required=required
        )
        clean[name] = day.isoformat() if day else None
    return clean


@router.post("/plans")
def new_plan(form: FormFields, c: Caller = EDIT):
    errors = FormErrors()
    if not form.get("title", "").strip():
        errors.add("title", "Enter the plan's title")
    if not form.get("owner", "").strip():
        errors.add("owner", "Enter who owns the plan")
    start = _typed_date(form, "start_date", "Start date", errors)
    end = _typed_date(form, "end_date", "End date", errors)
    if start and end and end <= start:
        errors.add("end_date-day", "End date must be after the start date")
    if errors or start is None or end is None:
        return _list_page(c, form, errors)
    data = {**form, "start_date": start.isoformat(), "end_date": end.isoformat()}
    try:
        plan = actions.create(c.session, c.principal, data, on=app_today(c.request))
    except PlanError as exc:
        c.session.rollback()
        return _list_page(c, form, FormErrors.from_exception(exc, "title"))
    return RedirectResponse(f"/plans/{plan.id}", status_code=303)


def _page(
    c: Caller,
    plan_id: int,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
    form_for: str = "",
):
    try:
        view = plan_view(c.session, plan_id, on=app_today(c.request))
    except PlanError as exc:
        return render(
            c.request, "error.html", {"title": "Plan not found", "message": str(exc)}, 404
        )
    return render(
        c.request,
        "plans/plan.html",
        {
            "plan": view,
            "charts": {o["id"]: chart(o) for o in view["objectives"]},
            "rag_labels": RAG_LABELS,
            "can_edit": c.principal.can(Activity.PLAN_EDIT),
            "metrics": metrics.catalogue(c.session) if c.principal.can(Activity.PLAN_EDIT) else [],
            "engagement": ENGAGEMENT,
            "errors": errors,
            "form": form or {},
            "form_for": form_for,
        },
        status_code=422 if errors else 200,
    )


@router.get("/plans/{plan_id}")
def plan_page(plan_id: RowId, c: Caller = VIEW):
    return _page(c, plan_id)


@router.post("/plans/{plan_id}/objectives")
def objective_add(plan_id: RowId, form: FormFields, c: Caller = EDIT):
    dates = {"target_date": ("Target date", False)}
    add = partial(actions.add_objective, c.session, c.principal, plan_id, on=app_today(c.request))
    return _add(c, plan_id, form, "o", dates, "title", add)


@router.post("/plans/{plan_id}/objectives/{objective_id}/pdsa")
def pdsa_add(plan_id: RowId, objective_id: RowId, form: FormFields, c: Caller = EDIT):
    try:
        objective_in(c.session, plan_id, objective_id)
    except PlanNotFound:
        return render(c.request, "error.html", {"title": "Objective not found", "message": ""}, 404)
    dates = {"started_on": ("Date it started", True), "ended_on": ("Date it ended", False)}
    add = partial(actions.add_cycle, c.session, plan_id, objective_id)
    return _add(c, plan_id, form, f"pdsa-{objective_id}", dates, "title", add)


@router.post("/plans/{plan_id}/stakeholders")
def stakeholder_add(plan_id: RowId, form: FormFields, c: Caller = EDIT):
    dates = {"last_engaged": ("Date last engaged", False)}
    add = partial(actions.add_stakeholder, c.session, plan_id)
    return _add(c, plan_id, form, "s", dates, "name", add)


def _add(
    c: Caller,
    plan_id: int,
    form: dict[str, str],
    form_for: str,
    dates: dict[str, tuple[str, bool]],
    first_field: str,
    add: Callable[[dict], object],
):
    """Add one thing to the plan (an objective, a PDSA cycle, a stakeholder) from its form,
    whose fields are named ``<form_for>-<name>``: the form's NHS.UK date inputs
    (``{name: (what, required)}``) checked, then ``add(data)`` (the use case). A date the
    user could not have meant, or a refusal (PlanError) → the plan again with the error summary
    linked to the field (else to ``first_field``) and what was typed kept (422), nothing
    written; done → back to the plan."""
    errors = FormErrors()
    data = _with_dates(form, dates, f"{form_for}-", errors)
    if not errors:
        try:
            add(data)
        except PlanError as exc:
            c.session.rollback()
            errors.add_exception(exc, f"{form_for}-{first_field}")
    if errors:
        return _page(c, plan_id, errors, form, form_for)
    return RedirectResponse(f"/plans/{plan_id}", status_code=303)
