"""Progress towards an objective's target and its RAG status (pure functions).

Rule (a straight-line trajectory from baseline to target, the convention NHS operational planning
uses for "trajectories"; thresholds are ours and written here so a reader can check them):

* **grey** — no current value;
* **green** — the target is met (in the better direction), or progress is at or ahead of the
  trajectory (share of the baseline→target distance covered ≥ share of the time elapsed);
* **amber** — behind the trajectory by at most ``AMBER_SLACK`` of the distance, and the target
  date has not passed;
* **red** — otherwise (further behind, worse than baseline once a quarter of the time has gone,
  or the target date passed without meeting it).
"""

from __future__ import annotations

from datetime import date

AMBER_SLACK = 0.2
DIRECTIONS = ("up", "down")


def check_objective(baseline: float, target: float, direction: str) -> None:
    """The target must lie in the better direction from the baseline."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'up' or 'down', not {direction!r}")
    if direction == "up" and not target > baseline:
        raise ValueError(
            f"direction is up but target {target:g} is not above baseline {baseline:g}"
        )
    if direction == "down" and not target < baseline:
        raise ValueError(
            f"direction is down but target {target:g} is not below baseline {baseline:g}"
        )


def progress(baseline: float, target: float, current: float) -> float:
    """Share of the baseline→target distance covered (negative = worse than baseline)."""
    return (current - baseline) / (target - baseline)


def elapsed(start: date, end: date, on: date) -> float:
    if end <= start:
        return 1.0
    return min(max((on - start).days / (end - start).days, 0.0), 1.0)


def met(target: float, direction: str, current: float) -> bool:
    return current >= target if direction == "up" else current <= target


def rag(
    baseline: float,
    target: float,
    direction: str,
    current: float | None,
    baseline_date: date,
    target_date: date,
    on: date,
) -> str:
    if current is None:
        return "grey"
    if met(target, direction, current):
        return "green"
    done = progress(baseline, target, current)
    due = elapsed(baseline_date, target_date, on)
    if on > target_date:
        return "red"
    if done >= due:
        return "green"
    if done < 0 and due >= 0.25:
        return "red"
    if done >= due - AMBER_SLACK:
        return "amber"
    return "red"
