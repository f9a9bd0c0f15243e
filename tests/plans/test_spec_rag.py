"""RAG status against a straight-line trajectory (rule in ``plans/progress.py``), one test per
clause, each with the case just either side of its boundary."""

from __future__ import annotations

from datetime import date

import pytest

from ipmo.plans.progress import check_objective, elapsed, progress, rag

START, END = date(2026, 1, 1), date(2026, 12, 31)
HALF = date(2026, 7, 2)  # 182 of 364 days: half the time gone


def r(current, on=HALF, baseline=10.0, target=20.0, direction="up"):
    return rag(baseline, target, direction, current, START, END, on)


def test_grey_when_there_is_no_current_value():
    assert r(None) == "grey"
    assert r(10.0) != "grey"


def test_green_when_the_target_is_met_in_the_better_direction():
    assert r(20.0) == "green"
    assert r(5.0, baseline=10, target=6, direction="down") == "green"
    assert r(6.5, baseline=10, target=6, direction="down", on=date(2027, 1, 1)) == "red"


def test_green_when_progress_is_at_or_ahead_of_the_trajectory():
    assert elapsed(START, END, HALF) == pytest.approx(0.5)
    assert r(15.0) == "green"  # half the distance in half the time
    assert r(14.9) == "amber"


def test_amber_when_behind_by_at_most_a_fifth_of_the_distance():
    assert r(13.0) == "amber"  # 0.3 done, 0.5 due
    assert r(12.9) == "red"


def test_red_when_worse_than_baseline_after_a_quarter_of_the_time():
    assert r(9.9, on=date(2026, 2, 1)) == "amber"  # 0.085 of the time: still within slack
    assert r(9.9, on=date(2026, 4, 15)) == "red"


def test_red_when_the_target_date_passed_unmet():
    assert r(19.9, on=date(2027, 1, 1)) == "red"
    assert r(20.0, on=date(2027, 1, 1)) == "green"


def test_direction_down_uses_the_same_trajectory():
    assert progress(10, 6, 8) == pytest.approx(0.5)
    assert r(8.0, baseline=10, target=6, direction="down") == "green"
    assert r(8.5, baseline=10, target=6, direction="down") == "amber"
    assert r(8.9, baseline=10, target=6, direction="down") == "red"


def test_targets_must_lie_in_the_better_direction():
    check_objective(10, 20, "up")
    check_objective(10, 5, "down")
    with pytest.raises(ValueError, match="direction is up but target 5 is not above baseline 10"):
        check_objective(10, 5, "up")
    with pytest.raises(ValueError, match="not below"):
        check_objective(10, 10, "down")
    with pytest.raises(ValueError, match="direction must be"):
        check_objective(10, 20, "sideways")
