"""Workforce API: aggregates for ``workforce.view``, named posts for ``workforce.detail`` (audited),
imports and edits for ``workforce.edit``, service evaluation for ``analytics.view``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response

from ipmo.limits import decode_utf8
from ipmo.security import Activity
from ipmo.security.access import audit_event
from ipmo.security.errors import Forbidden
from ipmo.web.deps import Caller, app_today, request_body
from ipmo.workforce import edits
from ipmo.workforce.callers import ANALYTICS, DETAIL, EDIT, VIEW
from ipmo.workforce.importer import (
    MAX_UPLOAD_BYTES,
    WorkforceImportError,
    import_assignments,
)
from ipmo.workforce.organogram import ics_organogram, leadership_organogram
from ipmo.workforce.schemas import (
    ActivityImported,
    EditedPost,
    ImportCounts,
    NamedPost,
    ServiceEvaluationRow,
    WorkforceSummary,
)
from ipmo.workforce.service_evaluation import (
    BY_LEVELS,
    ActivityImportError,
    evaluation,
    import_activity,
)
from ipmo.workforce.service_evaluation import to_csv as services_csv
from ipmo.workforce.staffing import GROUPINGS, named_posts, summary

router = APIRouter(prefix="/api/workforce", tags=["workforce"])
SVG = "image/svg+xml"
# the CSV imports read the raw body (web.deps.request_body), so the document is told its type
_CSV_BODY = {"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}}
_SVG_DOC: dict[int | str, dict[str, Any]] = {
    200: {"content": {SVG: {"schema": {"type": "string"}}}}
}


T = TypeVar("T")


def _csv_upload(path: str, response_model: type) -> Callable[[Callable], Callable]:
    """A POST route taking a CSV as its raw body (read with ``web.deps.request_body``)."""
    return router.post(path, response_model=response_model, openapi_extra=_CSV_BODY)


def _imported(body: bytes, load: Callable[[str], T], refused: type[Exception]) -> T:
    """One CSV upload: the body as UTF-8 text (size-limited), then ``load(text)``: all rows or
    none; ``refused`` (naming the bad line) → 422."""
    text = decode_utf8(body, "the CSV", MAX_UPLOAD_BYTES)
    try:
        return load(text)
    except refused as exc:
        raise HTTPException(422, str(exc)) from None


def _day(on: str | None) -> date | None:
    if not on:
        return None
    try:
        return date.fromisoformat(on)
    except ValueError:
        raise HTTPException(422, f"on={on!r} is not a date (YYYY-MM-DD)") from None


@router.get("/summary", response_model=WorkforceSummary)
def read_summary(
    by: str = Query("place", description="pcn | place | sector"),
    on: str | None = Query(None, description="as on this date (default today)"),
    c: Caller = VIEW,
) -> dict:
    """WTE per 10,000 patients, IP coverage, vacancies, rotations, training (no names)."""
    if by not in GROUPINGS:
        raise HTTPException(422, f"by must be one of {', '.join(GROUPINGS)}")
    return summary(c.session, by=by, on=_day(on) or app_today(c.request))


@router.get("/posts", response_model=list[NamedPost])
def read_posts(c: Caller = DETAIL) -> list[dict]:
    """Every post with the named person holding it (workforce leads and admins; audited)."""
    audit_event(c.session, c.principal, "workforce.posts.read")
    return named_posts(c.session, on=app_today(c.request))


@_csv_upload("/import", ImportCounts)
def import_csv(body: bytes = Depends(request_body), c: Caller = EDIT) -> dict:
    """Body: the ESR-like CSV (text/csv). All rows or none; 422 names the bad line."""
    report = _imported(body, lambda text: import_assignments(c.session, text), WorkforceImportError)
    audit_event(c.session, c.principal, "workforce.import", detail={"rows": report.assignments})
    return {
        "assignments": report.assignments,
        "people": report.people,
        "vacancies": report.vacancies,
    }


@router.patch("/posts/{assignment_number}", response_model=EditedPost)
def edit_post(assignment_number: str, changes: dict, c: Caller = EDIT) -> dict:
    """Change a post's WTE, band, end date, title or holder's prescriber status (validated as
    on import: 0 < WTE ≤ 1.0, split posts re-scaled, no overlapping contracts)."""
    try:
        post = edits.edit_post(c.session, assignment_number, changes)
    except edits.EditError as exc:
        raise HTTPException(404 if "no post" in str(exc) else 422, str(exc)) from None
    audit_event(c.session, c.principal, "workforce.post.edit", detail={"post": assignment_number})
    return {
        "assignment_number": post.assignment_number,
        "wte": post.wte,
        "band": post.band,
        "end_date": post.end_date.isoformat() if post.end_date else None,
    }


@router.get("/organogram/ics.svg", response_class=Response, responses=_SVG_DOC)
def ics_svg(c: Caller = VIEW) -> Response:
    return Response(ics_organogram(c.session, on=app_today(c.request)), media_type=SVG)


@router.get("/organogram/leadership.svg", response_class=Response, responses=_SVG_DOC)
def leadership_svg(names: bool = False, c: Caller = VIEW) -> Response:
    """Lines of accountability; ``names=true`` needs ``workforce.detail``."""
    if names and not c.principal.can(Activity.WORKFORCE_DETAIL):
        raise Forbidden(f"your role ({c.principal.role.title}) does not include: workforce.detail")
    if names:
        audit_event(c.session, c.principal, "workforce.leadership.read")
    svg = leadership_organogram(c.session, show_names=names, on=app_today(c.request))
    return Response(svg, media_type=SVG)


@router.get(
    "/services",
    response_model=list[ServiceEvaluationRow],
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def read_services(
    by: str = Query("place", description="pharmacy | pcn | place | ics"),
    service: str | None = None,
    format: str = Query("json", description="json | csv"),
    all_services: bool = Query(False, description='add "all-services" rows (the sums)'),
    c: Caller = ANALYTICS,
):
    """Service evaluation per service, area and month; ``format=csv`` for a download."""
    if by not in BY_LEVELS:
        raise HTTPException(422, f"by must be one of {', '.join(BY_LEVELS)}")
    on = app_today(c.request)
    rows = evaluation(c.session, by=by, service=service, all_services=all_services, on=on)
    if format == "csv":
        return Response(
            services_csv(rows),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="services-by-{by}.csv"'},
        )
    return rows


@_csv_upload("/services/import", ActivityImported)
def import_services(body: bytes = Depends(request_body), c: Caller = EDIT) -> dict:
    rows = _imported(body, lambda text: import_activity(c.session, text), ActivityImportError)
    return {"rows": rows}
