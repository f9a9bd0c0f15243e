"""Custom sides on ``{hscic}.raw_prescribing_normalised``: weights by code *and* quantity per item.

OpenPrescribing's per-item measures (amox_500_15_caps, doxy_100_6_qty, excess_pens,
morphine_solution_high_quantity, seven_day_prescribing, uti_antibiotics_3_day) filter raw EPD
rows on ``quantity_per_item`` (EPD ``QUANTITY``), e.g. ``bnf_code LIKE '0501013B0%AB' AND
quantity_per_item > 15``. Their definitions' own SQL is run (in ``dmd_sql``'s DuckDB, so dm+d
joins work) over a probe view of every presentation × one quantity per item in each interval
between the constants the SQL compares ``quantity_per_item`` with (and at each constant), with
each value column set to 1 in turn. The result, per code, is a list of closed bands
``[low, high]`` of quantity per item with a weight on one value column; the engine joins them
with the ``per_item`` table kept at EPD ingest (``epd.PER_ITEM_CHEMICALS``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import pyarrow as pa
import sqlglot.expressions as sx

from ipmo.analytics.measures.definitions import Side
from ipmo.analytics.planning.custom_sql import UnsupportedSql
from ipmo.analytics.planning.dmd_sql import DmdDatabase, _prepare

TABLE = "raw_prescribing_normalised"
# raw_prescribing_normalised column → our value column
VALUE_OF = {"items": "items", "total_quantity": "quantity", "actual_cost": "actual_cost"}
LOWEST, HIGHEST = -1e300, 1e300  # open ends of a band (finite: every engine stores them)
Band = tuple[float, float, float]  # (low, high, weight): low ≤ quantity_per_item ≤ high


def reads_per_item(side: Side) -> bool:
    return bool(re.search(rf"\b{TABLE}\b", side.from_ or ""))


def _cuts(where: str) -> list[float]:
    """The constants ``quantity_per_item`` is compared with (``quantity_per_item > 15``)."""
    found = re.findall(r"quantity_per_item\s*(?:[<>]=?|=|!=|<>)\s*(\d+(?:\.\d+)?)", where, re.I)
    found += re.findall(r"(\d+(?:\.\d+)?)\s*(?:[<>]=?|=|!=|<>)\s*\w*\.?quantity_per_item", where)
    return sorted({float(v) for v in found})


def _regions(cuts: list[float]) -> list[tuple[float, float, float]]:
    """(low, high, probe) for each open interval between cuts and each cut itself."""
    if not cuts:
        return [(LOWEST, HIGHEST, 1.0)]
    out = [(LOWEST, math.nextafter(cuts[0], -math.inf), cuts[0] - 1)]
    for i, c in enumerate(cuts):
        out.append((c, c, c))
        hi = cuts[i + 1] if i + 1 < len(cuts) else None
        lo = math.nextafter(c, math.inf)
        if hi is None:
            out.append((lo, HIGHEST, c + 1))
        else:
            out.append((lo, math.nextafter(hi, -math.inf), (c + hi) / 2))
    return out


def per_item_weights(db: DmdDatabase, side: Side) -> tuple[str, dict[str, tuple[Band, ...]]]:
    """(value column, code → bands) of a side reading ``raw_prescribing_normalised``."""
    regions = _regions(_cuts(side.where or ""))
    probes: dict[str, list[float]] = {"probe_id": [], "quantity_per_item": []}
    probes |= {c: [] for c in VALUE_OF}
    for r, (_, _, q) in enumerate(regions):
        for k, column in enumerate(VALUE_OF):
            probes["probe_id"].append(r * len(VALUE_OF) + k)
            probes["quantity_per_item"].append(q)
            for c in VALUE_OF:
                probes[c].append(1.0 if c == column else 0.0)
    db.con.register("per_item_probe", pa.table(probes))
    db.con.execute(
        f"CREATE OR REPLACE VIEW {TABLE} AS SELECT p.bnf_code, p.bnf_name, probe.* "
        "FROM presentations AS p CROSS JOIN per_item_probe AS probe"
    )
    tree = _prepare(f"SELECT {side.columns}\nFROM {side.from_}\nWHERE {side.where or '1 = 1'}")
    if not isinstance(tree, sx.Select) or len(tree.expressions) != 1:
        raise UnsupportedSql("its custom SQL is not a single SELECT of one value")
    table = next(t for t in tree.find_all(sx.Table) if t.name == TABLE)
    alias = table.alias_or_name
    value = tree.expressions[0]
    value = value.this if isinstance(value, sx.Alias) else value
    probe, code = sx.column("probe_id", table=alias), sx.column("bnf_code", table=alias)
    grouped = tree.select(
        probe.as_("probe"), code.as_("code"), value.as_("value"), append=False
    ).group_by(probe, code)
    found: dict[str, dict[str, list[Band]]] = {}
    for n, code_, value_ in db._execute(grouped):
        if value_ is None or float(value_) == 0.0:
            continue
        lo, hi, _ = regions[n // len(VALUE_OF)]
        column = VALUE_OF[list(VALUE_OF)[n % len(VALUE_OF)]]
        found.setdefault(column, {}).setdefault(code_, []).append((lo, hi, float(value_)))
    if len(found) > 1:
        raise UnsupportedSql("its custom SQL mixes value columns")
    if not found:
        return "items", {}
    column, bands = next(iter(found.items()))
    return column, {c: _merged(b) for c, b in bands.items()}


def _merged(bands: list[Band]) -> tuple[Band, ...]:
    """Adjacent bands with the same weight as one."""
    out: list[list[float]] = []
    for lo, hi, w in sorted(bands):
        if out and out[-1][2] == w and math.nextafter(out[-1][1], math.inf) == lo:
            out[-1][1] = hi
        else:
            out.append([lo, hi, w])
    return tuple((lo, hi, w) for lo, hi, w in out)


def restricted(bands: Mapping[str, tuple[Band, ...]], codes: Mapping[str, str]) -> dict:
    """Only the codes in the data."""
    return {c: b for c, b in bands.items() if c in codes}
