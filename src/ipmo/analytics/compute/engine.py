"""The measure engine: one Ibis expression, run on DuckDB (default), PostgreSQL or Spark.

Semantics are OpenPrescribing's (fixtures/README.md §1, reproduced exactly by
``tests/analytics/test_spec_measures_golden.py``):

* practice numerator/denominator = Σ weight × value over the practice-month's prescribing; org
  values (PCN, place = sub-ICB/CCG, ICB/STP, region, national) are sums of their practices';
* ``calc_value`` = numerator / denominator (null when the denominator is 0);
* ``percentile`` = PERCENT_RANK × 100 among the orgs of that type and month with a non-null value;
* deciles = PERCENTILE_CONT (linear interpolation) of ``calc_value`` at 0.1 … 0.9;
* cost saving at decile c, percentage measures:
  ``den_cost − (p_c·den_qty·num_unit_cost + (den_qty − p_c·den_qty)·other_unit_cost)``, with the
  national unit cost when the org has no numerator (or no non-numerator) quantity; other
  cost-based measures: ``(calc_value − p_c) × denominator``; negative savings are kept per org;
* global saving = Σ of positive org savings.

The heavy step is a single join of prescribing with a weights table (measure × code), so all
measures cost about one pass over the data whatever their number. A run is four queries: the org
sums (that pass, the practice level as it is and the other levels summed from it) and the deciles
are kept on the engine as temporary tables; values (with the percentile window) and globals are
read from them (``run_measures``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from ipmo.analytics.compute.levels import DECILES, LEVELS, NATIONAL_CODE  # noqa: F401 (re-exported)
from ipmo.analytics.planning.plan import VALUE_COLUMNS, MeasurePlan


@dataclass(frozen=True)
class MeasureResults:
    values: pa.Table  # one row per measure × org_type × org_code × month
    globals: pa.Table  # one row per measure × org_type × month: deciles and positive savings


_KEYS = ("measure", "org_type", "month")  # one group of orgs ranked together
ORG_COLUMNS = tuple(c for c in LEVELS.values() if c and c != "practice")
# bounds of month-keyed weights (MeasurePlan.rows); open ends are these dates
_FIRST_MONTH, _LAST_MONTH = date(1900, 1, 1), date(9999, 12, 1)


def _weight_columns(*keys: str) -> dict[str, list]:
    """Empty columns: ``keys``, then per side (num, den) one weight per value column and the
    side's membership flag ``in_<side>``."""
    cols: dict[str, list] = {k: [] for k in keys}
    for side in ("num", "den"):
        cols |= {f"{side}_{value}": [] for value in VALUE_COLUMNS}
        cols[f"in_{side}"] = []
    return cols


def _weights_table(plans: Sequence[MeasurePlan]) -> pa.Table:
    """measure × bnf_code → a weight per value column for each side, plus side membership.

    Codes whose weight changes with the month (nhse_bgts) have one row per period, and the table
    then carries ``valid_from`` / ``valid_until`` (``practice_values`` keeps the matching row)."""
    cols = _weight_columns("measure", "bnf_code", "valid_from", "valid_until")
    for plan in plans:
        num, den = plan.numerator, plan.denominator
        for code, lo, hi, num_w, den_w in plan.rows():
            cols["measure"].append(plan.id)
            cols["bnf_code"].append(code)
            cols["valid_from"].append(lo or _FIRST_MONTH)
            cols["valid_until"].append(hi or _LAST_MONTH)
            for prefix, side, w in (("num", num, num_w), ("den", den, den_w)):
                weight = (w or 0.0) * side.scale
                for value in VALUE_COLUMNS:
                    cols[f"{prefix}_{value}"].append(weight if side.column == value else 0.0)
                cols[f"in_{prefix}"].append(0.0 if w is None else 1.0)
    if all(v == _FIRST_MONTH for v in cols["valid_from"]) and all(
        v == _LAST_MONTH for v in cols["valid_until"]
    ):
        del cols["valid_from"], cols["valid_until"]  # no month-keyed weights: plain join
    types = {k: pa.string() if k in ("measure", "bnf_code") else pa.float64() for k in cols}
    types |= {"valid_from": pa.date32(), "valid_until": pa.date32()}
    return pa.table({k: pa.array(v, type=types[k]) for k, v in cols.items()})


