"""Realism targets: each published rate is reproduced within its stated tolerance.

Run in memory at demo size (50,000 people; no store), so sampling noise is small beside the
tolerances: a 1% condition has ~500 cases, a relative s.d. of ~4.5%.
"""

from __future__ import annotations

import pytest

from ipmo.synth import targets as T
from ipmo.synth.generator import simulate
from ipmo.synth.realism import realism_rows
from ipmo.synth.sizes import SIZES


@pytest.fixture(scope="module")
def report():
    sim = simulate(SIZES["demo"], seed=11)
    rows = realism_rows(sim.people, sim.presc, sim.products, sim.labs)
    return {row.measure: row for row in rows}


@pytest.mark.parametrize("condition", T.CONDITIONS, ids=lambda c: c.key)
def test_spec_qof_prevalence_within_tolerance(report, condition):
    row = next(r for m, r in report.items() if m.startswith(condition.term))
    assert row.target == pytest.approx(100 * condition.prevalence)
    assert row.passed, f"{row.measure}: {row.generated:.2f} not in {row.tolerance}"


@pytest.mark.parametrize("measure", ["Aged 65 and over", "Female", "Living in a care home"])
def test_spec_ons_structure_within_tolerance(report, measure):
    assert report[measure].passed


@pytest.mark.parametrize(
    "measure",
    ["Taking 5+ medicines", "Taking 8+ medicines", "Adults taking 10+ medicines (SMR cohort)"],
)
def test_spec_polypharmacy_within_tolerance(report, measure):
    row = report[measure]
    assert row.passed, f"{row.measure}: {row.generated:.2f} not in {row.tolerance}"


@pytest.mark.parametrize("indicator", ["A:", "D:", "G:", "I:", "ME:", "LI:", "AM:", "AC:"])
def test_spec_pincer_hazards_occur_at_plausible_rates(report, indicator):
    row = next(r for m, r in report.items() if m.startswith(f"PINCER {indicator}"))
    assert row.passed, f"{row.measure}: {row.generated:.2f} not in {row.tolerance}"


def test_spec_every_row_names_its_source(report):
    assert all(row.source for row in report.values())
