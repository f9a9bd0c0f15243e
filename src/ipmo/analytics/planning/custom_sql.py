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
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import sqlglot
import sqlglot.expressions as sx

from ipmo.analytics.measures.definitions import Side

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
    select = _parse_sql(sql)
    if len(select.expressions) != 1:
        raise UnsupportedSql("its custom SQL selects more than one column")
    return select.expressions[0], select.args.get("where")


@lru_cache(maxsize=256)
def _parse_sql(sql: str) -> sx.Select:
    """Parsed once per text (a side is parsed for its month breakpoints, then per period); the
    trees are only read, never changed."""
    parsed = sqlglot.parse_one(sql, read="bigquery")
    if not isinstance(parsed, sx.Select):
        raise UnsupportedSql("its custom SQL is not a SELECT")
    return parsed


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
        return _column(node, row)
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
    ops: dict[type[sx.Expression], Callable[[float, float], float]] = {
        sx.Mul: float.__mul__,
        sx.Div: float.__truediv__,
        sx.Add: float.__add__,
        sx.Sub: float.__sub__,
    }
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
    codes = list(presentations)
    names = [presentations[c] or "" for c in codes]
    try:  # one pass per SQL node over every presentation; per row on any doubt
        results: Iterable = _evaluate_all(condition, argument, codes, names, month)
    except Exception:  # noqa: BLE001 - the row interpreter gives the exact error
        results = _evaluate_rows(condition, argument, codes, names, month)
    column: str | None = None
    weights: dict[str, float] = {}
    for code, result in zip(codes, results, strict=True):
        if result is _SKIP:
            continue
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


_SKIP = object()  # the row fails the WHERE condition


def _evaluate_rows(condition, argument, codes, names, month) -> Iterator:
    """The argument per presentation (``_SKIP`` where the condition fails), row by row, lazily
    (so an error surfaces at the same row as it always did)."""
    for code, name in zip(codes, names, strict=True):
        row = {"bnf_code": code, "bnf_name": name, "month": month}
        if condition is not None and not _eval(condition, row):
            yield _SKIP
            continue
        yield _eval(argument, row)


def _evaluate_all(condition, argument, codes, names, month) -> list:
    """As :func:`_evaluate_rows`, but each SQL node is evaluated once over all presentations.

    Same operations as ``_eval`` per element; it evaluates both sides of AND/OR and every CASE
    branch for all rows, so where that raises the caller falls back to the row interpreter.
    """
    columns = {"bnf_code": codes, "bnf_name": names, "month": month}
    n = len(codes)
    keep = _broadcast(_veval(condition, columns), n) if condition is not None else [True] * n
    values = _broadcast(_veval(argument, columns), n)
    return [v if k else _SKIP for k, v in zip(keep, values, strict=True)]


def _broadcast(value, n: int) -> list:
    return value if isinstance(value, list) else [value] * n


def _vmap(fn, *args):
    """``fn`` per row over arguments that are lists (one value per row) or scalars."""
    if not any(isinstance(a, list) for a in args):
        return fn(*args)
    n = next(len(a) for a in args if isinstance(a, list))
    return [fn(*row) for row in zip(*(_broadcast(a, n) for a in args), strict=True)]


def _compare_op(node_type):
    ops = {sx.EQ: "__eq__", sx.NEQ: "__ne__", sx.GT: "__gt__", sx.GTE: "__ge__"}
    ops |= {sx.LT: "__lt__", sx.LTE: "__le__"}
    name = ops[node_type]

    def compare(left, right):
        if isinstance(left, Linear) or isinstance(right, Linear):
            raise UnsupportedSql("its custom SQL filters on a quantity, not a presentation")
        left, right = _compare(left, right)
        return getattr(left, name)(right)

    return compare


def _vlike(values, pattern, lower: bool):
    if isinstance(pattern, list):
        if lower:
            return _vmap(lambda v, p: _like(str(v).lower(), str(p).lower()), values, pattern)
        return _vmap(lambda v, p: _like(str(v), str(p)), values, pattern)
    regex = _like_regex(str(pattern).lower() if lower else str(pattern))
    prep = (lambda v: str(v).lower()) if lower else str
    return _vmap(lambda v: regex.fullmatch(prep(v)) is not None, values)


def _column(node: sx.Column, values: Mapping):
    """A column's value from ``values`` (one row, or every row's list for ``_veval``): presentation
    and month columns as given, quantity and cost columns as a weight on that column."""
    name = node.name.lower()
    if name == "month":
        if values.get("month") is None:
            raise UnsupportedSql("its custom SQL depends on the month")
        return values["month"]
    if name in ROW_COLUMNS:
        return values[name]
    if name in VALUE_COLUMNS:
        return Linear(VALUE_COLUMNS[name], 1.0)
    if name == "total_quantity":
        return Linear("quantity", 1.0)
    raise UnsupportedSql(f"its custom SQL uses column {name!r}")


