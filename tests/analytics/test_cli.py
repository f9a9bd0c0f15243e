"""CLI: ipmo analytics ingest-prescribing / ingest-epd / measures (columns, formats, bad input)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from ipmo.cli import app


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("IPMO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("IPMO_SECRET_KEY", "test")
    return tmp_path


def _fixtures(shared_dir):
    return shared_dir / "peers/openprescribing/fixtures"


def test_ingest_epd_then_measures_csv_has_the_documented_columns(shared_dir, data_dir):
    runner = CliRunner()
    epd = _fixtures(shared_dir) / "epd_format/epd_201709_e2e_4practices.csv"
    result = runner.invoke(app, ["analytics", "ingest-epd", "--quiet", str(epd)])
    assert result.exit_code == 0, result.output
    assert "10,027 raw rows" in result.output
    result = runner.invoke(
        app,
        ["analytics", "measures", "--quiet", "--org-type", "place", "--measure", "trimethoprim"],
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and {r["org_type"] for r in rows} == {"place"}
    assert {r["org_code"] for r in rows} == {"03A", "11M"}
    expected = ["measure", "org_type", "org_code", "month", "numerator", "denominator"]
    expected += ["calc_value", "percentile"] + [f"cost_saving_{c}" for c in range(10, 100, 10)]
    assert list(rows[0]) == expected


def test_measures_json_format(shared_dir, data_dir):
    runner = CliRunner()
    golden = _fixtures(shared_dir) / "measures_golden"
    result = runner.invoke(
        app,
        [
            "analytics", "ingest-prescribing", str(golden / "derived_prescribing_input.csv"),
            "--orgs", str(golden / "derived_orgs.csv"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["analytics", "measures", "--quiet", "--format", "json", "--org-type", "icb"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {r["org_code"] for r in rows} == {"E00", "E01", "E10", "E11"}


def test_bad_epd_exits_2_with_one_line_naming_the_file(data_dir, tmp_path):
    bad = tmp_path / "nonsense.csv"
    bad.write_text("A,B\n1,2\n")
    result = CliRunner().invoke(app, ["analytics", "ingest-epd", "--quiet", str(bad)])
    assert result.exit_code == 2
    assert "nonsense.csv" in result.output and "not an EPD layout" in result.output
    assert not (data_dir / "analytics" / "prescribing").exists()


def test_unknown_org_type_and_measure_are_refused(shared_dir, data_dir):
    runner = CliRunner()
    result = runner.invoke(app, ["analytics", "measures", "--org-type", "ward"])
    assert result.exit_code == 2 and "--org-type" in result.output
    epd = _fixtures(shared_dir) / "epd_format/EPD_201601.csv"
    runner.invoke(app, ["analytics", "ingest-epd", "--quiet", str(epd)])
    result = runner.invoke(app, ["analytics", "measures", "--quiet", "--measure", "nope"])
    assert result.exit_code == 2 and "unknown measure nope" in result.output
