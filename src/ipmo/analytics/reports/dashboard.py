"""What the dashboard shows, as plain data: overview rows, a measure's deciles chart and league.

Pure functions over the cached measure results (Arrow tables) so pages, API and CSV downloads
show the same numbers. Every measure with results is shown — OpenPrescribing's, ipmo's own and
ICS-defined ones — each row carrying its name, origin, direction and source citation from the
``catalogue.Catalogue``. The chart is a Vega-Lite spec (deciles over time, dashed; the median bold;
the selected organisation red), the OpenPrescribing measure chart in declarative form.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

from ipmo.analytics.compute.engine import DECILES
from ipmo.analytics.measures.definitions import MeasureDefinition
from ipmo.analytics.reports.catalogue import Catalogue
from ipmo.analytics.reports.report import format_value
from ipmo.analytics.reports.vega import monthly_lines
from ipmo.web.downloads import csv_text

CSV_COLUMNS = ["measure", "org_type", "org_code", "month", "numerator", "denominator"]
CSV_COLUMNS += ["calc_value", "percentile"] + [f"cost_saving_{c}" for c in DECILES]
# what the catalogue says about each row's measure (after the numbers, so old readers still work)
CSV_COLUMNS += ["name", "origin", "low_is_good", "source"]


def rows_for(values: pa.Table, measure: str | None, org_type: str, org_code: str | None = None):
    mask = pc.equal(values["org_type"], org_type)
    if measure:
        mask = pc.and_(mask, pc.equal(values["measure"], measure))
    if org_code:
        mask = pc.and_(mask, pc.equal(values["org_code"], org_code))
    return values.filter(mask).to_pylist()


def latest_month(values: pa.Table):
    return pc.max(values["month"]).as_py() if values.num_rows else None


def describe(rows: Iterable[dict], catalogue: Catalogue) -> list[dict]:
    """``rows`` of measures the catalogue knows, each with its name, origin, direction, source."""
    return [r | catalogue.info(r["measure"]) for r in rows if r["measure"] in catalogue]


def overview(
    values: pa.Table,
    catalogue: Catalogue,
    org_type: str,
    org_code: str,
    origin: str | None = None,
) -> list[dict]:
    """One row per measure for the organisation's latest month, biggest opportunity first
    (``origin``: only OpenPrescribing, ipmo or ICS-defined measures; None: all).

    Opportunity = the saving if the organisation matched the best-decile practice level
    (``cost_saving_10`` when low is good, ``cost_saving_90`` otherwise); measures without costs
    follow, worst percentile first.
    """
    out = []
    month = latest_month(values)
    wanted = set(catalogue.ids(origin))
    for row in describe(rows_for(values, None, org_type, org_code), catalogue):
        if row["month"] != month or row["measure"] not in wanted:
            continue
        d = catalogue.definitions[row["measure"]]
        best = "cost_saving_90" if d.low_is_good is False else "cost_saving_10"
        badness = (
            row["percentile"] if d.low_is_good is not False else 100 - (row["percentile"] or 0)
        )
        out.append(
            row | {"title": d.name, "opportunity": row[best], "badness": badness,
                   "value_text": format_value(row["calc_value"], d.is_percentage)}
        )  # fmt: skip
    out.sort(key=lambda r: (-(r["opportunity"] or 0), -(r["badness"] or 0)))
    return out


def league(values: pa.Table, measure: str, org_type: str, low_is_good: bool | None) -> list[dict]:
    month = latest_month(values.filter(pc.equal(values["measure"], measure)))
    rows = [r for r in rows_for(values, measure, org_type) if r["month"] == month]
    reverse = low_is_good is False
    return sorted(
        rows,
        key=lambda r: (r["calc_value"] is None, (r["calc_value"] or 0) * (-1 if reverse else 1)),
    )


def deciles_chart(
    globals_: pa.Table, values: pa.Table, definition: MeasureDefinition, org_type: str, org: str
) -> dict:
    """Vega-Lite spec: practice deciles by month and the organisation's own line."""
    series = []
    for g in globals_.filter(
        pc.and_(
            pc.equal(globals_["measure"], definition.id), pc.equal(globals_["org_type"], "practice")
        )
    ).to_pylist():
        for c in DECILES:
            if g[f"p{c}"] is not None:
                kind = "median" if c == 50 else "decile"
                series.append(
                    {"month": str(g["month"]), "line": f"p{c}", "value": g[f"p{c}"], "kind": kind}
                )
    for r in rows_for(values, definition.id, org_type, org):
        if r["calc_value"] is not None:
            series.append({"month": str(r["month"]), "line": org, "value": r["calc_value"],
                           "kind": "organisation"})  # fmt: skip
    return monthly_lines(
        f"{definition.name}: practice deciles and {org} over time",
        series,
        "%" if definition.is_percentage else _y_label(definition),
        definition.is_percentage,
        detail={"field": "line"},
        color={"field": "kind", "type": "nominal", "title": None,
               "scale": {"domain": ["decile", "median", "organisation"],
                         "range": ["#768692", "#005eb8", "#d5281b"]}},
        strokeDash={"condition": {"test": "datum.kind === 'decile'", "value": [4, 3]},
                    "value": [1, 0]},
        tooltip=[{"field": "line"}, {"field": "month", "type": "temporal"},
                 {"field": "value", "type": "quantitative", "format": ".3f"}],
    )  # fmt: skip


def _y_label(definition: MeasureDefinition) -> str:
    label = definition.raw.get("y_label")
    if label:
        return " ".join(label) if isinstance(label, list) else str(label)
    if definition.denominator.type == "list_size":
        return "per 1,000 patients"
    return "numerator ÷ denominator"


def to_csv(rows: Iterable[dict]) -> str:
    return csv_text(rows, CSV_COLUMNS)