def _veval(node: sx.Expression, cols: Mapping):  # noqa: C901 - one case per node type
    """``_eval`` over all rows at once: a list (one value per row) or a scalar (same for all)."""
    if isinstance(node, sx.Paren):
        return _veval(node.this, cols)
    if isinstance(node, sx.Column):
        return _column(node, cols)
    if isinstance(node, (sx.Literal, sx.Boolean)):
        return _eval(node, {})
    if isinstance(node, sx.And):
        left, right = _veval(node.this, cols), _veval(node.expression, cols)
        return _vmap(lambda a, b: bool(a) and bool(b), left, right)
    if isinstance(node, sx.Or):
        left, right = _veval(node.this, cols), _veval(node.expression, cols)
        return _vmap(lambda a, b: bool(a) or bool(b), left, right)
    if isinstance(node, sx.Not):
        return _vmap(lambda a: not a, _veval(node.this, cols))
    if isinstance(node, (sx.EQ, sx.NEQ, sx.GT, sx.GTE, sx.LT, sx.LTE)):
        left, right = _veval(node.this, cols), _veval(node.expression, cols)
        if isinstance(node, (sx.EQ, sx.NEQ)) and _is_text(right) and _is_text_column(left):
            equal = isinstance(node, sx.EQ)  # plain string equality, as _compare leaves it
            return [(v == right) is equal for v in left]
        return _vmap(_compare_op(type(node)), left, right)
    if isinstance(node, (sx.Like, sx.ILike)):
        values, pattern = _veval(node.this, cols), _veval(node.expression, cols)
        return _vlike(values, pattern, isinstance(node, sx.ILike))
    if isinstance(node, sx.In):
        if node.args.get("query"):
            raise UnsupportedSql("its custom SQL uses a subquery (dm+d view)")
        value = _veval(node.this, cols)
        members = [_veval(e, cols) for e in node.expressions]
        if not any(isinstance(m, list) for m in members):
            found = set(members)
            return _vmap(lambda v: v in found, value)
        return _vmap(lambda v, *ms: v in set(ms), value, *members)
    if isinstance(node, sx.Date) and node.this is not None and not node.expressions:
        return _vmap(_as_date, _veval(node.this, cols))
    if isinstance(node, sx.Concat):
        parts = [_veval(e, cols) for e in node.expressions]
        return _vmap(lambda *ps: "".join(str(p) for p in ps), *parts)
    if isinstance(node, sx.Lower):
        return _vmap(lambda v: str(v).lower(), _veval(node.this, cols))
    if isinstance(node, sx.Upper):
        return _vmap(lambda v: str(v).upper(), _veval(node.this, cols))
    if isinstance(node, sx.Substring):
        length = node.args.get("length")
        start = _veval(node.args["start"], cols) if node.args.get("start") else 1
        size = _veval(length, cols) if length else None
        return _vmap(
            lambda v, b, k: _substr(str(v), int(b), int(k) if k is not None else None),
            _veval(node.this, cols),
            start,
            size,
        )
    if isinstance(node, sx.Left):
        return _vmap(
            lambda v, k: str(v)[: int(k)], _veval(node.this, cols), _veval(node.expression, cols)
        )
    if isinstance(node, sx.Case):
        lookup = _case_lookup(node, cols)
        if lookup is not None:
            return lookup
        branches = [
            (_veval(b.this, cols), _veval(b.args["true"], cols)) for b in node.args.get("ifs", [])
        ]
        default = node.args.get("default")
        fallback = _veval(default, cols) if default is not None else 0.0

        def pick(*row):
            for i in range(0, len(row) - 1, 2):
                if row[i]:
                    return row[i + 1]
            return row[-1]

        return _vmap(pick, *(x for pair in branches for x in pair), fallback)
    if isinstance(node, (sx.Mul, sx.Div, sx.Add, sx.Sub)):
        left, right = _veval(node.this, cols), _veval(node.expression, cols)
        return _vmap(lambda a, b: _arith(node, a, b), left, right)
    raise UnsupportedSql(f"its custom SQL uses {node.key.upper()}, outside our subset")


def _is_text(value) -> bool:
    return isinstance(value, str)


def _is_text_column(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _equals_literals(node: sx.Expression) -> tuple[sx.Expression, list[str]] | None:
    """(expression, literals) when ``node`` is ``expression = 'x'`` or ``expression IN ('x', …)``
    with string literals on one side; else None."""
    while isinstance(node, sx.Paren):
        node = node.this
    if isinstance(node, sx.EQ):
        key, other = node.this, node.expression
        if isinstance(key, sx.Literal):
            key, other = other, key
        literals = [other]
    elif isinstance(node, sx.In) and not node.args.get("query"):
        key, literals = node.this, list(node.expressions)
    else:
        return None
    if isinstance(key, sx.Literal):
        return None
    if not all(isinstance(lit, sx.Literal) and lit.is_string for lit in literals):
        return None
    return key, [lit.this for lit in literals]


def _case_lookup(node: sx.Case, cols: Mapping) -> list | None:
    """``CASE WHEN k = 'a' THEN x WHEN k IN ('b', 'c') THEN y … ELSE z END`` where every branch
    tests the same text expression ``k`` (``bnf_code``, ``LEFT(bnf_code, 9)`` …) against string
    literals: ``k`` is evaluated once and each row takes the result of its first matching branch
    (as ``_eval`` does) by one dictionary lookup. None when the CASE has any other shape."""
    branches = node.args.get("ifs", [])
    found = [_equals_literals(branch.this) for branch in branches]
    tests = [t for t in found if t is not None]
    if not tests or len(tests) < len(found) or any(t[0] != tests[0][0] for t in tests):
        return None
    keys = _veval(tests[0][0], cols)
    if not _is_text_column(keys):
        return None
    first: dict[str, int] = {}
    for i, (_, literals) in enumerate(tests):
        for literal in literals:
            first.setdefault(literal, i)
    default = node.args.get("default")
    results = [_veval(branch.args["true"], cols) for branch in branches]
    results.append(_veval(default, cols) if default is not None else 0.0)
    otherwise = len(branches)
    out = []
    for row, key in enumerate(keys):
        result = results[first.get(key, otherwise)]
        out.append(result[row] if isinstance(result, list) else result)
    return out
