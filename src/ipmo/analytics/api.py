"""JSON/CSV API of the medicines dashboard (population analytics; no patient-level data).

Measures are those of ``catalogue.py``: the OpenPrescribing definitions and ipmo's own (AWaRe,
biosimilars, inhaler carbon, ICS-defined YAML), each with its origin and source; ``origin=``
(openprescribing | ipmo | ics) filters the measure list and the overview.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from ipmo.analytics import report_pages, review_rates_pages
from ipmo.analytics.access import Analyst, Selected
from ipmo.analytics.compute.engine import LEVELS
from ipmo.analytics.compute.service import cached_results
from ipmo.analytics.reports import catalogue, dashboard
from ipmo.analytics.schemas import CSV, MeasureRead, MeasureValue
from ipmo.web.deps import db_session
from ipmo.web.downloads import csv_download

router = APIRouter(prefix="/api/analytics", tags=["analytics"])


def results_for(request: Request):
    results = cached_results(request.app.state.settings.analytics_dir)
    if results is None:
        raise HTTPException(404, "no prescribing data loaded (ipmo analytics ingest-epd)")
    return results


def catalogue_for(request: Request, results=None) -> catalogue.Catalogue:
    """Every measure for the app's analytics folder (marked with results when given)."""
    root = request.app.state.settings.analytics_dir
    return catalogue.load(root, results.values if results is not None else None)


def check_origin(origin: str) -> str | None:
    try:
        return catalogue.check_origin(origin)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


def check_org_type(org_type: str) -> str:
    if org_type not in LEVELS:
        raise HTTPException(422, f"org_type must be one of {', '.join(LEVELS)}")
    return org_type


def respond(rows: list[dict], fmt: str, filename: str) -> Response:
    if fmt == "csv":
        return csv_download(dashboard.to_csv(rows), f"{filename}.csv")
    if fmt != "json":
        raise HTTPException(422, "format must be json or csv")
    keep = [*dashboard.CSV_COLUMNS, "title", "opportunity", "direction"]
    return JSONResponse(
        [{k: (str(v) if k == "month" else v) for k, v in r.items() if k in keep} for r in rows]
    )


@router.get("/measures", response_model=list[MeasureRead])
def list_measures(
    request: Request,
    principal: Analyst,
    origin: str = "",
):
    """Every measure: OpenPrescribing's, ipmo's and ICS-defined; ``has_values`` when the loaded
    data gave it results."""
    results = cached_results(request.app.state.settings.analytics_dir)
    cat = catalogue_for(request, results)
    out = []
    for measure_id in cat.ids(check_origin(origin)):
        d, source = cat.definitions[measure_id], cat.sources[measure_id]
        out.append(
            {"id": d.id, "name": d.name, "title": d.title, "description": d.description,
             "origin": source.origin, "source": source.as_dict(),
             "is_percentage": d.is_percentage, "is_cost_based": d.is_cost_based,
             "low_is_good": d.low_is_good, "tags": list(d.tags),
             "has_values": measure_id in cat.with_values}
        )  # fmt: skip
    return out


@router.get("/measures/{measure_id}/values", response_model=list[MeasureValue], responses=CSV)
def measure_values(
    request: Request,
    measure_id: str,
    principal: Analyst,
    org_type: str = "practice",
    format: str = "json",  # noqa: A002 - the query parameter's public name
):
    results = results_for(request)
    cat = catalogue_for(request)
    if measure_id not in cat:
        raise HTTPException(404, f"unknown measure {measure_id}")
    rows = dashboard.rows_for(results.values, measure_id, check_org_type(org_type))
    return respond(dashboard.describe(rows, cat), format, f"{measure_id}-{org_type}")


@router.get("/overview", response_model=list[MeasureValue], responses=CSV)
def overview(
    request: Request,
    principal: Analyst,
    selected: Selected,
    format: str = "json",  # noqa: A002
    session: Session = Depends(db_session, scope="function"),
):
    """The overview's rows, as the page shows them (savings summed over the organisation's
    practices, position, trend, no-data flag)."""
    from ipmo.analytics.pages import names_directory

    results = results_for(request)
    org_type, org_code = check_org_type(selected.org_type), selected.org_code
    rows = dashboard.overview(
        results.values,
        catalogue_for(request),
        org_type,
        org_code,
        check_origin(selected.origin),
        names_directory(request, session),
    )
    return respond(rows, format, f"overview-{org_type}-{org_code}")


router.include_router(report_pages.api_router)  # /api/analytics/inequalities

router.include_router(review_rates_pages.api_router)  # /api/analytics/practice-review-rates