def _item_weights_table(plans: Sequence[MeasurePlan]) -> pa.Table:
    """measure × bnf_code × quantity-per-item band → weights, for sides on the ``per_item``
    table (source "per_item": raw_prescribing_normalised in the definitions, see per_item.py).

    One row per band of one side (the other side's weights 0): the sums are linear, so a per-item
    row matching a numerator band and a denominator band adds to each side once."""
    cols = _weight_columns("measure", "bnf_code", "qpi_low", "qpi_high")
    for plan in plans:
        for prefix, side in (("num", plan.numerator), ("den", plan.denominator)):
            if side.source != "per_item":
                continue
            for code, bands in sorted(side.bands.items()):
                for low, high, weight in bands:
                    cols["measure"].append(plan.id)
                    cols["bnf_code"].append(code)
                    cols["qpi_low"].append(low)
                    cols["qpi_high"].append(high)
                    for other in ("num", "den"):
                        mine = other == prefix
                        for value in VALUE_COLUMNS:
                            w = weight * side.scale if mine and value == side.column else 0.0
                            cols[f"{other}_{value}"].append(w)
                        cols[f"in_{other}"].append(1.0 if mine else 0.0)
    types = {k: pa.string() if k in ("measure", "bnf_code") else pa.float64() for k in cols}
    return pa.table({k: pa.array(v, type=types[k]) for k, v in cols.items()})


def _total_ls(side) -> float:
    return side.scale if side.source == "list_size" and not side.list_columns else 0.0


_NO_GATE = -1e300  # a side without a list-size condition: every practice passes


def _measures_table(plans: Sequence[MeasurePlan]) -> pa.Table:
    """Per measure: list-size scale per side (0 when that side is prescribing) and flags.

    Sides on other list-size columns (age bands: cmpaperpt, tamoxifen) add a factor column
    ``<side>_ls__<column>`` per column, and ``<side>_gate__<column>`` = n when only practices
    with column > n get that side's list-size value (``_NO_GATE`` elsewhere)."""
    cols = {
        "measure": pa.array([p.id for p in plans], pa.string()),
        "num_ls": pa.array([_total_ls(p.numerator) for p in plans], pa.float64()),
        "den_ls": pa.array([_total_ls(p.denominator) for p in plans], pa.float64()),
        "percentage": pa.array([p.definition.is_percentage for p in plans], pa.bool_()),
        "cost_based": pa.array([p.definition.is_cost_based for p in plans], pa.bool_()),
    }
    sides = [("num", lambda p: p.numerator), ("den", lambda p: p.denominator)]
    used = sorted({c for p in plans for _, get in sides for c in get(p).list_columns})
    gated = sorted({get(p).list_gate[0] for p in plans for _, get in sides if get(p).list_gate})
    for prefix, get in sides:
        for column in used:
            factors = [get(p).list_columns.get(column, 0.0) for p in plans]
            cols[f"{prefix}_ls__{column}"] = pa.array(factors, pa.float64())
        for column in gated:
            gates = [
                get(p).list_gate[1] if get(p).list_gate[:1] == (column,) else _NO_GATE
                for p in plans
            ]
            cols[f"{prefix}_gate__{column}"] = pa.array(gates, pa.float64())
    return pa.table(cols)


