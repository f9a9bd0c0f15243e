"""Port of OpenPrescribing's simple custom-SQL measures to per-code weights (our expression layer).

About a third of the peer's definitions write their numerator or denominator as BigQuery SQL
fragments (``*_columns`` / ``*_from`` / ``*_where``). Those that read only the prescribing table
(``{hscic}.normalised_prescribing``) filter and weight each *presentation* by its BNF code and name,
e.g. ``SUM(CASE WHEN bnf_code = '0301011R0BMAAAP' THEN quantity * 9.72 … END)`` in
``carbon_salbutamol``. Such a fragment is a function of (bnf_code, bnf_name) times one value column,
so we evaluate it once per distinct presentation with a small interpreter over the parsed SQL
(sqlglot, BigQuery dialect) and hand the engine a weights table — the same shape as a BNF filter.
Conditions on the month (``DATE(month) >= '2025-07-01' OR bnf_code NOT IN (…)`` in nhse_bgts and
nhse_lancets, whose code lists change with each NHS England guidance version) are evaluated once per
period between the dates the SQL names (:func:`month_breakpoints`), giving month-keyed weights.
Anything outside that subset (dm+d joins, views, subqueries, per-item quantities, age-band list
sizes) raises ``UnsupportedSql`` with a reason, listed one by one in the analytics README; the dm+d
ones are run by ``dmd_sql.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import sqlglot
import sqlglot.expressions as sx

from ipmo.analytics.definitions import Side

VALUE_COLUMNS = {"items": "items", "quantity": "quantity", "actual_cost": "actual_cost"}
ROW_COLUMNS = {"bnf_code", "bnf_name"}


class UnsupportedSql(Exception):
    """The fragment needs data or SQL beyond the per-presentation subset."""


@dataclass(frozen=True)
class Linear:
    """``factor × column`` where the factor depends only on the presentation."""

    column: str
    factor: float


def _source(side: Side) -> str:
    text = re.sub(r"\{\w+\}\.", "", side.from_ or "").strip()
    text = re.sub(r"--[^\n]*", "", text).strip()
    if re.search(r"\bJOIN\b", text, re.I):
        raise UnsupportedSql("its custom SQL joins dm+d tables or views we do not hold yet")
    table = text.split()[0] if text else ""
    if table == "raw_prescribing_normalised":
        raise UnsupportedSql("it needs per-item quantities from raw EPD rows (quantity_per_item)")
    if table == "practice_statistics":
        raise UnsupportedSql("it needs list sizes by age band and sex (practice_statistics)")
    if table != "normalised_prescribing":
        raise UnsupportedSql(f"it reads {table}, a view/table we do not hold")
    return table


def _parse(side: Side) -> tuple[sx.Expression, sx.Expression | None]:
    sql = f"SELECT {side.columns} FROM t WHERE {side.where or '1 = 1'}".replace("%%", "%")
    select = sqlglot.parse_one(sql, read="bigquery")
    if len(select.expressions) != 1:
        raise UnsupportedSql("its custom SQL selects more than one column")
    return select.expressions[0], select.args.get("where")


def _top(expr: sx.Expression) -> tuple[sx.Expression, float]:
    """Strip ``AS numerator`` and an outer ``/ k`` or ``* k``; return the SUM argument and scale."""
    if isinstance(expr, sx.Alias):
        expr = expr.this
    while isinstance(expr, sx.Paren):
        expr = expr.this
    if isinstance(expr, sx.Sum):
        return expr.this, 1.0
    if isinstance(expr, (sx.Div, sx.Mul)) and isinstance(expr.expression, sx.Literal):
        inner, scale = _top(expr.this)
        k = float(expr.expression.this)
        return inner, scale / k if isinstance(expr, sx.Div) else scale * k
    raise UnsupportedSql("its custom SQL is not SUM(expression) [/ constant]")


def _substr(text: str, start: int, length: int | None) -> str:
    # BigQuery SUBSTR: 1-based, 0 behaves as 1, negative counts from the end.
    begin = max(len(text) + start, 0) if start < 0 else max(start - 1, 0)
    return text[begin:] if length is None else text[begin : begin + length]


@lru_cache(maxsize=1024)
def _like_regex(pattern: str) -> re.Pattern[str]:
    """A LIKE pattern as a regex, built once per pattern (sides test every presentation)."""
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(regex, re.S)


def _like(value: str, pattern: str) -> bool:
    return _like_regex(pattern).fullmatch(value) is not None


def _as_date(value) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise UnsupportedSql(f"its custom SQL compares the month with {value!r}") from exc


def _compare(left, right):
    """Dates compare with ISO date strings ("DATE(month) >= '2025-07-01'")."""
    if isinstance(left, date) or isinstance(right, date):
        return _as_date(left), _as_date(right)
    return left, right


def _eval(node: sx.Expression, row: Mapping[str, str]):  # noqa: C901 - one case per node type
    if isinstance(node, sx.Paren):
        return _eval(node.this, row)
    if isinstance(node, sx.Column):
        name = node.name.lower()
        if name == "month":
            if row.get("month") is None:
                raise UnsupportedSql("its custom SQL depends on the month")
            return row["month"]
        if name in ROW_COLUMNS:
            return row[name]
        if name in VALUE_COLUMNS:
            return Linear(VALUE_COLUMNS[name], 1.0)
        if name == "total_quantity":
            return Linear("quantity", 1.0)
        raise UnsupportedSql(f"its custom SQL uses column {name!r}")
    if isinstance(node, sx.Literal):
        return node.this if node.is_string else float(node.this)
    if isinstance(node, sx.Boolean):
        return node.this
    if isinstance(node, sx.And):
        return bool(_eval(node.this, row)) and bool(_eval(node.expression, row))
    if isinstance(node, sx.Or):
        return bool(_eval(node.this, row)) or bool(_eval(node.expression, row))
    if isinstance(node, sx.Not):
        return not _eval(node.this, row)
    if isinstance(node, (sx.EQ, sx.NEQ, sx.GT, sx.GTE, sx.LT, sx.LTE)):
        left, right = _eval(node.this, row), _eval(node.expression, row)
        if isinstance(left, Linear) or isinstance(right, Linear):
            raise UnsupportedSql("its custom SQL filters on a quantity, not a presentation")
        left, right = _compare(left, right)
        ops = {sx.EQ: "__eq__", sx.NEQ: "__ne__", sx.GT: "__gt__", sx.GTE: "__ge__"}
        ops |= {sx.LT: "__lt__", sx.LTE: "__le__"}
        return getattr(left, ops[type(node)])(right)
    if isinstance(node, sx.Like):
        return _like(str(_eval(node.this, row)), str(_eval(node.expression, row)))
    if isinstance(node, sx.ILike):
        return _like(str(_eval(node.this, row)).lower(), str(_eval(node.expression, row)).lower())
    if isinstance(node, sx.In):
        if node.args.get("query"):
            raise UnsupportedSql("its custom SQL uses a subquery (dm+d view)")
        value = _eval(node.this, row)
        return value in {_eval(e, row) for e in node.expressions}
    if isinstance(node, sx.Date) and node.this is not None and not node.expressions:
        return _as_date(_eval(node.this, row))
    if isinstance(node, sx.Concat):
        # BigQuery joins adjacent string literals ('a' 'b' = 'ab'), as a missing comma in a list
        return "".join(str(_eval(e, row)) for e in node.expressions)
    if isinstance(node, sx.Lower):
        return str(_eval(node.this, row)).lower()
    if isinstance(node, sx.Upper):
        return str(_eval(node.this, row)).upper()
    if isinstance(node, sx.Substring):
        length = node.args.get("length")
        start = int(_eval(node.args["start"], row)) if node.args.get("start") else 1
        return _substr(
            str(_eval(node.this, row)), start, int(_eval(length, row)) if length else None
        )
    if isinstance(node, sx.Left):
        return str(_eval(node.this, row))[: int(_eval(node.expression, row))]
    if isinstance(node, sx.Case):
        for branch in node.args.get("ifs", []):
            if _eval(branch.this, row):
                return _eval(branch.args["true"], row)
        default = node.args.get("default")
        return _eval(default, row) if default is not None else 0.0
    if isinstance(node, (sx.Mul, sx.Div, sx.Add, sx.Sub)):
        return _arith(node, _eval(node.this, row), _eval(node.expression, row))
    raise UnsupportedSql(f"its custom SQL uses {node.key.upper()}, outside our subset")


def _arith(node: sx.Expression, left, right):
    if isinstance(node, sx.Mul):
        if isinstance(left, Linear) and not isinstance(right, Linear):
            return Linear(left.column, left.factor * float(right))
        if isinstance(right, Linear) and not isinstance(left, Linear):
            return Linear(right.column, right.factor * float(left))
    if isinstance(node, sx.Div) and isinstance(left, Linear) and not isinstance(right, Linear):
        return Linear(left.column, left.factor / float(right))
    if isinstance(left, Linear) or isinstance(right, Linear):
        raise UnsupportedSql("its custom SQL is not linear in one value column")
    ops = {sx.Mul: float.__mul__, sx.Div: float.__truediv__}
    ops |= {sx.Add: float.__add__, sx.Sub: float.__sub__}
    return ops[type(node)](float(left), float(right))


def month_breakpoints(side: Side) -> list[date]:
    """The dates a custom side compares the month with, sorted (empty: month-independent)."""
    if not side.columns or re.search(r"\bJOIN\b", side.from_ or "", re.I):
        return []
    try:
        value, where = _parse(side)
    except sqlglot.errors.ParseError:
        return []
    found: set[date] = set()
    for tree in (value, where):
        if tree is None:
            continue
        for node in tree.find_all(sx.EQ, sx.NEQ, sx.GT, sx.GTE, sx.LT, sx.LTE):
            sides = (node.this, node.expression)
            if any(_is_month(s) for s in sides):
                for other in sides:
                    if isinstance(other, sx.Literal) and other.is_string:
                        found.add(_as_date(other.this))
    return sorted(found)


def _is_month(node: sx.Expression) -> bool:
    if isinstance(node, sx.Date):
        node = node.this
    return isinstance(node, sx.Column) and node.name.lower() == "month"


def compile_custom_side(
    side: Side, presentations: Mapping[str, str], month: date | None = None
) -> tuple[str, dict[str, float], float]:
    """(value column, weight per BNF code, scale) for a custom side in the supported subset,
    in ``month`` when the SQL depends on it (see :func:`month_breakpoints`)."""
    _source(side)
    try:
        value, where = _parse(side)
    except sqlglot.errors.ParseError as exc:
        raise UnsupportedSql(f"its custom SQL does not parse: {str(exc).splitlines()[0]}") from exc
    argument, scale = _top(value)
    condition = where.this if where is not None else None
    column: str | None = None
    weights: dict[str, float] = {}
    for code, name in presentations.items():
        row = {"bnf_code": code, "bnf_name": name or "", "month": month}
        if condition is not None and not _eval(condition, row):
            continue
        result = _eval(argument, row)
        if not isinstance(result, Linear):
            if float(result) == 0.0:
                continue
            raise UnsupportedSql("its custom SQL sums a constant, not a value column")
        if column is not None and result.column != column:
            raise UnsupportedSql("its custom SQL mixes value columns")
        column = result.column
        if result.factor:
            weights[code] = result.factor
    return column or "items", weights, scale
