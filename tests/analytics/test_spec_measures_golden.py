"""Spec: OpenPrescribing's golden measure fixture (fixtures/README.md §1) reproduced exactly.

1,520 measure values (5 measures × 8 months × 38 orgs at five levels) and 200 global rows, as
computed by the peer's production BigQuery pipeline, from the rebuilt input CSVs.
"""

from __future__ import annotations

import pytest

from ipmo.analytics.compute.engine import LEVELS
from ipmo.analytics.compute.service import compute
from ipmo.analytics.ingest import datastore
from ipmo.analytics.ingest.prescribing_csv import ingest_prescribing

from .golden import (
    expected_globals,
    expected_values,
    fixture_definitions,
    golden_dir,
    mismatches_globals,
    mismatches_values,
)


@pytest.fixture(scope="module")
def golden_run(shared_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("golden")
    folder = golden_dir(shared_dir)
    ingest_prescribing(folder / "derived_prescribing_input.csv", folder / "derived_orgs.csv", root)
    con = datastore.connect_duckdb(root)
    return compute(con, fixture_definitions(shared_dir), tuple(LEVELS)).results


def test_golden_has_every_value_row(golden_run, shared_dir):
    expected = expected_values(shared_dir)
    assert len(expected) == 1520
    non_national = [r for r in golden_run.values.to_pylist() if r["org_type"] != "national"]
    assert len(non_national) == 1520


def test_golden_numerators_denominators_percentiles_and_savings_match(golden_run, shared_dir):
    assert mismatches_values(expected_values(shared_dir), golden_run.values) == []


def test_golden_global_deciles_and_positive_savings_match(golden_run, shared_dir):
    expected = expected_globals(shared_dir)
    assert len(expected) == 200
    assert mismatches_globals(expected, golden_run.globals) == []


def test_golden_comparison_detects_a_wrong_value(golden_run, shared_dir):
    """Negative case: the comparison is not vacuous — one altered saving is reported."""
    table = golden_run.values
    column = table.column("cost_saving_50").to_pylist()
    column[0] = column[0] + 0.01
    altered = table.set_column(
        table.schema.get_field_index("cost_saving_50"), "cost_saving_50", [column]
    )
    assert len(mismatches_values(expected_values(shared_dir), altered)) == 1


def test_golden_percentile_is_percent_rank_among_non_null_values(golden_run):
    """Percentile 0 for the lowest org and 100 for the highest of each type and month."""
    rows = [r for r in golden_run.values.to_pylist() if r["org_type"] == "practice"]
    by_key: dict = {}
    for r in rows:
        by_key.setdefault((r["measure"], r["month"]), []).append(r)
    assert by_key, "the golden run has practice values to rank"
    for group in by_key.values():
        lowest = min(group, key=lambda r: r["calc_value"])
        highest = max(group, key=lambda r: r["calc_value"])
        assert lowest["percentile"] == 0.0
        assert highest["percentile"] == 100.0