def practice_values(
    prescribing: ir.Table,
    practices: ir.Table,
    list_sizes: ir.Table | None,
    weights: ir.Table,
    measures: ir.Table,
    per_item: ir.Table | None = None,
    item_weights: ir.Table | None = None,
) -> ir.Table:
    """measure × practice × month with numerator, denominator and the four cost components.

    ``per_item`` / ``item_weights``: the per-item measures' rows (practice × code × quantity per
    item) joined with their bands, added to the same sums."""
    joined = prescribing.inner_join(weights, "bnf_code")
    if "valid_from" in weights.columns:  # month-keyed weights (see _weights_table)
        joined = joined.filter(
            (joined.month >= joined.valid_from) & (joined.month < joined.valid_until)
        )
    if item_weights is not None and per_item is not None:
        items = per_item.inner_join(item_weights, "bnf_code")
        items = items.filter(
            (items.quantity_per_item >= items.qpi_low) & (items.quantity_per_item <= items.qpi_high)
        )
        keep = ["measure", "practice", "month", "actual_cost", *VALUE_COLUMNS]
        keep += [f"{s}_{v}" for s in ("num", "den") for v in VALUE_COLUMNS] + ["in_num", "in_den"]
        keep = list(dict.fromkeys(keep))
        joined = ibis.union(joined.select(*keep), items.select(*keep), distinct=False)
    sums = {}
    for side in ("num", "den"):
        sums[side] = sum(joined[v] * joined[f"{side}_{v}"] for v in VALUE_COLUMNS)
    agg = joined.group_by(["measure", "practice", "month"]).aggregate(
        num_p=sums["num"].sum(),
        den_p=sums["den"].sum(),
        num_cost=(joined.actual_cost * joined.in_num).sum(),
        num_qty=(joined.quantity * joined.in_num).sum(),
        den_cost=(joined.actual_cost * joined.in_den).sum(),
        den_qty=(joined.quantity * joined.in_den).sum(),
    )
    # every practice-month with prescribing gets a row for every measure (0 when nothing matched)
    grid = prescribing.select("practice", "month").distinct().cross_join(measures)
    grid = grid.semi_join(practices, "practice")
    extra = [c for c in measures.columns if "_ls__" in c or "_gate__" in c]
    out = grid.left_join(agg, ["measure", "practice", "month"]).select(
        grid.measure,
        grid.practice,
        grid.month,
        grid.num_ls,
        grid.den_ls,
        *[grid[c] for c in extra],
        *[agg[c].fill_null(0.0).name(c) for c in ("num_cost", "num_qty", "den_cost", "den_qty")],
        agg.num_p.fill_null(0.0).name("num_p"),
        agg.den_p.fill_null(0.0).name("den_p"),
    )
    columns = sorted({c.split("__", 1)[1] for c in extra} - {"total_list_size"})
    if list_sizes is not None:
        missing = [c for c in columns if c not in list_sizes.columns]
        if missing:
            raise ValueError(
                f"list sizes lack {', '.join(missing)}: re-run `ipmo analytics ingest-list-sizes`"
            )
        ls = list_sizes.select("practice", "month", "total_list_size", *columns)
        out = out.left_join(ls, ["practice", "month"]).drop("practice_right", "month_right")
        size = out.total_list_size.cast("float64").fill_null(0.0)
        sizes = {c: out[c].cast("float64").fill_null(0.0) for c in columns}
    else:
        size = ibis.literal(0.0)
        sizes = {c: ibis.literal(0.0) for c in columns}
    sizes["total_list_size"] = size
    sides = {}
    for prefix in ("num", "den"):
        value = size * out[f"{prefix}_ls"]
        for c in columns:
            if f"{prefix}_ls__{c}" in out.columns:
                value = value + sizes[c] * out[f"{prefix}_ls__{c}"]
        for c in extra:
            if c.startswith(f"{prefix}_gate__"):
                gate = c.split("__", 1)[1]
                value = ibis.ifelse(sizes[gate] > out[c], value, 0.0)
        sides[prefix] = value
    return out.mutate(
        numerator=out.num_p + sides["num"],
        denominator=out.den_p + sides["den"],
    ).select(
        "measure",
        "practice",
        "month",
        "numerator",
        "denominator",
        "num_cost",
        "num_qty",
        "den_cost",
        "den_qty",
    )


