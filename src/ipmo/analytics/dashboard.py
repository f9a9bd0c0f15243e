"""What the dashboard shows, as plain data: overview rows, a measure's deciles chart and league.

Pure functions over the cached measure results (Arrow tables) so pages, API and CSV downloads
show the same numbers. The chart is a Vega-Lite spec (deciles over time, dashed; the median bold;
the selected organisation red), the OpenPrescribing measure chart in declarative form.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

from ipmo.analytics.definitions import MeasureDefinition
from ipmo.analytics.engine import DECILES

CSV_COLUMNS = ["measure", "org_type", "org_code", "month", "numerator", "denominator"]
CSV_COLUMNS += ["calc_value", "percentile"] + [f"cost_saving_{c}" for c in DECILES]


def rows_for(values: pa.Table, measure: str | None, org_type: str, org_code: str | None = None):
    mask = pc.equal(values["org_type"], org_type)
    if measure:
        mask = pc.and_(mask, pc.equal(values["measure"], measure))
    if org_code:
        mask = pc.and_(mask, pc.equal(values["org_code"], org_code))
    return values.filter(mask).to_pylist()


def latest_month(values: pa.Table):
    return pc.max(values["month"]).as_py() if values.num_rows else None


def overview(
    values: pa.Table, definitions: dict[str, MeasureDefinition], org_type: str, org_code: str
) -> list[dict]:
    """One row per measure for the organisation's latest month, biggest opportunity first.

    Opportunity = the saving if the organisation matched the best-decile practice level
    (``cost_saving_10`` when low is good, ``cost_saving_90`` otherwise); measures without costs
    follow, worst percentile first.
    """
    out = []
    month = latest_month(values)
    for row in rows_for(values, None, org_type, org_code):
        if row["month"] != month or row["measure"] not in definitions:
            continue
        d = definitions[row["measure"]]
        best = "cost_saving_90" if d.low_is_good is False else "cost_saving_10"
        badness = (
            row["percentile"] if d.low_is_good is not False else 100 - (row["percentile"] or 0)
        )
        out.append(row | {"title": d.name, "opportunity": row[best], "badness": badness})
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
    y_title = "%" if definition.is_percentage else "per 1,000 patients"
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "description": f"{definition.name}: practice deciles and {org} over time",
        "width": "container",
        "height": 300,
        "data": {"values": series},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "month", "type": "temporal", "title": "Month"},
            "y": {"field": "value", "type": "quantitative", "title": y_title,
                  **({"axis": {"format": "%"}} if definition.is_percentage else {})},
            "detail": {"field": "line"},
            "color": {"field": "kind", "type": "nominal", "title": None,
                      "scale": {"domain": ["decile", "median", "organisation"],
                                "range": ["#768692", "#005eb8", "#d5281b"]}},
            "strokeDash": {"condition": {"test": "datum.kind === 'decile'", "value": [4, 3]},
                           "value": [1, 0]},
            "tooltip": [{"field": "line"}, {"field": "month", "type": "temporal"},
                        {"field": "value", "type": "quantitative", "format": ".3f"}],
        },
    }  # fmt: skip


def to_csv(rows: Iterable[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
