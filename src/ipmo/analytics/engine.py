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

from ipmo.analytics.levels import DECILES, LEVELS, NATIONAL_CODE  # noqa: F401 (re-exported)
from ipmo.analytics.plan import VALUE_COLUMNS, MeasurePlan


@dataclass(frozen=True)
class MeasureResults:
    values: pa.Table  # one row per measure × org_type × org_code × month
    globals: pa.Table  # one row per measure × org_type × month: deciles and positive savings


_KEYS = ("measure", "org_type", "month")  # one group of orgs ranked together
ORG_COLUMNS = tuple(c for c in LEVELS.values() if c and c != "practice")
# bounds of month-keyed weights (MeasurePlan.rows); open ends are these dates
_FIRST_MONTH, _LAST_MONTH = date(1900, 1, 1), date(9999, 12, 1)


def _weights_table(plans: Sequence[MeasurePlan]) -> pa.Table:
    """measure × bnf_code → a weight per value column for each side, plus side membership.

    Codes whose weight changes with the month (nhse_bgts) have one row per period, and the table
    then carries ``valid_from`` / ``valid_until`` (``practice_values`` keeps the matching row)."""
    cols: dict[str, list] = {"measure": [], "bnf_code": [], "valid_from": [], "valid_until": []}
    for side in ("num", "den"):
        for value in VALUE_COLUMNS:
            cols[f"{side}_{value}"] = []
        cols[f"in_{side}"] = []
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


def _measures_table(plans: Sequence[MeasurePlan]) -> pa.Table:
    """Per measure: list-size scale per side (0 when that side is prescribing) and flags."""
    return pa.table(
        {
            "measure": pa.array([p.id for p in plans], pa.string()),
            "num_ls": pa.array(
                [p.numerator.scale if p.numerator.source == "list_size" else 0.0 for p in plans],
                pa.float64(),
            ),
            "den_ls": pa.array(
                [
                    p.denominator.scale if p.denominator.source == "list_size" else 0.0
                    for p in plans
                ],
                pa.float64(),
            ),
            "percentage": pa.array([p.definition.is_percentage for p in plans], pa.bool_()),
            "cost_based": pa.array([p.definition.is_cost_based for p in plans], pa.bool_()),
        }
    )


def practice_values(
    prescribing: ir.Table,
    practices: ir.Table,
    list_sizes: ir.Table | None,
    weights: ir.Table,
    measures: ir.Table,
) -> ir.Table:
    """measure × practice × month with numerator, denominator and the four cost components."""
    joined = prescribing.inner_join(weights, "bnf_code")
    if "valid_from" in weights.columns:  # month-keyed weights (see _weights_table)
        joined = joined.filter(
            (joined.month >= joined.valid_from) & (joined.month < joined.valid_until)
        )
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
    out = grid.left_join(agg, ["measure", "practice", "month"]).select(
        grid.measure,
        grid.practice,
        grid.month,
        grid.num_ls,
        grid.den_ls,
        *[agg[c].fill_null(0.0).name(c) for c in ("num_cost", "num_qty", "den_cost", "den_qty")],
        agg.num_p.fill_null(0.0).name("num_p"),
        agg.den_p.fill_null(0.0).name("den_p"),
    )
    if list_sizes is not None:
        ls = list_sizes.select("practice", "month", "total_list_size")
        out = out.left_join(ls, ["practice", "month"]).drop("practice_right", "month_right")
        size = out.total_list_size.cast("float64").fill_null(0.0)
    else:
        size = ibis.literal(0.0)
    return out.mutate(
        numerator=out.num_p + size * out.num_ls,
        denominator=out.den_p + size * out.den_ls,
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


def _plan_tables(con, plans: Sequence[MeasurePlan]) -> tuple[str, str]:
    """Create the weights and measures tables on ``con``; return their (unique) names.

    Real tables rather than memtables: ibis's PySpark backend does not register memtables before
    ``cache()``. ``run_measures`` drops them again.
    """
    suffix = uuid.uuid4().hex[:12]
    names = (f"ipmo_weights_{suffix}", f"ipmo_measures_{suffix}")
    con.create_table(names[0], _weights_table(plans))
    con.create_table(names[1], _measures_table(plans))
    return names


def measure_expressions(
    con,
    plan_tables: tuple[str, str],
    levels: Sequence[str] = tuple(LEVELS),
    list_sizes: bool = True,
) -> ir.Table:
    """The org-level sums (every requested level plus national) over ``con``'s tables."""
    prescribing = con.table("prescribing")
    practices = con.table("practices")
    ls = con.table("list_sizes") if list_sizes and "list_sizes" in con.list_tables() else None
    weights, measures = (con.table(name) for name in plan_tables)
    needed = sorted(set(levels) | {"national"}, key=list(LEVELS).index)
    values = practice_values(prescribing, practices, ls, weights, measures)
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
