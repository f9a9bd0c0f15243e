"""``ipmo workforce …`` and ``ipmo plan …`` against a real store in a temporary data folder."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from typer.testing import CliRunner

from ipmo.cli import app
from ipmo.store import session_scope
from ipmo.workforce.models import Post

from .helpers import csv_text, row

runner = CliRunner()


def _posts(engine) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count(Post.id)))


def test_import_summary_organogram_and_a_refused_file(cli_store, tmp_path):
    folder, engine = tmp_path, cli_store
    good = folder / "esr.csv"
    good.write_text(
        csv_text(
            row(),
            row(
                assignment_number="A2",
                employee_number="E2",
                full_name="B",
                organisation_code="A20001",
                wte="0.5",
            ),
        )
    )
    result = runner.invoke(app, ["workforce", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "2 assignment(s) imported: 2 people, 0 vacancies" in result.output

    bad = folder / "bad.csv"
    bad.write_text(
        csv_text(
            row(assignment_number="A3", employee_number="E3", full_name="C"),
            row(assignment_number="A4", employee_number="E4", full_name="D", wte="-1"),
        )
    )
    result = runner.invoke(app, ["workforce", "import", str(bad)])
    assert result.exit_code == 2
    assert "bad.csv: line 3: wte -1 must be more than 0 and at most 1.0" in result.output
    assert _posts(engine) == 2

    result = runner.invoke(app, ["workforce", "summary", "--by", "pcn", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["key"]: r for r in json.loads(result.output)["rows"]}
    assert rows["U10001"]["in_post_wte"] == 1.0 and rows["U20001"]["in_post_wte"] == 0.5

    assert runner.invoke(app, ["workforce", "summary", "--by", "ward"]).exit_code == 2
    out = folder / "ics.svg"
    result = runner.invoke(app, ["workforce", "organogram", "ics", "-o", str(out)])
    assert result.exit_code == 0 and out.read_text().startswith("<svg")


def test_plan_load_report_and_unknown_metric(cli_store, tmp_path):
    folder = tmp_path
    plan = {
        "title": "P",
        "owner": "O",
        "start_date": "2026-01-01",
        "end_date": "2027-01-01",
        "objectives": [
            {
                "title": "T",
                "owner": "O",
                "metric": "workforce.vacancy_rate",
                "baseline": 20,
                "target": 10,
            }
        ],
    }
    bad = folder / "bad.json"
    bad.write_text(
        json.dumps({**plan, "objectives": [{**plan["objectives"][0], "metric": "workforce.moon"}]})
    )
    result = runner.invoke(app, ["plan", "load", str(bad)])
    assert result.exit_code == 2
    assert "bad.json: objective 1: unknown metric 'workforce.moon'" in result.output
    good = folder / "plan.json"
    good.write_text(json.dumps(plan))
    result = runner.invoke(app, ["plan", "load", str(good)])
    assert result.exit_code == 0 and "plan 1 created with 1 objective(s)" in result.output
    out = folder / "p.html"
    result = runner.invoke(app, ["plan", "report", "1", "--format", "html", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Vacant WTE as a share of funded WTE" in out.read_text()
    assert runner.invoke(app, ["plan", "report", "9", "--format", "html"]).exit_code == 2
    assert runner.invoke(app, ["plan", "report", "1", "--format", "docx"]).exit_code == 2
