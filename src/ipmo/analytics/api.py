"""JSON/CSV API of the medicines dashboard (population analytics; no patient-level data)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from ipmo.analytics import dashboard
from ipmo.analytics.definitions import load_definitions
from ipmo.analytics.engine import LEVELS
from ipmo.analytics.service import cached_results
from ipmo.security import Activity, Principal
from ipmo.web.deps import require

router = APIRouter(prefix="/api/analytics", tags=["analytics"])


def results_for(request: Request):
    results = cached_results(request.app.state.settings.analytics_dir)
    if results is None:
        raise HTTPException(404, "no prescribing data loaded (ipmo analytics ingest-epd)")
    return results


def check_org_type(org_type: str) -> str:
    if org_type not in LEVELS:
        raise HTTPException(422, f"org_type must be one of {', '.join(LEVELS)}")
    return org_type


def respond(rows: list[dict], fmt: str, filename: str) -> Response:
    if fmt == "csv":
        return Response(
            dashboard.to_csv(rows),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
        )
    if fmt != "json":
        raise HTTPException(422, "format must be json or csv")
    keep = [*dashboard.CSV_COLUMNS, "title", "opportunity"]
    return JSONResponse(
        [{k: (str(v) if k == "month" else v) for k, v in r.items() if k in keep} for r in rows]
    )


@router.get("/measures")
def list_measures(principal: Principal = Depends(require(Activity.ANALYTICS_VIEW))):
    return [
        {"id": d.id, "name": d.name, "is_percentage": d.is_percentage,
         "is_cost_based": d.is_cost_based, "low_is_good": d.low_is_good, "tags": list(d.tags)}
        for d in load_definitions().values()
    ]  # fmt: skip


@router.get("/measures/{measure_id}/values")
def measure_values(
    request: Request,
    measure_id: str,
    org_type: str = "practice",
    format: str = "json",  # noqa: A002 - the query parameter's public name
    principal: Principal = Depends(require(Activity.ANALYTICS_VIEW)),
):
    if measure_id not in load_definitions():
        raise HTTPException(404, f"unknown measure {measure_id}")
    rows = dashboard.rows_for(results_for(request).values, measure_id, check_org_type(org_type))
    return respond(rows, format, f"{measure_id}-{org_type}")


@router.get("/overview")
def overview(
    request: Request,
    org_type: str = "icb",
    org_code: str = "",
    format: str = "json",  # noqa: A002
    principal: Principal = Depends(require(Activity.ANALYTICS_VIEW)),
):
    results = results_for(request)
    rows = dashboard.overview(
        results.values, load_definitions(), check_org_type(org_type), org_code
    )
    return respond(rows, format, f"overview-{org_type}-{org_code}")
