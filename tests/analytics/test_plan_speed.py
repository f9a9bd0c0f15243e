"""Spec: the faster cold-planning paths give exactly what the slow ones gave.

Custom SQL is evaluated one SQL node at a time over every presentation (``custom_sql._veval``)
instead of row by row (``custom_sql._eval``); the dictionary is read once for the dm+d views and
the ipmo measures' index (``dmd_views.shipped_index``).
"""

from __future__ import annotations

from ipmo.analytics.measures.definitions import Side, load_definitions
from ipmo.analytics.measures.dmd_index import dmd_index
from ipmo.analytics.planning import custom_sql
from ipmo.analytics.planning.custom_sql import compile_custom_side, month_breakpoints
from ipmo.analytics.planning.dmd_views import load_views, shipped_index
from ipmo.analytics.planning.ipmo_measures import with_ipmo_measures
from ipmo.analytics.planning.plan import _needs_dmd, _reads_per_item


def _custom(columns: str, where: str | None = None) -> Side:
    return Side(type="custom", columns=columns, from_="{hscic}.normalised_prescribing", where=where)


def _both(side: Side, presentations: dict[str, str], month=None):
    """(whole-pass result or the exception it raised, row-by-row result or its exception)."""
    value, where = custom_sql._parse(side)
    argument, _ = custom_sql._top(value)
    condition = where.this if where is not None else None
    codes = list(presentations)
    names = [presentations[c] or "" for c in codes]
    out = []
    for evaluate in (custom_sql._evaluate_all, custom_sql._evaluate_rows):
        try:
            out.append(list(evaluate(condition, argument, codes, names, month)))
        except Exception as exc:  # noqa: BLE001 - compared below
            out.append(exc)
    return out


def test_whole_pass_evaluation_equals_row_evaluation_for_every_custom_side():
    presentations = dict(load_views().bnf_names)  # every BNF code the dictionary names
    definitions = with_ipmo_measures(list(load_definitions().values()), presentations)
    compared = 0
    for definition in definitions:
        for side in (definition.numerator, definition.denominator):
            if side.type != "custom" or _needs_dmd(side) or _reads_per_item(side):
                continue
            if "normalised_prescribing" not in (side.from_ or ""):
                continue
            for month in month_breakpoints(side) or [None]:
                fast, rows = _both(side, presentations, month)
                assert not isinstance(fast, Exception), (definition.id, fast)
                assert fast == rows, definition.id
                compared += 1
    assert compared >= 8  # carbon_salbutamol, nhse_bgts, nhse_lancets, tamoxifen, inhalers …


def test_case_on_codes_takes_the_first_matching_branch():
    side = _custom(
        "SUM(CASE WHEN bnf_code = 'A' THEN quantity * 2 "
        "WHEN bnf_code IN ('A', 'B') THEN quantity * 3 ELSE 0 END)"
    )
    presentations = {"A": "a", "B": "b", "C": "c"}
    assert compile_custom_side(side, presentations) == ("quantity", {"A": 2.0, "B": 3.0}, 1.0)
    fast, rows = _both(side, presentations)
    assert fast == rows


def test_case_on_two_columns_is_not_a_lookup_but_still_right():
    side = _custom(
        "SUM(CASE WHEN bnf_code = 'A' THEN items WHEN bnf_name = 'b' THEN items * 4 END)"
    )
    presentations = {"A": "b", "B": "b", "C": "c"}
    assert compile_custom_side(side, presentations) == ("items", {"A": 1.0, "B": 4.0}, 1.0)


def test_an_error_only_the_whole_pass_meets_falls_back_to_rows():
    """The ELSE divides by zero: never reached row by row, always evaluated in a whole pass."""
    side = _custom("SUM(CASE WHEN bnf_code LIKE '01%' THEN items * 2 ELSE 1 / 0 END)")
    presentations = {"0101": "x", "0102": "y"}
    fast, rows = _both(side, presentations)
    assert isinstance(fast, ZeroDivisionError) and not isinstance(rows, Exception)
    assert compile_custom_side(side, presentations) == ("items", {"0101": 2.0, "0102": 2.0}, 1.0)


def test_a_row_error_is_still_raised():
    side = _custom("SUM(CASE WHEN bnf_code LIKE '01%' THEN items * 2 ELSE 1 / 0 END)")
    try:
        compile_custom_side(side, {"0101": "x", "0901": "y"})
    except ZeroDivisionError:
        pass
    else:  # pragma: no cover - the assertion
        raise AssertionError("the row whose ELSE divides by zero must raise")


def test_name_filters_match_row_by_row_results():
    side = _custom(
        "SUM(items)", "LOWER(bnf_name) LIKE '%inhaler%' AND NOT SUBSTR(bnf_code, 1, 2) = '03'"
    )
    presentations = {"0301": "Salbutamol Inhaler", "0601": "Other inhaler", "0602": "Tabs"}
    fast, rows = _both(side, presentations)
    assert fast == rows
    assert compile_custom_side(side, presentations)[1] == {"0601": 1.0}


def test_shipped_index_equals_the_dmd_index():
    assert shipped_index() == dmd_index()
