"""The dashboard overview people read (issue 14): savings that add up and are never negative,
positions instead of percentiles over a dozen practices, measures with no data set apart, the
organisations' names, sparklines, and monthly chart axes with years."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pyarrow as pa
import pytest

from ipmo.analytics.reports import dashboard
from ipmo.analytics.reports.vega import MONTH_AXIS

DEC, NOV = date(2025, 12, 1), date(2025, 11, 1)


def _row(measure, org_type, org, month, value, pct=None, saving=None):
    return {"measure": measure, "org_type": org_type, "org_code": org, "month": month,
            "numerator": value, "denominator": 1.0 if value is not None else 0.0,
            "calc_value": value, "percentile": pct,
            **{f"cost_saving_{c}": saving for c in range(10, 100, 10)}}  # fmt: skip


class _Catalogue:
    """The two measures the overview needs: costed (low is good) and not costed."""

    def __init__(self):
        def d(name, low_is_good=True):
            return SimpleNamespace(name=name, low_is_good=low_is_good, is_percentage=False)

        self.definitions = {"costly": d("Costly"), "plain": d("Plain"), "empty": d("Empty")}

    def ids(self, origin=None):
        return list(self.definitions)

    def __contains__(self, m):
        return m in self.definitions

    def info(self, m):
        return {"origin": "openprescribing", "origin_label": "OpenPrescribing", "source": "",
                "low_is_good": self.definitions[m].low_is_good}  # fmt: skip


@pytest.fixture
def values():
    rows = [
        # three practices of PCN "P1": savings 100 and 50, and one already better (-80)
        _row("costly", "practice", "A1", DEC, 5.0, 100.0, 100.0),
        _row("costly", "practice", "A2", DEC, 3.0, 50.0, 50.0),
        _row("costly", "practice", "A3", DEC, 1.0, 0.0, -80.0),
        _row("costly", "pcn", "P1", NOV, 2.0, 0.0, -10.0),
        _row("costly", "pcn", "P1", DEC, 3.0, 0.0, -30.0),  # the engine's own PCN-level figure
        _row("plain", "pcn", "P1", DEC, 0.4, 0.0),
        _row("plain", "practice", "A1", DEC, 0.4, 0.0),
        _row("empty", "pcn", "P1", DEC, None),
        _row("costly", "icb", "Q1", DEC, 3.0, 0.0, 0.0),
    ]
    return pa.Table.from_pylist(rows)


PLACES = dashboard.Directory(
    names={"P1": "Riverside PCN", "A1": "Riverside Surgery"},
    members={("pcn", "P1"): ["A1", "A2", "A3"], ("practice", "A1"): ["A1"]},
)


def test_the_saving_is_the_sum_of_the_practices_positive_savings_never_negative(values):
    rows = {r["measure"]: r for r in dashboard.overview(values, _Catalogue(), "pcn", "P1",
                                                        places=PLACES)}  # fmt: skip
    assert rows["costly"]["opportunity"] == 150.0  # 100 + 50; the better practice offsets nothing
    assert rows["plain"]["opportunity"] is None  # not costed: said so, not "–"


def test_measures_with_no_data_come_last_and_are_marked(values):
    rows = dashboard.overview(values, _Catalogue(), "pcn", "P1", places=PLACES)
    assert [r["measure"] for r in rows] == ["costly", "plain", "empty"]
    assert [r["no_data"] for r in rows] == [False, False, True]


def test_position_among_the_level_not_a_percentile_and_names_not_codes(values):
    [costly] = [
        r
        for r in dashboard.overview(values, _Catalogue(), "practice", "A1", places=PLACES)
        if r["measure"] == "costly"
    ]
    assert (costly["rank"], costly["of"]) == (3, 3)  # the highest of the three practices
    assert costly["org_name"] == "Riverside Surgery"
    assert PLACES.name("ZZZ") == "ZZZ"  # an organisation without a name keeps its code


def test_the_trend_and_its_sparkline(values):
    [costly] = [
        r
        for r in dashboard.overview(values, _Catalogue(), "pcn", "P1", places=PLACES)
        if r["measure"] == "costly"
    ]
    assert costly["trend"] == [(NOV, 2.0), (DEC, 3.0)]
    svg = dashboard.sparkline(costly["trend"])
    assert svg.startswith("<svg") and 'aria-hidden="true"' in svg and "<polyline" in svg
    assert dashboard.sparkline([(DEC, 1.0)]) == ""  # one point is not a trend


def test_percentiles_are_called_ics_unless_several_icbs_are_loaded(values):
    assert dashboard.scope_label(values) == "ICS"
    more = pa.concat_tables([values, pa.Table.from_pylist([_row("costly", "icb", "Q2", DEC, 1.0)],
                                                          schema=values.schema)])  # fmt: skip
    assert dashboard.scope_label(more) == "national"


def test_monthly_axes_are_labelled_by_month_and_year():
    assert MONTH_AXIS["timeUnit"] == "yearmonth"
    assert MONTH_AXIS["axis"]["format"] == "%b %Y"
    assert MONTH_AXIS["axis"]["tickCount"] == {"interval": "month", "step": 1}
