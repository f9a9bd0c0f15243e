"""Inequality view: quintile sums, gap and slope index of inequality, the deprivation table, the
demo hook, CLI, web page, CSV download and access checks."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date

import numpy as np
import pyarrow.parquet as pq
import pytest
from tests.analytics import epd_data
from typer.testing import CliRunner

from ipmo.analytics import demo
from ipmo.analytics.ingest.epd import IngestError
from ipmo.analytics.reports import inequalities as ineq
from ipmo.cli import app as cli_app

M1, M2 = date(2025, 1, 1), date(2025, 2, 1)


def _p(code, measure, month, num, den):
    return {"measure": measure, "org_code": code, "month": month, "numerator": num,
            "denominator": den}  # fmt: skip


# practice → IMD decile: quintile 1 = deciles 1–2, quintile 5 = deciles 9–10
DECILES = {"A": 1, "B": 2, "C": 5, "D": 9, "E": 10, "F": 3}
ROWS = [
    _p("A", "m", M1, 2, 10), _p("B", "m", M1, 3, 5), _p("C", "m", M1, 1, 4),
    _p("D", "m", M1, 0, 6), _p("E", "m", M1, 4, 2), _p("F", "m", M1, 7, 0),
    _p("X", "m", M1, 100, 100),  # no decile: left out
    _p("A", "m", M2, 1, 1), _p("D", "m", M2, 1, 3),
    _p("A", "other", M1, 9, 9),
]  # fmt: skip


def test_quintile_of_decile():
    assert [ineq.quintile_of(d) for d in range(1, 11)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    with pytest.raises(ValueError):
        ineq.quintile_of(0)
    with pytest.raises(ValueError):
        ineq.quintile_of(11)


def test_quintile_values_equal_hand_sums():
    got = {(v.month, v.quintile): v for v in ineq.quintile_values(ROWS, DECILES, "m")}
    # M1: Q1 = A + B = (2 + 3) / (10 + 5); Q2 = F = 7 / 0 → None; Q3 = C = 1 / 4;
    #     Q5 = D + E = (0 + 4) / (6 + 2); X has no decile
    assert (got[(M1, 1)].numerator, got[(M1, 1)].denominator) == (5, 15)
    assert got[(M1, 1)].value == pytest.approx(1 / 3)
    assert got[(M1, 1)].practices == 2
    assert got[(M1, 2)].value is None and got[(M1, 2)].numerator == 7
    assert got[(M1, 3)].value == pytest.approx(0.25)
    assert got[(M1, 5)].value == pytest.approx(0.5)
    assert (M1, 4) not in got
    # M2: Q1 = A = 1 / 1, Q5 = D = 1 / 3
    assert got[(M2, 1)].value == 1 and got[(M2, 5)].value == pytest.approx(1 / 3)
    assert {v.measure for v in ineq.quintile_values(ROWS, DECILES)} == {"m", "other"}


def test_gap_is_most_minus_least_deprived_quintile():
    rows = ineq.inequality_rows(ineq.quintile_values(ROWS, DECILES, "m"))
    gaps = {(r["month"], r["quintile"]): r["gap"] for r in rows}
    assert gaps[(M1, 1)] == pytest.approx(1 / 3 - 0.5)
    assert gaps[(M1, 3)] == gaps[(M1, 1)]  # one gap per measure-month, on each row
    assert gaps[(M2, 1)] == pytest.approx(1 - 1 / 3)


def _values(values, denominators=None):
    denominators = denominators or [1.0] * len(values)
    return [
        ineq.QuintileValue("m", M1, q, 1, v * d, d, v)
        for q, v, d in zip(ineq.QUINTILES, values, denominators, strict=True)
    ]


def test_sii_of_a_straight_line_is_the_modelled_gap():
    # equal shares: ranks 0.1 … 0.9; y = 1 − x → fitted 1 at the most deprived end, 0 at the least
    assert ineq.slope_index(_values([0.9, 0.7, 0.5, 0.3, 0.1])) == pytest.approx(1.0)
    assert ineq.slope_index(_values([0.1, 0.3, 0.5, 0.7, 0.9])) == pytest.approx(-1.0)
    assert ineq.slope_index(_values([0.4] * 5)) == pytest.approx(0.0)


def test_sii_weights_by_denominator_like_a_weighted_least_squares_fit():
    values, dens = [0.8, 0.3, 0.6, 0.2, 0.25], [50.0, 10.0, 30.0, 5.0, 5.0]
    shares = np.array(dens) / sum(dens)
    ranks = np.cumsum(shares) - shares / 2
    # numpy's w multiplies residuals, so sqrt(share) gives share-weighted least squares
    slope = np.polyfit(ranks, values, 1, w=np.sqrt(shares))[0]
    assert ineq.slope_index(_values(values, dens)) == pytest.approx(-slope)
    unweighted = np.polyfit(ranks, values, 1)[0]
    assert ineq.slope_index(_values(values, dens)) != pytest.approx(-unweighted)


def test_sii_needs_two_quintiles_with_values():
    one = [ineq.QuintileValue("m", M1, 1, 1, 1.0, 2.0, 0.5)]
    assert ineq.slope_index(one) is None
    two = one + [ineq.QuintileValue("m", M1, 5, 1, 1.0, 2.0, 0.3)]
    # two halves: a line through their midpoints (0.25, 0.75) doubles the gap at the ends
    assert ineq.slope_index(two) == pytest.approx(2 * (0.5 - 0.3))


# ── deprivation table ──────────────────────────────────────────────────────────────────────────


def _csv(tmp_path, text):
    path = tmp_path / "imd.csv"
    path.write_text(text)
    return path


def test_ingest_deprivation_deciles(tmp_path):
    root = tmp_path / "analytics"
    n = ineq.ingest_deprivation(_csv(tmp_path, "practice,name,imd_decile\nA1,x,1\nB2,y,10\n"), root)
    assert n == 2
    assert ineq.load_deprivation(root) == {"A1": 1, "B2": 10}


def test_ingest_deprivation_scores_become_national_deciles(tmp_path):
    root = tmp_path / "analytics"
    lines = "".join(f"P{i:02d},{i * 1.5}\n" for i in range(20))
    ineq.ingest_deprivation(_csv(tmp_path, "practice,imd_score\n" + lines), root)
    deciles = ineq.load_deprivation(root)
    # 20 practices: the two highest scores (most deprived) are decile 1, the two lowest decile 10
    assert deciles["P19"] == deciles["P18"] == 1
    assert deciles["P00"] == deciles["P01"] == 10


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("practice,imd_decile\nA1,11\n", "row 2: imd_decile 11 is not between 1 and 10"),
        ("practice,imd_decile\nA1,2\nA1,3\n", "row 3: practice A1 appears twice"),
        ("practice,imd_decile\nA1,x\n", "row 2: imd_decile 'x' is not a number"),
        ("practice,decile\nA1,3\n", "expected columns practice and imd_decile"),
        ("practice,imd_decile\n", "no practices"),
    ],
)
def test_bad_deprivation_file_is_refused_and_nothing_written(tmp_path, text, message):
    root = tmp_path / "analytics"
    with pytest.raises(IngestError, match=re.escape(message)):
        ineq.ingest_deprivation(_csv(tmp_path, text), root)
    assert ineq.load_deprivation(root) is None


def test_demo_hook_gives_every_practice_a_decile(tmp_path, monkeypatch):
    monkeypatch.setenv("IPMO_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(demo, "DEMO_PRACTICES", 8)
    monkeypatch.setattr(demo, "DEMO_MONTHS", ("2025_01",))
    demo.populate(None, 3)
    practices = pq.read_table(tmp_path / "analytics" / "practices.parquet")["practice"]
    deciles = ineq.load_deprivation(tmp_path / "analytics")
    assert sorted(deciles) == sorted(practices.to_pylist())
    assert all(1 <= d <= 10 for d in deciles.values())


# ── CLI and web ────────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def built(epd_folder):
    return epd_folder


def _expected_q1(root, deciles, measure):
    """Quintile 1 of the first month, summed here straight from the cached practice rows."""
    from ipmo.analytics.compute.service import cached_results

    rows = [r for r in cached_results(root).values.to_pylist()
            if r["org_type"] == "practice" and r["measure"] == measure]  # fmt: skip
    month = min(r["month"] for r in rows)
    q1 = [r for r in rows if r["month"] == month and deciles.get(r["org_code"]) in (1, 2)]
    return sum(r["numerator"] for r in q1) / sum(r["denominator"] for r in q1)


def test_cli_inequalities_csv_and_json(built, tmp_path, monkeypatch):
    root, deciles = built
    epd_data.copy_into(root, tmp_path / "analytics")
    monkeypatch.setenv("IPMO_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    result = runner.invoke(cli_app, ["analytics", "inequalities", "--measure", "trimethoprim"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ineq.CSV_COLUMNS
    assert {r["quintile"] for r in rows} == {"1", "2", "3", "4", "5"}
    assert float(rows[0]["value"]) == pytest.approx(_expected_q1(root, deciles, "trimethoprim"))
    as_json = runner.invoke(
        cli_app, ["analytics", "inequalities", "--measure", "trimethoprim", "--format", "json"]
    )
    assert len(json.loads(as_json.stdout)) == len(rows)
    bad = runner.invoke(cli_app, ["analytics", "inequalities", "--measure", "nope"])
    assert bad.exit_code == 2 and "unknown measure 'nope'" in bad.output


def _without_deprivation(built, root):
    epd_data.copy_into(built[0], root)
    ineq.deprivation_path(root).unlink()


def test_cli_inequalities_without_deprivation_says_how_to_load_it(built, tmp_path, monkeypatch):
    _without_deprivation(built, tmp_path / "analytics")
    monkeypatch.setenv("IPMO_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(cli_app, ["analytics", "inequalities"])
    assert result.exit_code == 2 and "ingest-deprivation" in result.output


@pytest.fixture
def web_data(built, app_settings):
    epd_data.copy_into(built[0], app_settings.analytics_dir)
    return app_settings


@pytest.mark.parametrize("user", ["analyst", "gp"])
def test_inequality_page_shows_table_chart_and_csv_link(client_as, web_data, user):
    page = client_as(user).get("/analytics/inequalities?measure=trimethoprim")
    assert page.status_code == 200
    assert len(re.findall(r"<tr><td>", page.text)) == len(epd_data.MONTHS)  # one row a month
    spec = json.loads(re.search(r'id="inequalities-spec">(.*?)</script>', page.text, re.S)[1])
    assert spec["$schema"].endswith("vega-lite/v5.json")
    assert {d["quintile"] for d in spec["data"]["values"]} == {"Q1", "Q2", "Q3", "Q4", "Q5"}
    assert "/api/analytics/inequalities?measure=trimethoprim&amp;format=csv" in page.text


def test_inequality_csv_download_matches_hand_sum(client_as, web_data, built):
    root, deciles = built
    client = client_as("analyst")
    response = client.get("/api/analytics/inequalities?measure=trimethoprim&format=csv")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert float(rows[0]["value"]) == pytest.approx(_expected_q1(root, deciles, "trimethoprim"))
    every = client.get("/api/analytics/inequalities").json()
    assert len({r["measure"] for r in every}) > 1
    assert client.get("/api/analytics/inequalities?measure=nope").status_code == 404
    assert client.get("/api/analytics/inequalities?format=xml").status_code == 422
    assert client.get("/analytics/inequalities?measure=nope").status_code == 404


@pytest.mark.parametrize("user", ["community.pharmacist", "carehome"])
def test_inequality_routes_refuse_roles_without_analytics(client_as, web_data, user):
    client = client_as(user)
    assert client.get("/analytics/inequalities").status_code == 403
    assert client.get("/api/analytics/inequalities").status_code == 403


def test_inequality_page_without_deprivation_says_how_to_load_it(client_as, app_settings, built):
    _without_deprivation(built, app_settings.analytics_dir)
    page = client_as("analyst").get("/analytics/inequalities")
    assert page.status_code == 200 and "ingest-deprivation" in page.text
