"""The hazard log (issue 19) is kept true by CI: cited tests exist, every hazard has a test control,
every clinical item in the code is covered by a hazard; the report is generated from the log."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ipmo.cli import app
from ipmo.safety import DEFAULT_LOG, HazardLogError, check_log, clinical_items, load, render_html
from ipmo.safety.hazard_log import rating
from ipmo.safety.report import test_evidence as evidence_from_junit

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def log():
    return load(DEFAULT_LOG)


def test_the_hazard_log_is_true_of_the_code_and_the_suite(log):
    findings = check_log(log)
    assert findings == [], "\n".join(map(str, findings))
    assert len(log.hazards) >= 20


def test_every_clinical_item_kind_is_enumerated_from_the_code():
    items = clinical_items()
    kinds = {i.split(":", 1)[0] for i in items}
    assert {"rule", "discrepancy", "service"} <= kinds
    assert "rule:PINCER-A" in items and "discrepancy:omission" in items


def test_a_cited_test_that_does_not_exist_is_a_finding(log):
    h = log.hazards[0]
    bad = dataclasses.replace(
        h, test_controls=(*h.test_controls, "tests/records/test_spec_reconcile.py::test_nope")
    )
    logged = dataclasses.replace(log, hazards=(bad, *log.hazards[1:]))
    problems = [str(f) for f in check_log(logged)]
    missing = "tests/records/test_spec_reconcile.py::test_nope"
    assert problems == [f"{h.id}: cites {missing}, which pytest does not collect"]


def test_a_hazard_without_a_test_control_is_a_finding(log):
    bare = dataclasses.replace(log.hazards[1], test_controls=())
    logged = dataclasses.replace(log, hazards=(log.hazards[0], bare, *log.hazards[2:]))
    assert f"{bare.id}: has no test control" in [str(f) for f in check_log(logged, collect=False)]


def test_a_rule_no_hazard_covers_is_a_finding(log):
    h = next(h for h in log.hazards if "rule:PINCER-A" in h.covers)
    trimmed = dataclasses.replace(h, covers=tuple(c for c in h.covers if c != "rule:PINCER-A"))
    logged = dataclasses.replace(log, hazards=tuple(trimmed if x is h else x for x in log.hazards))
    assert "-: rule:PINCER-A is in the code but no hazard covers it" in [
        str(f) for f in check_log(logged, collect=False)
    ]


def test_covering_an_item_the_code_does_not_have_is_a_finding(log):
    h = dataclasses.replace(log.hazards[0], covers=(*log.hazards[0].covers, "pathway:unicorns"))
    logged = dataclasses.replace(log, hazards=(h, *log.hazards[1:]))
    assert "-: a hazard covers pathway:unicorns, which the code does not have" in [
        str(f) for f in check_log(logged, collect=False)
    ]


def test_unacceptable_residual_risk_must_stay_open(log):
    h = dataclasses.replace(log.hazards[0], residual=dataclasses.replace(log.hazards[0].initial))
    high = dataclasses.replace(
        h,
        initial=type(h.initial)("very high", "catastrophic"),
        residual=type(h.initial)("very high", "catastrophic"),
        status="controlled",
    )
    logged = dataclasses.replace(log, hazards=(high, *log.hazards[1:]))
    assert any("unacceptable" in str(f) for f in check_log(logged, collect=False))


@pytest.mark.parametrize(
    ("likelihood", "severity", "expected"),
    [
        ("very low", "minor", 1),
        ("very low", "catastrophic", 3),
        ("medium", "considerable", 3),
        ("high", "major", 4),
        ("very high", "catastrophic", 5),
        ("low", "significant", 2),
    ],
)
def test_dcb0129_risk_matrix(likelihood, severity, expected):
    assert rating(likelihood, severity) == expected


def test_malformed_logs_are_refused_naming_the_field(tmp_path):
    path = tmp_path / "log.yaml"
    path.write_text("hazards:\n  - id: H1\n    title: t\n    status: maybe\n")
    with pytest.raises(HazardLogError, match=r"H1.status: 'maybe'"):
        load(path)


def test_report_shows_test_evidence_per_hazard_from_a_junit_run(log, tmp_path):
    h = log.hazards[0]
    path, name = h.test_controls[0].split("::")
    classname = path.removesuffix(".py").replace("/", ".")
    junit = tmp_path / "run.xml"
    junit.write_text(
        f'<testsuites><testsuite><testcase classname="{classname}" name="{name}"/>'
        f'<testcase classname="{classname}" name="{name}[x]"><failure/></testcase>'
        "</testsuite></testsuites>"
    )
    evidence = evidence_from_junit(junit, ROOT)
    assert evidence[h.test_controls[0]] == {"passed": 1, "failed": 1}
    html = render_html(log, evidence=evidence)
    assert "clinical safety officer" in html.lower() and h.title in html
    assert "1 failed" in html and "1 passed" in html


def test_ipmo_safety_report_writes_the_html_report(tmp_path):
    result = CliRunner().invoke(
        app, ["safety", "report", "--out", str(tmp_path), "--no-pdf", "--no-check"]
    )
    assert result.exit_code == 0, result.output
    html = (tmp_path / "safety-case-report.html").read_text()
    assert "HAZ-001" in html and "No test run was given" in html


def test_every_care_home_finding_the_code_raises_is_in_its_rules_list():
    """The checker enumerates care-home findings from carehomes.FINDING_RULES: a finding added
    without adding it there would escape the hazard log, so the list must match the code."""
    import inspect
    import re

    from ipmo.carehomes import FINDING_RULES
    from ipmo.carehomes import findings as module

    # every finding is built by finding(rule, …) or _counted(rule, …), from its TEXT entry
    raised = set(re.findall(r'(?:finding|_counted)\(\s*"([a-z-]+)"', inspect.getsource(module)))
    assert raised and raised == set(FINDING_RULES) == set(module.TEXT)
