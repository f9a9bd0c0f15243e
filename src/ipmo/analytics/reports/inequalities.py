"""Prescribing inequalities by practice deprivation: each measure's value per IMD quintile, the
gap between the most and least deprived quintiles and the slope index of inequality (SII).

Deprivation is each practice's Index of Multiple Deprivation decile (1 = the most deprived tenth
of practices in England), kept in ``practice_deprivation.parquet`` in the analytics folder. It is a
table of its own rather than a column of ``practices.parquet`` because it comes from another
source (OHID Fingertips' National General Practice Profiles publish an IMD score per practice) on
its own cycle, and the prescribing ingests that rebuild ``practices.parquet`` must not drop it.

Definitions (all from the practice rows of the cached measure results, so every number can be
re-added by hand from the practice league tables):

* quintile = ⌈decile / 2⌉: deciles 1–2 → quintile 1 (most deprived) … 9–10 → quintile 5;
* a quintile's numerator and denominator are the sums over its practices (the roll-up used for
  PCNs and ICBs, README "Semantics"); value = numerator / denominator, None when the denominator
  is 0;
* ``gap`` = value(quintile 1) − value(quintile 5): positive when the most deprived fifth of
  practices has the higher value;
* ``sii`` — Low & Low (2004), as in OHID's "Slope index of inequality (SII) and relative index of
  inequality (RII)" technical guide (fingertips.phe.org.uk, public-health-technical-guidance/
  Inequality/SII): a weighted least-squares line of the quintile values on each quintile's
  relative rank (the midpoint of its cumulative share of the population, ordered from most to
  least deprived), weighted by that share; the population is the measure's denominator (items,
  quantity or patients). Reported as fitted(most deprived end) − fitted(least deprived end), i.e.
  minus the slope, so it has the same sign as ``gap``. None with fewer than two quintiles with a
  value.
"""

from __future__ import annotations

import csv
import math
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ipmo.analytics.ingest import datastore
from ipmo.analytics.ingest.epd import IngestError
from ipmo.analytics.reports.vega import monthly_lines
from ipmo.web.downloads import csv_text

DEPRIVATION_FILE = "practice_deprivation.parquet"
DEPRIVATION_SCHEMA = pa.schema([("practice", pa.string()), ("imd_decile", pa.int8())])
QUINTILES = (1, 2, 3, 4, 5)
CSV_COLUMNS = ["measure", "month", "quintile", "practices", "numerator", "denominator", "value"]
CSV_COLUMNS += ["gap", "sii"]


def quintile_of(decile: int) -> int:
    if not 1 <= decile <= 10:
        raise ValueError(f"IMD decile must be 1–10, not {decile}")
    return (decile + 1) // 2


# ── deprivation table ──────────────────────────────────────────────────────────────────────────


def deprivation_path(root: Path) -> Path:
    return root / DEPRIVATION_FILE


def load_deprivation(root: Path) -> dict[str, int] | None:
    """practice → IMD decile, or None when no deprivation has been loaded."""
    path = deprivation_path(root)
    if not path.exists():
        return None
    table = pq.read_table(path)
    return dict(zip(table["practice"].to_pylist(), table["imd_decile"].to_pylist(), strict=True))


def store_deprivation(deciles: dict[str, int], root: Path | None = None) -> int:
    """Replace the deprivation table (written whole, or not at all)."""
    root = datastore.data_dir(root)
    for practice, decile in deciles.items():
        quintile_of(decile)  # validates
        if not practice:
            raise ValueError("empty practice code")
    table = pa.table(
        {"practice": sorted(deciles), "imd_decile": [deciles[p] for p in sorted(deciles)]},
        schema=DEPRIVATION_SCHEMA,
    )
    with datastore.staged() as writes:
        pq.write_table(table, writes.path_for(deprivation_path(root)))
    return table.num_rows


