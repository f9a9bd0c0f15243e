"""Plans API: read with ``plan.view``, create and change with ``plan.edit``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from ipmo.plans import metrics
from ipmo.plans.models import Objective
from ipmo.plans.report import PdfUnavailable, render_html, render_pdf
from ipmo.plans.schemas import Created, MetricRead, PlanRead, PlanSummary
from ipmo.plans.service import (
    PlanError,
    add_cycle,
    add_objective,
    add_stakeholder,
    create_plan,
    get_plan,
    list_plans,
    plan_view,
)
from ipmo.security import Activity, Principal
from ipmo.security.access import audit_event
from ipmo.web.deps import db_session, require
from ipmo.web.params import RowId

router = APIRouter(prefix="/api/plans", tags=["plans"])
VIEW = Depends(require(Activity.PLAN_VIEW))
EDIT = Depends(require(Activity.PLAN_EDIT))


def _plan(session: Session, plan_id: int):
    try:
        return get_plan(session, plan_id)
    except PlanError as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("", response_model=list[PlanSummary])
def read_plans(
    principal: Principal = VIEW, session: Session = Depends(db_session, scope="function")
) -> list:
    return list_plans(session)


@router.get("/metrics", response_model=list[MetricRead])
def read_metrics(
    principal: Principal = VIEW, session: Session = Depends(db_session, scope="function")
) -> list:
    """Metric ids an objective can link to."""
    return [m.__dict__ for m in metrics.catalogue(session)]


@router.post("", status_code=201, response_model=Created)
def new_plan(
    body: dict,
    principal: Principal = EDIT,
    session: Session = Depends(db_session, scope="function"),
):
    """A plan with objectives, PDSA cycles and stakeholders (layout in plans/README.md)."""
    try:
        plan = create_plan(session, body)
    except PlanError as exc:
        raise HTTPException(422, str(exc)) from None
    audit_event(session, principal, "plan.create", detail={"plan": plan.id})
    return {"id": plan.id}


@router.get("/{plan_id}", response_model=PlanRead)
def read_plan(
    plan_id: RowId,
    principal: Principal = VIEW,
    session: Session = Depends(db_session, scope="function"),
):
    """The plan with each objective's live series, current value, progress and RAG status."""
    _plan(session, plan_id)
    return plan_view(session, plan_id)


@router.post("/{plan_id}/objectives", status_code=201, response_model=Created)
def new_objective(
    plan_id: RowId,
    body: dict,
    principal: Principal = EDIT,
    session: Session = Depends(db_session, scope="function"),
):
    plan = _plan(session, plan_id)
    try:
        objective = add_objective(session, plan, body)
    except PlanError as exc:
        raise HTTPException(422, str(exc)) from None
    audit_event(session, principal, "plan.objective.create", detail={"plan": plan_id})
    return {"id": objective.id}


def _objective(session: Session, plan_id: int, objective_id: int) -> Objective:
    objective = session.get(Objective, objective_id)
    if objective is None or objective.plan_id != plan_id:
        raise HTTPException(404, f"no objective {objective_id} in plan {plan_id}")
    return objective


@router.post("/{plan_id}/objectives/{objective_id}/pdsa", status_code=201, response_model=Created)
def new_cycle(
    plan_id: RowId,
    objective_id: RowId,
    body: dict,
    principal: Principal = EDIT,
    session: Session = Depends(db_session, scope="function"),
):
    objective = _objective(session, plan_id, objective_id)
    try:
        cycle = add_cycle(session, objective, body)
    except PlanError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"id": cycle.id}


@router.post("/{plan_id}/stakeholders", status_code=201, response_model=Created)
def new_stakeholder(
    plan_id: RowId,
    body: dict,
    principal: Principal = EDIT,
    session: Session = Depends(db_session, scope="function"),
):
    plan = _plan(session, plan_id)
    try:
        sh = add_stakeholder(session, plan, body)
    except PlanError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"id": sh.id}


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
def report(
    plan_id: RowId,
    format: str = Query("html", description="html | pdf"),
    principal: Principal = VIEW,
    session: Session = Depends(db_session, scope="function"),
):
    """The plan on a page, as a self-contained HTML page or a PDF."""
    _plan(session, plan_id)
    view = plan_view(session, plan_id)
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