def org_values(values: ir.Table, practices: ir.Table, levels: Sequence[str]) -> ir.Table:
    """Sum practice values up to each level; one union of all levels.

    Practice rows are already one per measure × practice × month (``practice_values``), so that
    level is a projection rather than a group-by over every practice."""
    sums = ("numerator", "denominator", "num_cost", "num_qty", "den_cost", "den_qty")
    joined = values.inner_join(practices.select("practice", *ORG_COLUMNS), "practice")
    parts = []
    for org_type in levels:
        column = LEVELS[org_type]
        if org_type == "practice":
            parts.append(
                values.select(
                    "measure",
                    org_type=ibis.literal(org_type),
                    org_code=values.practice.cast("string"),
                    month=values.month,
                    **{c: values[c] for c in sums},
                )
            )
            continue
        code = joined[column] if column else ibis.literal(NATIONAL_CODE)
        keyed = joined.mutate(org_type=ibis.literal(org_type), org_code=code.cast("string"))
        keyed = keyed.filter(keyed.org_code.notnull())
        parts.append(
            keyed.group_by(["measure", "org_type", "org_code", "month"]).aggregate(
                **{c: keyed[c].sum() for c in sums}
            )
        )
    return ibis.union(*parts, distinct=False)


def _with_calc(orgs: ir.Table) -> ir.Table:
    calc = ibis.ifelse(orgs.denominator != 0, orgs.numerator / orgs.denominator, ibis.null())
    return orgs.mutate(calc_value=calc.cast("float64"))


def decile_values(orgs: ir.Table) -> ir.Table:
    """PERCENTILE_CONT of calc_value at each decile, per measure × org type × month."""
    orgs = _with_calc(orgs)
    return orgs.group_by(list(_KEYS)).aggregate(
        **{f"p{c}": orgs.calc_value.quantile(c / 100) for c in DECILES}
    )


def _with_savings(orgs: ir.Table, measures: ir.Table, deciles: ir.Table) -> ir.Table:
    """Org rows with calc_value and the cost saving at each decile (null if not cost-based)."""
    orgs = _with_calc(orgs)
    national = orgs.filter(orgs.org_type == "national").select(
        "measure",
        "month",
        nat_num_unit=orgs.num_cost / orgs.num_qty,
        nat_other_unit=(orgs.den_cost - orgs.num_cost) / (orgs.den_qty - orgs.num_qty),
    )
    flags = measures.select("measure", "percentage", "cost_based")
    t = (
        orgs.inner_join(flags, "measure")
        .inner_join(deciles, list(_KEYS))
        .left_join(national, ["measure", "month"])
    )
    num_unit = ibis.ifelse(t.num_qty > 0, t.num_cost / t.num_qty, t.nat_num_unit)
    other_qty = t.den_qty - t.num_qty
    other_unit = ibis.ifelse(other_qty > 0, (t.den_cost - t.num_cost) / other_qty, t.nat_other_unit)
    savings = {}
    for c in DECILES:
        p = t[f"p{c}"]
        pct = t.den_cost - (p * t.den_qty * num_unit + (t.den_qty - p * t.den_qty) * other_unit)
        other = (t.calc_value - p) * t.denominator
        value = ibis.ifelse(t.percentage, pct, other)
        savings[f"cost_saving_{c}"] = ibis.ifelse(t.cost_based, value, ibis.null()).cast("float64")
    return t.select(*_KEYS, "org_code", "numerator", "denominator", "calc_value", **savings)


def ranked(orgs: ir.Table, measures: ir.Table, deciles: ir.Table) -> tuple[ir.Table, ir.Table]:
    """Add calc_value, percentile and cost savings; return (values, globals).

    ``deciles`` is ``decile_values(orgs)`` (materialised by ``run_measures``, as both outputs
    read it); the percentile window is only in ``values``."""
    t = _with_savings(orgs, measures, deciles)
    has = t.calc_value.notnull()
    window = ibis.window(group_by=[t.measure, t.org_type, t.month, has], order_by=t.calc_value)
    percentile = ibis.ifelse(has, ibis.percent_rank().over(window) * 100, ibis.null())
    values = t.select(
        "measure",
        "org_type",
        "org_code",
        "month",
        "numerator",
        "denominator",
        "calc_value",
        percentile=percentile.cast("float64"),
        **{f"cost_saving_{c}": t[f"cost_saving_{c}"] for c in DECILES},
    )
    positive = t.group_by(list(_KEYS)).aggregate(
        **{
            f"total_positive_cost_saving_{c}": ibis.ifelse(
                t[f"cost_saving_{c}"] > 0, t[f"cost_saving_{c}"], 0.0
            ).sum()
            for c in DECILES
        }
    )
    return values, deciles.inner_join(positive, list(_KEYS))


