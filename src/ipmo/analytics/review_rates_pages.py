"""Web routes for the practice PINCER / SMR-cohort rates (computed in ``review/rates.py``).

Included by ``pages.py`` (the page) and ``api.py`` (JSON/CSV under ``/api/analytics``); both need
the ``analytics.view`` activity. Only disclosure-controlled aggregates leave these routes.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy.orm import Session

from ipmo.analytics.access import Analyst, nav_item
from ipmo.analytics.schemas import CSV
from ipmo.review import RATE_FAMILIES as FAMILIES
from ipmo.review import PracticeRuleRate, practice_review_rates, rates_table
from ipmo.web.deps import db_session
from ipmo.web.downloads import csv_download, csv_text
from ipmo.web.paging import RatesFilter, rates_view
from ipmo.web.templating import render

router = APIRouter(include_in_schema=False)
api_router = APIRouter()
NAV = [
    nav_item(
        "Practice safety and SMR rates",
        "/analytics/practice-review-rates",
        "Patients flagged by each PINCER indicator and SMR cohort per 1,000 registered patients",
    )
]


def _families(family: str) -> tuple[str, ...]:
    if family == "all":
        return FAMILIES
    if family not in FAMILIES:
        raise HTTPException(422, f"family must be one of {', '.join(FAMILIES)} or all")
    return (family,)


@api_router.get("/practice-review-rates", response_model=list[PracticeRuleRate], responses=CSV)
def rates_api(
    principal: Analyst,
    family: str = "all",
    format: str = "json",  # noqa: A002 - the query parameter's public name
    session: Session = Depends(db_session, scope="function"),
):
    rows = practice_review_rates(session, families=_families(family))
    if format == "csv":
        table = rates_table(rows)
        text = csv_text(table.to_pylist(), table.column_names)
        return csv_download(text, "practice-review-rates.csv")
    if format != "json":
        raise HTTPException(422, "format must be json or csv")
    return [asdict(r) | {"as_of": r.as_of.isoformat()} for r in rows]


@router.get("/analytics/practice-review-rates")
def rates_page(
    request: Request,
    principal: Analyst,
    family: str = "pincer",
    asked: RatesFilter = Depends(),
    session: Session = Depends(db_session, scope="function"),
):
    family = family if family in FAMILIES else "pincer"
    rows = practice_review_rates(session, families=(family,))
    view = rates_view(
        request,
        [
            asdict(r)
            | {
                "org": r.practice,
                "org_name": r.practice_name,
                "rule_title": r.title,
                "rate": r.per_1000,
            }  # fmt: skip
            for r in rows
        ],
        asked,
    )
    return render(
        request,
        "analytics/practice_review_rates.html",
        {"view": view, "as_of": rows[0].as_of if rows else None, "any": bool(rows),
         "family": family, "families": FAMILIES},
    )  # fmt: skip
