"""What the dashboard shows, as plain data: overview rows, a measure's deciles chart and league.

Pure functions over the cached measure results (Arrow tables) so pages, API and CSV downloads
show the same numbers. Every measure with results is shown — OpenPrescribing's, ipmo's own and
ICS-defined ones — each row carrying its name, origin, direction and source citation from the
``catalogue.Catalogue``. The chart is a Vega-Lite spec (deciles over time, dashed; the median bold;
the selected organisation red), the OpenPrescribing measure chart in declarative form.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

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


@dataclass(frozen=True)
class Directory:
    """Who is who in the analytics zone: names (the store's, then the EPD practice names) and the
    practices of each PCN, place, ICB and region (``practices.parquet``)."""

    names: Mapping[str, str] = field(default_factory=dict)
    members: Mapping[tuple[str, str], list[str]] = field(default_factory=dict)

    def name(self, code: str | None) -> str:
        return (self.names.get(code) or code or "") if code else ""

    def practices(self, org_type: str, org_code: str) -> list[str]:
        return self.members.get((org_type, org_code), [org_code] if org_type == "practice" else [])


def directory(root: Path, store_names: Mapping[str, str] | None = None) -> Directory:
    path = root / "practices.parquet"
    rows = pq.read_table(path).to_pylist() if path.exists() else []
    names = {r["practice"]: r["name"] for r in rows if r.get("name")} | dict(store_names or {})
    members: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in rows:
        members[("practice", r["practice"])].append(r["practice"])
        for level in ("pcn", "place", "icb", "region"):
            if r.get(level):
                members[(level, r[level])].append(r["practice"])
    return Directory(names, dict(members))


def scope_label(values: pa.Table) -> str:
    """Whose percentile: "national" only when more than one ICB's data is loaded."""
    icbs = values.filter(pc.equal(values["org_type"], "icb"))["org_code"]
    return "national" if len(pc.unique(icbs)) > 1 else "ICS"


def overview(
    values: pa.Table,
    catalogue: Catalogue,
    org_type: str,
    org_code: str,
    origin: str | None = None,
    places: Directory | None = None,
) -> list[dict]:
    """One row per measure for the organisation's latest month with data (``origin``: only
    OpenPrescribing, ipmo or ICS-defined measures; None: all), biggest saving first, then worst
    position; measures with no value this month ("no data in this ICS") last.

    Each row adds: ``opportunity`` — the saving if every one of the organisation's practices that
    is worse than the best practice decile matched it (the sum of their *positive*
    ``cost_saving_10``, or ``_90`` when high is good; a practice better than the decile saves
    nothing, it does not offset another). None when the measure is not cost-based. (The engine's
    own org-level saving compares a PCN with PCN deciles — with one ICB loaded, an ICB with
    itself — which reads as "–" or a negative "top saving".)
    ``rank`` and ``of`` — the position among the organisations of this level with a value (1 =
    lowest value), as a percentile over a dozen practices says little; ``trend`` — the monthly
    values (sparkline); ``no_data`` — no value this month."""
    places = places or Directory()
    # the latest month with any value for this organisation (a month whose data is still coming
    # in, or a fixture's last month, would show every measure as "no data")
    own = values.filter(
        pc.and_(pc.equal(values["org_type"], org_type), pc.equal(values["org_code"], org_code))
    )
    own = own.filter(pc.is_valid(own["calc_value"]))
    month = latest_month(own) if own.num_rows else latest_month(values)
    wanted = set(catalogue.ids(origin))
    level = values.filter(
        pc.and_(pc.equal(values["org_type"], org_type), pc.equal(values["month"], month))
    ) if month is not None else values.slice(0, 0)  # fmt: skip
    counts: dict[str, int] = defaultdict(int)
    for m, v in zip(level["measure"].to_pylist(), level["calc_value"].to_pylist(), strict=True):
        counts[m] += v is not None
    members = set(places.practices(org_type, org_code))
    saving: dict[str, float] = defaultdict(float)
    costed: set[str] = set()
    if members and month is not None:
        practice_rows = values.filter(
            pc.and_(pc.equal(values["org_type"], "practice"), pc.equal(values["month"], month))
        )
        for r in practice_rows.filter(
            pc.is_in(practice_rows["org_code"], pa.array(sorted(members)))
        ).to_pylist():
            d = catalogue.definitions.get(r["measure"])
            if d is None:
                continue
            best = r["cost_saving_90" if d.low_is_good is False else "cost_saving_10"]
            if best is not None:
                costed.add(r["measure"])
                saving[r["measure"]] += max(best, 0.0)
    trends: dict[str, list[tuple]] = defaultdict(list)
    out = []
    for row in describe(rows_for(values, None, org_type, org_code), catalogue):
        if row["measure"] not in wanted:
            continue
        if row["calc_value"] is not None:
            trends[row["measure"]].append((row["month"], row["calc_value"]))
        if row["month"] != month:
            continue
        d = catalogue.definitions[row["measure"]]
        pct = row["percentile"]
        badness = pct if d.low_is_good is not False else 100 - (pct or 0)
        n = counts[row["measure"]]
        out.append(
            row | {"title": d.name, "badness": badness,
                   "opportunity": saving[row["measure"]] if row["measure"] in costed else None,
                   "value_text": format_value(row["calc_value"], d.is_percentage),
                   "no_data": row["calc_value"] is None,
                   "rank": round(pct / 100 * (n - 1)) + 1 if pct is not None and n else None,
                   "of": n, "org_name": places.name(org_code)}
        )  # fmt: skip
    for r in out:
        r["trend"] = sorted(trends.get(r["measure"], []))
    out.sort(key=lambda r: (r["no_data"], -(r["opportunity"] or 0), -(r["badness"] or 0)))
    return out


def sparkline(points: list[tuple], width: int = 96, height: int = 24) -> str:
    """A tiny inline SVG of a monthly series (decorative: the value is in the next cell)."""
    values = [float(v) for _m, v in points]
    if len(values) < 2:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    step = (width - 4) / (len(values) - 1)
    coords = " ".join(
        f"{2 + i * step:.1f},{height - 2 - (v - lo) / span * (height - 4):.1f}"
        for i, v in enumerate(values)
    )
    x, y = coords.rsplit(" ", 1)[-1].split(",")
    return (
        f'<svg class="sparkline" aria-hidden="true" focusable="false" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}"><polyline points="{coords}" '
        f'fill="none" stroke="#005eb8" stroke-width="1.5"/><circle cx="{x}" cy="{y}" r="2" '
        f'fill="#005eb8"/></svg>'
    )


def league(values: pa.Table, measure: str, org_type: str, low_is_good: bool | None) -> list[dict]:
    month = latest_month(values.filter(pc.equal(values["measure"], measure)))
    rows = [r for r in rows_for(values, measure, org_type) if r["month"] == month]
    reverse = low_is_good is False
    return sorted(
        rows,
        key=lambda r: (r["calc_value"] is None, (r["calc_value"] or 0) * (-1 if reverse else 1)),
    )


def deciles_chart(
    globals_: pa.Table,
    values: pa.Table,
    definition: MeasureDefinition,
    org_type: str,
    org: str,
    org_name: str | None = None,
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
            series.append({"month": str(r["month"]), "line": org_name or org,
                           "value": r["calc_value"],
                           "kind": "organisation"})  # fmt: skip
    return monthly_lines(
        f"{definition.name}: practice deciles and {org_name or org} over time",
        series,
        "%" if definition.is_percentage else _y_label(definition),
        definition.is_percentage,
        detail={"field": "line"},
        color={"field": "kind", "type": "nominal", "title": None,
               "scale": {"domain": ["decile", "median", "organisation"],
                         "range": ["#768692", "#005eb8", "#d5281b"]}},
        strokeDash={"condition": {"test": "datum.kind === 'decile'", "value": [4, 3]},
                    "value": [1, 0]},
        tooltip=[{"field": "line"}, {"field": "month", "type": "temporal", "format": "%B %Y"},
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