def deciles_from_scores(scores: dict[str, float]) -> dict[str, int]:
    """National deciles from IMD scores (higher score = more deprived): the 10% of practices with
    the highest scores are decile 1. Only right for a file covering every practice in England."""
    ordered = sorted(scores, key=lambda p: (-scores[p], p))
    n = len(ordered)
    return {p: i * 10 // n + 1 for i, p in enumerate(ordered)}


def read_deprivation_csv(path: Path) -> dict[str, int]:
    """``practice`` and ``imd_decile`` (1–10), or ``practice`` and ``imd_score`` (IMD 2019 score,
    turned into national deciles; the decile wins when both are given); an optional ``name``
    column is ignored."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip().lower() for h in reader.fieldnames or []]
            rows = list(reader)
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(f"{path}: cannot read: {exc}") from exc
    kind = "imd_decile" if "imd_decile" in header else "imd_score"
    unknown = [h for h in header if h not in ("practice", "name", "imd_decile", "imd_score")]
    if "practice" not in header or kind not in header or unknown:
        detail = f"; unknown columns {', '.join(unknown)}" if unknown else ""
        raise IngestError(f"{path}: expected columns practice and imd_decile or imd_score{detail}")
    values: dict[str, float] = {}
    for n, raw in enumerate(rows, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        practice, text = row["practice"], row[kind]
        try:
            value = float(text) if kind == "imd_score" else int(text)
        except ValueError:
            raise IngestError(f"{path}, row {n}: {kind} {text!r} is not a number") from None
        if not practice:
            raise IngestError(f"{path}, row {n}: missing practice code")
        if kind == "imd_decile" and not 1 <= value <= 10:
            raise IngestError(f"{path}, row {n}: imd_decile {text} is not between 1 and 10")
        if kind == "imd_score" and not math.isfinite(value):
            raise IngestError(f"{path}, row {n}: imd_score {text!r} is not a number")
        if practice in values:
            raise IngestError(f"{path}, row {n}: practice {practice} appears twice")
        values[practice] = value
    if not values:
        raise IngestError(f"{path}: no practices")
    if kind == "imd_score":
        return deciles_from_scores(values)
    return {p: int(v) for p, v in values.items()}


def ingest_deprivation(path: Path, root: Path | None = None) -> int:
    return store_deprivation(read_deprivation_csv(path), root)


def demo_deciles(practices: list[str], seed: int) -> dict[str, int]:
    """Synthetic deciles for the demo's synthetic practices (uniform, reproducible per seed)."""
    rng = random.Random(seed)
    return {p: rng.randint(1, 10) for p in sorted(practices)}


def populate_demo(seed: int, root: Path | None = None) -> int:
    """Give every practice of the analytics practices table a synthetic IMD decile."""
    root = datastore.data_dir(root)
    practices = pq.read_table(root / "practices.parquet", columns=["practice"])
    return store_deprivation(demo_deciles(practices["practice"].to_pylist(), seed), root)


# ── quintile values ────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class QuintileValue:
    measure: str
    month: object  # datetime.date
    quintile: int
    practices: int
    numerator: float
    denominator: float
    value: float | None


def quintile_values(
    practice_rows: list[dict], deciles: dict[str, int], measure: str | None = None
) -> list[QuintileValue]:
    """Sum practice numerators and denominators per measure × month × quintile.

    ``practice_rows``: rows with measure, org_code, month, numerator, denominator (practice
    level). Practices without a decile are left out (``coverage`` counts them).
    """
    sums: dict[tuple, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for row in practice_rows:
        if measure and row["measure"] != measure:
            continue
        decile = deciles.get(row["org_code"])
        if decile is None:
            continue
        acc = sums[(row["measure"], row["month"], quintile_of(decile))]
        acc[0] += 1
        acc[1] += row["numerator"] or 0.0
        acc[2] += row["denominator"] or 0.0
    return [
        QuintileValue(m, month, q, int(n), num, den, num / den if den else None)
        for (m, month, q), (n, num, den) in sorted(sums.items())
    ]


def slope_index(values: list[QuintileValue]) -> float | None:
    """SII of one measure-month (see the module docstring): most minus least deprived end."""
    groups = sorted((v for v in values if v.value is not None), key=lambda v: v.quintile)
    total = sum(v.denominator for v in groups)
    if len(groups) < 2 or total <= 0:
        return None
    ranks: list[float] = []
    weights: list[float] = []
    cumulative = 0.0
    for v in groups:
        share = v.denominator / total
        ranks.append(cumulative + share / 2)
        weights.append(share)
        cumulative += share
    mean_x = sum(w * x for w, x in zip(weights, ranks, strict=True))
    ys = [v.value for v in groups if v.value is not None]  # all of them (filtered above)
    mean_y = sum(w * y for w, y in zip(weights, ys, strict=True))
    sxx = sum(w * (x - mean_x) ** 2 for w, x in zip(weights, ranks, strict=True))
    if sxx == 0:
        return None
    sxy = sum(w * (x - mean_x) * (y - mean_y) for w, x, y in zip(weights, ranks, ys, strict=True))
    return -sxy / sxx


def inequality_rows(values: list[QuintileValue]) -> list[dict]:
    """One row per measure × month × quintile, with that measure-month's gap and SII."""
    by_key: dict[tuple, list[QuintileValue]] = defaultdict(list)
    for v in values:
        by_key[(v.measure, v.month)].append(v)
    out = []
    for (measure, month), group in sorted(by_key.items()):
        value = {v.quintile: v.value for v in group}
        first, last = value.get(1), value.get(5)
        gap = first - last if first is not None and last is not None else None
        sii = slope_index(group)
        for v in sorted(group, key=lambda v: v.quintile):
            out.append(
                {"measure": measure, "month": month, "quintile": v.quintile,
                 "practices": v.practices, "numerator": v.numerator,
                 "denominator": v.denominator, "value": v.value, "gap": gap, "sii": sii}
            )  # fmt: skip
    return out


def practice_rows(values: pa.Table, measure: str | None = None) -> list[dict]:
    import pyarrow.compute as pc

    mask = pc.equal(values["org_type"], "practice")
    if measure:
        mask = pc.and_(mask, pc.equal(values["measure"], measure))
    columns = ["measure", "org_code", "month", "numerator", "denominator"]
    return values.filter(mask).select(columns).to_pylist()


def inequalities(values: pa.Table, deciles: dict[str, int], measure: str | None = None):
    """Rows for ``measure`` (or every measure) from the cached measure values table."""
    return inequality_rows(quintile_values(practice_rows(values, measure), deciles, measure))


def coverage(values: pa.Table, deciles: dict[str, int]) -> tuple[int, int]:
    """(practices with a decile, practices in the results)."""
    import pyarrow.compute as pc

    practices = set(
        pc.unique(values.filter(pc.equal(values["org_type"], "practice"))["org_code"]).to_pylist()
    )
    return len(practices & set(deciles)), len(practices)


def by_month(rows: list[dict]) -> list[dict]:
    """One measure's rows pivoted for the page's table: month, q1…q5 values, gap, SII."""
    months: dict[Any, dict] = {}  # keyed by the month (a date)
    for r in rows:
        entry = months.setdefault(
            r["month"], {"month": r["month"], "gap": r["gap"], "sii": r["sii"]}
        )
        entry[f"q{r['quintile']}"] = r["value"]
    return [months[m] for m in sorted(months)]


def chart_spec(rows: list[dict], title: str, is_percentage: bool) -> dict:
    """Vega-Lite: each quintile's value over time (most deprived darkest)."""
    data = [
        {"month": str(r["month"]), "quintile": f"Q{r['quintile']}", "value": r["value"]}
        for r in rows
        if r["value"] is not None
    ]
    return monthly_lines(
        f"{title}: value by practice deprivation quintile over time",
        data,
        "%" if is_percentage else "value",
        is_percentage,
        x={"field": "month", "type": "temporal", "timeUnit": "yearmonth", "title": "Month",
           "axis": {"format": "%b %Y"}},
        color={"field": "quintile", "type": "ordinal", "title": "IMD quintile (Q1 most deprived)",
               "scale": {"domain": ["Q1", "Q2", "Q3", "Q4", "Q5"],
                         "range": ["#003087", "#005eb8", "#41b6e6", "#768692", "#aeb7bd"]}},
        tooltip=[{"field": "quintile"}, {"field": "month", "type": "temporal"},
                 {"field": "value", "type": "quantitative", "format": ".4f"}],
    )  # fmt: skip


def to_csv(rows: list[dict]) -> str:
    return csv_text(rows, CSV_COLUMNS)


def to_json(rows: list[dict]) -> list[dict]:
    return [r | {"month": str(r["month"])} for r in rows]
