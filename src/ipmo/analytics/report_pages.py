"""Web routes of the medicines-on-a-page report and the deprivation inequality view.

Included by ``pages.py`` (pages) and ``api.py`` (JSON/CSV API); every route needs the
``analytics.view`` activity, like the rest of the dashboard.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import Markup

from ipmo.analytics.access import Analyst, nav_item
from ipmo.analytics.compute.service import cached_results
from ipmo.analytics.reports import inequalities as ineq
from ipmo.analytics.reports import report
from ipmo.analytics.schemas import CSV, InequalityRow
from ipmo.web.downloads import csv_download
from ipmo.web.templating import render

router = APIRouter(include_in_schema=False)
api_router = APIRouter()
NAV = [
    nav_item(
        "Prescribing inequalities",
        "/analytics/inequalities",
        "Measures by practice deprivation quintile (IMD), with the gap and slope index",
    )
]
MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf", "csv": "text/csv"}


def _results(request: Request):
    results = cached_results(request.app.state.settings.analytics_dir)
    if results is None:
        raise HTTPException(404, "no prescribing data loaded (ipmo analytics ingest-epd)")
    return results


@router.get("/analytics/report/{org_code}.{fmt}")
def report_download(
    request: Request,
    org_code: str,
    fmt: str,
    principal: Analyst,
    org_type: str | None = None,
):
    """Medicines on a page for one organisation: ``.html`` (shown), ``.pdf`` or ``.csv``."""
    if fmt not in MEDIA:
        raise HTTPException(404, "the report is available as .html, .pdf or .csv")
    results = _results(request)
    root = request.app.state.settings.analytics_dir
    try:
        view, body = report.for_org(results, root, org_code, org_type, fmt)
    except report.ReportError as exc:
        raise HTTPException(404, str(exc)) from None
    except report.PdfUnavailable as exc:
        raise HTTPException(501, str(exc)) from None
    if fmt == "html":
        return HTMLResponse(body)
    disposition = f'attachment; filename="{report.file_name(view, fmt)}"'
    return Response(body, media_type=MEDIA[fmt], headers={"Content-Disposition": disposition})


def _measure_choices(values, definitions) -> list[tuple[str, str]]:
    """Measures with at least one practice value, by name."""
    import pyarrow.compute as pc

    practice = values.filter(
        pc.and_(pc.equal(values["org_type"], "practice"), pc.is_valid(values["calc_value"]))
    )
    ids = set(pc.unique(practice["measure"]).to_pylist()) & set(definitions)
    return sorted(((i, definitions[i].name) for i in ids), key=lambda m: m[1].lower())


def _json_script(data) -> Markup:
    # JSON for a <script type="application/json"> block: "<" escaped so it cannot close the tag
    return Markup(json.dumps(data, default=str).replace("<", "\\u003c"))  # noqa: S704


@router.get("/analytics/inequalities")
def inequalities_page(request: Request, principal: Analyst, measure: str = ""):
    root = request.app.state.settings.analytics_dir
    results = cached_results(root)
    deciles = ineq.load_deprivation(root)
    context: dict = {"results": results is not None, "deprivation": deciles is not None}
    if results is None or deciles is None:
        return render(request, "analytics/inequalities.html", context)
    definitions = report.report_definitions(root)
    choices = _measure_choices(results.values, definitions)
    if measure and measure not in definitions:
        raise HTTPException(404, f"unknown measure {measure}")
    measure = measure or (choices[0][0] if choices else "")
    rows = ineq.inequalities(results.values, deciles, measure) if measure else []
    d = definitions.get(measure)
    with_decile, practices = ineq.coverage(results.values, deciles)
    return render(
        request,
        "analytics/inequalities.html",
        context | {
            "choices": choices, "measure": measure, "d": d, "table": ineq.by_month(rows),
            "with_decile": with_decile, "practices": practices,
            "spec": _json_script(ineq.chart_spec(rows, d.name, d.is_percentage) if d else {}),
        },
    )  # fmt: skip


@api_router.get("/inequalities", response_model=list[InequalityRow], responses=CSV)
def inequalities_api(
    request: Request,
    principal: Analyst,
    measure: str = "",
    format: str = "json",  # noqa: A002 - the query parameter's public name
):
    """Each measure's value per practice IMD quintile (1 = most deprived), with gap and SII."""
    if format not in ("json", "csv"):
        raise HTTPException(422, "format must be json or csv")
    results = _results(request)
    root = request.app.state.settings.analytics_dir
    deciles = ineq.load_deprivation(root)
    if deciles is None:
        raise HTTPException(
            404, "no practice deprivation loaded (ipmo analytics ingest-deprivation)"
        )
    if measure and measure not in report.report_definitions(root):
        raise HTTPException(404, f"unknown measure {measure}")
    rows = ineq.inequalities(results.values, deciles, measure or None)
    if format == "csv":
        return csv_download(ineq.to_csv(rows), f"inequalities-{measure or 'all'}.csv")
    return JSONResponse(ineq.to_json(rows))
