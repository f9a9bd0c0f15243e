"""Spec: list sizes and STAR-PU (fixtures/README.md §5, expected values from the peer's tests)."""

from __future__ import annotations

import pytest

from ipmo.analytics.ingest.epd import IngestError
from ipmo.analytics.ingest.list_sizes import read_list_sizes, star_pu, star_pu_weights


def _path(shared_dir):
    return shared_dir / "peers/openprescribing/fixtures/list_size_star_pu/patient_list_size_new.csv"


def _row(table, practice):
    return next(r for r in table.to_pylist() if r["practice"] == practice)


def test_n84014_total_list_size_is_40(shared_dir):
    assert _row(read_list_sizes(_path(shared_dir)), "N84014")["total_list_size"] == 40


@pytest.mark.parametrize(
    ("weighting", "expected"),
    [("oral_antibacterials_item", 27.135), ("cox-2_inhibitors_cost", 13.050),
     ("antidepressants_adq", 887.100)],
)  # fmt: skip
def test_n84014_star_pu(shared_dir, weighting, expected):
    row = _row(read_list_sizes(_path(shared_dir)), "N84014")
    assert row[f"star_pu_{weighting}"] == pytest.approx(expected, abs=5e-4)


def test_bands_75_and_over_are_folded_together():
    weights = {"w": {"75+": [1.0, 10.0], "0-4": [0.0, 0.0]}}
    counts = {("MALE", "75_79"): 1, ("MALE", "95+"): 2, ("FEMALE", "90_94"): 1}
    assert star_pu(counts, weights) == {"w": 13.0}
    assert len(star_pu_weights()) == 25


def test_non_numeric_count_is_refused_naming_the_row(shared_dir, tmp_path):
    lines = _path(shared_dir).read_text().splitlines()
    lines[4] = lines[4].rsplit(",", 1)[0] + ",many"
    bad = tmp_path / "sizes.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(IngestError, match=r"sizes\.csv, row 5"):
        read_list_sizes(bad)
