"""Plans API: read with ``plan.view``, create and change with ``plan.edit``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse, Response

from ipmo.plans import actions, metrics
from ipmo.plans.report import PdfUnavailable, render_html, render_pdf
from ipmo.plans.schemas import Created, MetricRead, PlanRead, PlanSummary
from ipmo.plans.service import PlanError, PlanNotFound, list_plans, plan_view
from ipmo.security import Activity
from ipmo.web.deps import Caller, app_today, caller
from ipmo.web.params import RowId

router = APIRouter(prefix="/api/plans", tags=["plans"])
VIEW = caller(Activity.PLAN_VIEW)
EDIT = caller(Activity.PLAN_EDIT)


def _view(c: Caller, plan_id: int) -> dict:
    """The plan on the app's today."""
    try:
        return plan_view(c.session, plan_id, on=app_today(c.request))
    except PlanNotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("", response_model=list[PlanSummary])
def read_plans(c: Caller = VIEW) -> list:
    return list_plans(c.session)


@router.get("/metrics", response_model=list[MetricRead])
def read_metrics(c: Caller = VIEW) -> list:
    """Metric ids an objective can link to."""
    return [m.__dict__ for m in metrics.catalogue(c.session)]


def _created(make: Callable[[], Any]) -> dict[str, int]:
    """``make()`` the new row: no such plan or objective → 404; refused by the plan service →
    422 with its reason."""
    try:
        return {"id": make().id}
    except PlanNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except PlanError as exc:
        raise HTTPException(422, str(exc)) from None


@router.post("", status_code=201, response_model=Created)
def new_plan(body: dict, c: Caller = EDIT):
    """A plan with objectives, PDSA cycles and stakeholders (layout in plans/README.md)."""
    return _created(lambda: actions.create(c.session, c.principal, body, on=app_today(c.request)))


@router.get("/{plan_id}", response_model=PlanRead)
def read_plan(plan_id: RowId, c: Caller = VIEW):
    """The plan with each objective's live series, current value, progress and RAG status."""
    return _view(c, plan_id)


@router.post("/{plan_id}/objectives", status_code=201, response_model=Created)
def new_objective(plan_id: RowId, body: dict, c: Caller = EDIT):
    today = app_today(c.request)
    return _created(lambda: actions.add_objective(c.session, c.principal, plan_id, body, on=today))


@router.post("/{plan_id}/objectives/{objective_id}/pdsa", status_code=201, response_model=Created)
def new_cycle(plan_id: RowId, objective_id: RowId, body: dict, c: Caller = EDIT):
    return _created(lambda: actions.add_cycle(c.session, plan_id, objective_id, body))


@router.post("/{plan_id}/stakeholders", status_code=201, response_model=Created)
def new_stakeholder(plan_id: RowId, body: dict, c: Caller = EDIT):
    return _created(lambda: actions.add_stakeholder(c.session, plan_id, body))


@router.get(
    "/{plan_id}/report",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/html": {"schema": {"type": "string"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            }
        }
    },
)
def report(plan_id: RowId, format: str = Query("html", description="html | pdf"), c: Caller = VIEW):
    """The plan on a page, as a self-contained HTML page or a PDF."""
    view = _view(c, plan_id)
    if format == "html":
        return HTMLResponse(render_html(view))
    if format != "pdf":
        raise HTTPException(422, "format must be html or pdf")
    try:
        pdf = render_pdf(view)
    except PdfUnavailable as exc:
        raise HTTPException(501, str(exc)) from None
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="plan-{plan_id}.pdf"'},
    )
