"""Medicines on a page: order of measures, decile bands, headlines, footnotes, HTML/PDF/CSV, CLI
and web routes with their access checks."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date

import pyarrow as pa
import pytest
from tests.analytics import epd_data
from typer.testing import CliRunner

from ipmo.analytics.compute.engine import DECILES
from ipmo.analytics.compute.service import cached_results
from ipmo.analytics.measures.aware import MEASURE_ID as AWARE_ID
from ipmo.analytics.reports import report
from ipmo.cli import app as cli_app

JAN, FEB = date(2025, 1, 1), date(2025, 2, 1)
COLUMNS = ["measure", "org_type", "org_code", "month", "numerator", "denominator", "calc_value"]
COLUMNS += ["percentile"] + [f"cost_saving_{c}" for c in DECILES]


def _definitions():
    defs = report.report_definitions()
    # no shipped measure is "high is good" yet (biosimilar uptake will be): make one for the test
    defs["highgood"] = replace(defs["trimethoprim"], id="highgood", name="High is good",
                               low_is_good=False)  # fmt: skip
    return defs


def _row(measure, org_type, code, month, value, percentile, saving50=None):
    savings = {f"cost_saving_{c}": (saving50 if c == 50 else None) for c in DECILES}
    return {"measure": measure, "org_type": org_type, "org_code": code, "month": month,
            "numerator": 1.0, "denominator": 2.0, "calc_value": value,
            "percentile": percentile} | savings  # fmt: skip


def _tables(rows):
    values = pa.Table.from_pylist(rows).select(COLUMNS)
    glob = [
        {"measure": m, "org_type": t, "month": mo} | {f"p{c}": c / 100 for c in DECILES}
        for m, t, mo in {(r["measure"], r["org_type"], r["month"]) for r in rows}
    ]
    return values, pa.Table.from_pylist(glob)


# (measure, value, percentile, saving at p50) for the latest month, and the order the rules give:
# cost-based with a positive saving by saving (lpcoprox 500, lpdosulepin 120); then the rest by
# badness: glutenfree (cost-based but saving −30, percentile 95), highgood (100 − 10 = 90),
# trimethoprim 80, AWaRe 40, solublepara 20.
PRACTICE = [
    ("lpdosulepin", 0.5, 60.0, 120.0), ("trimethoprim", 0.4, 80.0, None),
    ("solublepara", 0.1, 20.0, None), ("lpcoprox", 0.9, 30.0, 500.0),
    ("glutenfree", 0.7, 95.0, -30.0), ("highgood", 0.2, 10.0, None), (AWARE_ID, 0.25, 40.0, None),
    ("vitb", None, None, None),
]  # fmt: skip
PRACTICE_ORDER = ["lpcoprox", "lpdosulepin", "glutenfree", "highgood", "trimethoprim", AWARE_ID,
                  "solublepara"]  # fmt: skip
# the PCN's own numbers give another order: no positive saving, so percentile alone decides
PCN = [
    ("lpdosulepin", 0.5, 10.0, -5.0), ("trimethoprim", 0.4, 50.0, None),
    ("lpcoprox", 0.9, 70.0, 0.0), ("solublepara", 0.3, 90.0, None),
]  # fmt: skip
PCN_ORDER = ["solublepara", "lpcoprox", "trimethoprim", "lpdosulepin"]


def _results():
    rows = []
    for org_type, code, spec in (("practice", "A00001", PRACTICE), ("pcn", "U00001", PCN)):
        for measure, value, pct, saving in spec:
            rows.append(_row(measure, org_type, code, FEB, value, pct, saving))
            # an older month with the opposite order must not count
            rows.append(_row(measure, org_type, code, JAN, value, 100 - (pct or 0), None))
    rows.append(_row("trimethoprim", "practice", "A00002", FEB, 0.3, 0.0))
    return _tables(rows)


def _order(html: str) -> list[str]:
    return re.findall(r'<tr data-measure="([^"]+)">', html)


@pytest.mark.parametrize(("code", "expected"), [("A00001", PRACTICE_ORDER), ("U00001", PCN_ORDER)])
def test_report_lists_measures_by_saving_at_median_then_percentile(code, expected):
    values, glob = _results()
    view = report.report_view(values, glob, code, definitions=_definitions())
    assert view["month"] == FEB
    assert [r["measure"] for r in view["rows"]] == expected
    assert _order(report.render_html(view)) == expected


def test_report_header_names_the_org_and_month_and_lists_measures_without_data():
    values, glob = _results()
    practices = report.Practices({"A00001": {"name": "Riverside", "pcn": "U00001", "icb": "Q1"}})
    view = report.report_view(values, glob, "A00001", definitions=_definitions(),
                              practices=practices)  # fmt: skip
    html = report.render_html(view)
    assert "Medicines on a page: Riverside" in html
    assert "February 2025" in html and "PCN U00001" in html
    assert view["no_data"] == ["vitb"]
    assert view["peers"] == 2  # A00001 and A00002 in February


def test_report_code_lookup_is_case_insensitive_and_refuses_ambiguous_codes():
    values, glob = _results()
    assert report.report_view(values, glob, "a00001", definitions=_definitions())["org_code"] == (
        "A00001"
    )
    rows = values.to_pylist() + [_row("trimethoprim", "place", "A00001", FEB, 0.1, 1.0)]
    both, _ = _tables(rows)
    with pytest.raises(report.ReportError, match="several levels"):
        report.report_view(both, glob, "A00001", definitions=_definitions())
    view = report.report_view(both, glob, "A00001", "place", definitions=_definitions())
    assert view["org_type"] == "place"


def test_unknown_org_is_a_report_error():
    values, glob = _results()
    with pytest.raises(report.ReportError, match="unknown organisation 'ZZZ'"):
        report.report_view(values, glob, "ZZZ", definitions=_definitions())


@pytest.mark.parametrize(
    ("percentile", "band"), [(0.0, 1), (9.99, 1), (10.0, 2), (55.0, 6), (99.9, 10), (100.0, 10)]
)
def test_decile_band_from_percentile(percentile, band):
    assert report.decile_band(percentile) == band
    assert report.decile_band(None) is None


def test_aware_headline_shows_access_share_against_the_70_percent_ambition():
    values, glob = _results()
    view = report.report_view(values, glob, "A00001", definitions=_definitions())
    [aware] = [h for h in view["headlines"] if h["topic"] == "Antibiotic stewardship"]
    # Watch + Reserve 25% → Access 75%, which meets the ≥ 70% ambition
    assert "Access antibiotics 75.0%" in aware["items"][0]["text"]
    assert "meets" in aware["items"][0]["text"]
    pcn = report.report_view(values, glob, "U00001", definitions=_definitions())
    assert [h["topic"] for h in pcn["headlines"]] == []  # no AWaRe or inhaler values


def test_footnotes_cite_openprescribing_definitions():
    values, glob = _results()
    html = report.render_html(
        report.report_view(values, glob, "A00001", definitions=_definitions())
    )
    for measure in ("lpcoprox", "trimethoprim"):
        assert f"https://openprescribing.net/measure/{measure}/" in html
        assert f"measures/definitions/{measure}.json" in html
    assert "UKHSA AWaRe 2024" in html


def test_sparkline_is_static_svg_with_band_median_and_own_line():
    months = [JAN, FEB]
    deciles = {m: {10: 0.1, 50: 0.3, 90: 0.5} for m in months}
    svg = str(report.sparkline(months, deciles, {JAN: 0.2, FEB: 0.6}, "t <&>"))
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.find(f"{ns}title").text == "t <&>"
    assert root.find(f"{ns}polygon").get("class") == "band"
    assert [p.get("class") for p in root.findall(f"{ns}polyline")] == ["median", "own"]
    assert "<script" not in svg
    empty = ET.fromstring(str(report.sparkline(months, {}, {}, "none")))
    assert empty.find(f"{ns}polyline") is None


def test_pdf_starts_with_pdf_magic():
    values, glob = _results()
    view = report.report_view(values, glob, "U00001", definitions=_definitions())
    pdf = report.render_pdf(view)
    assert pdf.startswith(b"%PDF")


def test_csv_has_one_row_per_measure_in_report_order():
    values, glob = _results()
    view = report.report_view(values, glob, "A00001", definitions=_definitions())
    rows = list(csv.DictReader(io.StringIO(report.render_csv(view))))
    assert [r["measure"] for r in rows] == PRACTICE_ORDER
    assert rows[0]["cost_saving_50"] == "500.0"


# ── on real (synthetic EPD) data: CLI and web ──────────────────────────────────────────────────


@pytest.fixture
def built(epd_folder):
    return epd_folder[0]


@pytest.fixture
def data_dir(built, tmp_path, monkeypatch):
    epd_data.copy_into(built, tmp_path / "analytics")
    monkeypatch.setenv("IPMO_DATA_DIR", str(tmp_path))
    return tmp_path


def _practice_with_values(root):
    results = cached_results(root)
    rows = [r for r in results.values.to_pylist() if r["org_type"] == "practice"]
    return next(r["org_code"] for r in rows if r["calc_value"] is not None)


def test_cli_report_for_a_practice_writes_html_biggest_opportunity_first(data_dir):
    code = _practice_with_values(data_dir / "analytics")
    out = data_dir / "r.html"
    result = CliRunner().invoke(cli_app, ["analytics", "report", "--org", code, "-o", str(out)])
    assert result.exit_code == 0, result.output
    order = _order(out.read_text())
    assert order, "the synthetic EPD gives shipped measures values"
    root = data_dir / "analytics"
    view = report.report_view(*_tables_of(data_dir), code, root=root)
    assert order == [r["measure"] for r in view["rows"]]
    # checked here from the rule itself: positive savings at the median first, largest first;
    # then the rest worst first (high percentile where low is good, low where high is good)
    definitions = report.report_definitions(root)
    saving = [r["cost_saving_50"] for r in view["rows"] if (r["saving"] or 0) > 0]
    assert saving == sorted(saving, reverse=True)
    rest = view["rows"][len(saving) :]
    worst = [
        100 - r["percentile"] if definitions[r["measure"]].low_is_good is False else r["percentile"]
        for r in rest
    ]
    assert worst == sorted(worst, reverse=True)


def _tables_of(data_dir):
    results = cached_results(data_dir / "analytics")
    return results.values, results.globals


def test_cli_report_for_a_pcn_writes_pdf(data_dir):
    out = data_dir / "pcn.pdf"
    result = CliRunner().invoke(
        cli_app, ["analytics", "report", "--org", "U00001", "--format", "pdf", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")


def test_cli_unknown_org_is_one_line_error_and_writes_nothing(data_dir):
    out = data_dir / "nope.html"
    result = CliRunner().invoke(cli_app, ["analytics", "report", "--org", "NOPE", "-o", str(out)])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "unknown organisation 'NOPE'" in result.output
    assert not out.exists()
    bad = CliRunner().invoke(cli_app, ["analytics", "report", "--org", "U00001", "--format", "doc"])
    assert bad.exit_code == 2 and "--format" in bad.output


@pytest.fixture
def web_data(built, app_settings):
    epd_data.copy_into(built, app_settings.analytics_dir)
    return app_settings


@pytest.mark.parametrize("user", ["analyst", "pcn.pharmacist"])
def test_report_routes_serve_html_pdf_csv_to_analytics_roles(client_as, web_data, user):
    client = client_as(user)
    html = client.get("/analytics/report/U00001.html")
    assert html.status_code == 200 and 'id="measures"' in html.text
    pdf = client.get("/analytics/report/U00001.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    assert "attachment" in pdf.headers["content-disposition"]
    text = client.get("/analytics/report/U00001.csv").text
    assert next(csv.reader(io.StringIO(text)))[:3] == ["rank", "measure", "name"]
    assert client.get("/analytics/report/NOPE.pdf").status_code == 404
    assert client.get("/analytics/report/U00001.doc").status_code == 404


@pytest.mark.parametrize("user", ["community.pharmacist", "carehome"])
def test_report_routes_refuse_roles_without_analytics(client_as, web_data, user):
    client = client_as(user)
    assert client.get("/analytics/report/U00001.pdf").status_code == 403
    assert client.get("/analytics/report/U00001.html").status_code == 403


def test_overview_links_to_the_report(client_as, web_data):
    page = client_as("analyst").get("/analytics?org_type=pcn&org_code=U00001")
    assert "/analytics/report/U00001.pdf?org_type=pcn" in page.text
