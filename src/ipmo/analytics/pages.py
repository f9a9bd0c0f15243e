"""Dashboard pages: the ICS overview, a measure's deciles chart and league table.

Every measure in the catalogue (``catalogue.py``: OpenPrescribing's, ipmo's own, ICS-defined)
has a row in the overview, filterable by origin, and a measure page citing its source.
"""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.analytics import report_pages, review_rates_pages
from ipmo.analytics.access import Analyst, Selected, nav_item
from ipmo.analytics.api import catalogue_for, check_org_type, check_origin
from ipmo.analytics.compute.engine import LEVELS
from ipmo.analytics.compute.service import cached_results
from ipmo.analytics.reports import dashboard
from ipmo.analytics.reports.catalogue import DIRECTIONS, ORIGINS
from ipmo.organisations import Organisation
from ipmo.web.deps import db_session
from ipmo.web.paging import page_from, pagination
from ipmo.web.templating import render

router = APIRouter(include_in_schema=False)
NAV = [
    nav_item(
        "Medicines dashboard",
        "/analytics",
        "OpenPrescribing, ipmo and ICS-defined measures by practice, PCN, place and ICB, sorted "
        "by opportunity",
    )
]


STATIC = Path(__file__).with_name("static")
ASSETS = {p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*.js")}


@router.get("/analytics/assets/{name:path}")
def asset(name: str):
    """The chart scripts (served here as well as /static/analytics: the spine mounts /static
    first, which shadows domain folders)."""
    if name not in ASSETS:
        raise HTTPException(404, "no such asset")
    return FileResponse(STATIC / name, media_type="text/javascript")


def _orgs(values, org_type: str) -> list[str]:
    return sorted({r for r in dashboard.pc.unique(
        values.filter(dashboard.pc.equal(values["org_type"], org_type))["org_code"]
    ).to_pylist()})  # fmt: skip


def _json_script(data) -> Markup:
    # JSON for a <script type="application/json"> block: "<" escaped so it cannot close the tag
    return Markup(json.dumps(data, default=str).replace("<", "\\u003c"))  # noqa: S704


LEVEL_LABELS = {"practice": "Practice", "pcn": "PCN", "place": "Place", "icb": "ICB",
                "region": "Region"}  # fmt: skip


def names_directory(request: Request, session: Session) -> dashboard.Directory:
    """Names from the store's organisations (the ICS's own), then the EPD's practice names."""
    store = {
        code: name
        for code, name in session.execute(select(Organisation.ods_code, Organisation.name))
    }
    return dashboard.directory(request.app.state.settings.analytics_dir, store)


@router.get("/analytics")
def overview_page(
    request: Request,
    principal: Analyst,
    selected: Selected,
    session: Session = Depends(db_session, scope="function"),
):
    org_type, org_code = check_org_type(selected.org_type), selected.org_code
    origin = check_origin(selected.origin) or ""
    results = cached_results(request.app.state.settings.analytics_dir)
    context = {"levels": [lv for lv in LEVELS if lv != "national"], "org_type": org_type,
               "origins": ORIGINS, "origin": origin, "level_labels": LEVEL_LABELS}  # fmt: skip
    if results is None:
        return render(request, "analytics/overview.html", context | {"rows": None})
    places = names_directory(request, session)
    orgs = sorted(_orgs(results.values, org_type), key=lambda c: (places.name(c), c))
    org_code = org_code if org_code in orgs else (orgs[0] if orgs else "")
    cat = catalogue_for(request, results)
    rows = dashboard.overview(results.values, cat, org_type, org_code, origin or None, places)
    for r in rows:
        r["spark"] = Markup(dashboard.sparkline(r["trend"]))  # noqa: S704 - numbers only
    return render(
        request,
        "analytics/overview.html",
        context | {"rows": [r for r in rows if not r["no_data"]],
                   "no_data": [r for r in rows if r["no_data"]],
                   "orgs": [(o, places.name(o)) for o in orgs], "org_code": org_code,
                   "org_name": places.name(org_code),
                   "scope": dashboard.scope_label(results.values),
                   "month": dashboard.latest_month(results.values)},
    )  # fmt: skip


LEAGUE_SORTS = {"worst": "Worst first", "best": "Best first", "name": "Name (A to Z)"}


@router.get("/analytics/measures/{measure_id}")
def measure_page(
    request: Request,
    measure_id: str,
    principal: Analyst,
    org_type: str = "icb",
    org_code: str = "",
    sort: str = "worst",
    q: str = "",
    page: str = "1",
    session: Session = Depends(db_session, scope="function"),
):
    results = cached_results(request.app.state.settings.analytics_dir)
    cat = catalogue_for(request, results)
    if measure_id not in cat:
        raise HTTPException(404, f"unknown measure {measure_id}")
    check_org_type(org_type)
    definition = cat.definitions[measure_id]
    if results is None:
        raise HTTPException(404, "no prescribing data loaded")
    places = names_directory(request, session)
    orgs = sorted(_orgs(results.values, org_type), key=lambda c: (places.name(c), c))
    org_code = org_code if org_code in orgs else (orgs[0] if orgs else "")
    chart = dashboard.deciles_chart(
        results.globals, results.values, definition, org_type, org_code, places.name(org_code)
    )
    sort = sort if sort in LEAGUE_SORTS else "worst"
    league = dashboard.league(results.values, measure_id, org_type, definition.low_is_good)
    for rank, r in enumerate(league, start=1):
        r["rank"], r["name"] = rank, places.name(r["org_code"])
    if sort == "best":
        league = league[::-1]
    elif sort == "name":
        league = sorted(league, key=lambda r: r["name"].lower())
    wanted = q.strip().lower()
    shown = [r for r in league if not wanted or wanted in f"{r['name']} {r['org_code']}".lower()]
    at = page_from(page, per_page=50)
    rows = shown[at.offset : at.offset + at.per_page]
    noun = f"{LEVEL_LABELS.get(org_type, org_type)}s" + (
        f" matching “{q.strip()}”" if wanted else ""
    )
    return render(
        request,
        "analytics/measure.html",
        {
            "d": definition,
            "source": cat.sources[measure_id],
            "direction": DIRECTIONS[definition.low_is_good],
            "has_values": measure_id in cat.with_values,
            "why": Markup(
                definition.raw.get("why_it_matters")
                and "".join(definition.raw["why_it_matters"])
                or ""
            ),  # noqa: S704,E501 - the peer's reviewed HTML; ICS text is escaped (ics_measures.py)
            "org_type": org_type,
            "org_code": org_code,
            "org_name": places.name(org_code),
            "orgs": [(o, places.name(o)) for o in orgs],
            "levels": [lv for lv in LEVELS if lv != "national"],
            "level_labels": LEVEL_LABELS,
            "league": rows,
            "league_total": len(league),
            "paging": pagination(request, at, len(shown), len(rows), noun),
            "sort": sort,
            "sorts": LEAGUE_SORTS,
            "q": q,
            "scope": dashboard.scope_label(results.values),
            "spec": _json_script(chart),
        },
    )


# medicines on a page (/analytics/report/…) and the inequality view (/analytics/inequalities)
router.include_router(report_pages.router)
NAV.extend(report_pages.NAV)

# practice PINCER / SMR-cohort rates per 1,000 patients (/analytics/practice-review-rates)
router.include_router(review_rates_pages.router)
NAV.extend(review_rates_pages.NAV)