def _plan_tables(con, plans: Sequence[MeasurePlan]) -> tuple[str, ...]:
    """Create the weights and measures tables (and the per-item weights when a measure reads
    quantities per item) on ``con``; return their (unique) names.

    Real tables rather than memtables: ibis's PySpark backend does not register memtables before
    ``cache()``. ``run_measures`` drops them again.
    """
    suffix = uuid.uuid4().hex[:12]
    names: tuple[str, ...] = (f"ipmo_weights_{suffix}", f"ipmo_measures_{suffix}")
    con.create_table(names[0], _weights_table(plans))
    con.create_table(names[1], _measures_table(plans))
    items = _item_weights_table(plans)
    if items.num_rows:  # a third table only when some measure reads quantities per item
        names += (f"ipmo_item_weights_{suffix}",)
        con.create_table(names[2], items)
    return names


def measure_expressions(
    con,
    plan_tables: tuple[str, ...],  # weights, measures and (maybe) per-item weights
    levels: Sequence[str] = tuple(LEVELS),
    list_sizes: bool = True,
) -> ir.Table:
    """The org-level sums (every requested level plus national) over ``con``'s tables."""
    prescribing = con.table("prescribing")
    practices = con.table("practices")
    ls = con.table("list_sizes") if list_sizes and "list_sizes" in con.list_tables() else None
    weights, measures = (con.table(name) for name in plan_tables[:2])
    per_item = item_weights = None
    if len(plan_tables) > 2:
        if "per_item" not in con.list_tables():
            raise ValueError(
                "measures on quantities per item need the per_item table: re-run "
                "`ipmo analytics ingest-epd` for these months"
            )
        per_item, item_weights = con.table("per_item"), con.table(plan_tables[2])
    needed = sorted(set(levels) | {"national"}, key=list(LEVELS).index)
    values = practice_values(prescribing, practices, ls, weights, measures, per_item, item_weights)
    return org_values(values, practices, needed)


class _Temporary:
    """Intermediate results kept on the engine for the rest of a run, then dropped.

    DuckDB: ``CREATE TEMP TABLE … AS`` the compiled query (one statement; Ibis's ``cache()``
    creates the table and then inserts into it, which DuckDB runs about twice as slowly). Other
    backends: Ibis's ``cache()`` (a temporary table on PostgreSQL, a cached view on Spark)."""

    def __init__(self, con) -> None:
        self.con = con
        self.duckdb = getattr(con, "name", "") == "duckdb"
        self.kept: list = []

    def keep(self, expr: ir.Table) -> ir.Table:
        if not self.duckdb:
            table = expr.cache()
            self.kept.append(table.release)
            return table
        name = f"ipmo_tmp_{uuid.uuid4().hex[:12]}"
        self.con.raw_sql(f'CREATE TEMP TABLE "{name}" AS {self.con.compile(expr)}')
        self.kept.append(lambda: self.con.drop_table(name, force=True))
        return self.con.table(name)

    def release(self) -> None:
        for drop in reversed(self.kept):
            drop()
        self.kept.clear()


def run_measures(
    con, plans: Sequence[MeasurePlan], levels: Sequence[str] = tuple(LEVELS)
) -> MeasureResults:
    """Run on ``con``: the heavy sums (one pass over prescribing) and the deciles are kept on the
    engine, then values and globals are read from them — four queries in all."""
    plan_tables = _plan_tables(con, plans)
    temporary = _Temporary(con)
    try:
        orgs = temporary.keep(measure_expressions(con, plan_tables, levels))
        deciles = temporary.keep(decile_values(orgs))
        values, globals_ = ranked(orgs, con.table(plan_tables[1]), deciles)
        wanted = [lv for lv in LEVELS if lv in levels]
        values = values.filter(values.org_type.isin(wanted))
        globals_ = globals_.filter(globals_.org_type.isin(wanted))
        order = ["measure", "org_type", "org_code", "month"]
        return MeasureResults(
            values=con.to_pyarrow(values.order_by(order)),
            globals=con.to_pyarrow(globals_.order_by(list(_KEYS))),
        )
    finally:
        temporary.release()
        for name in plan_tables:
            con.drop_table(name, force=True)
