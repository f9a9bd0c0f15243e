"""CUSUM alerts: which organisations have changed, month by month, on a measure's percentile.

The method is the tabular CUSUM (Montgomery, *Introduction to Statistical Quality Control*, 6th
ed., Wiley 2009, §9.1) as OpenPrescribing applies it to measure percentiles for its monthly
alerts (bennettoxford/openprescribing, ``frontend/views/bookmark_utils.py``, ``CUSUM``; behaviour
specified by ``alert_test_cases.txt``, fixtures/README.md §6):

* the target mean and the alert threshold (``sensitivity`` × population standard deviation) come
  from a window of ``window_size`` values — the first window at the start of the series;
* each month the upper sum ``S⁺ = max(0, x − (μ + k) + S⁺)`` and lower sum
  ``S⁻ = min(0, x − (μ − k) + S⁻)`` are updated with slack ``k = ½ · threshold / sensitivity``;
  a missing month resets both to 0, and both are rounded to 2 decimal places (as the peer does);
* a month is an up (down) alert when ``S⁺ > threshold`` (``S⁻ < −threshold``);
* after an alert the target mean is re-based on the previous ``window_size`` months; while the
  sums keep moving the same way the threshold is kept and the sums accumulate, otherwise the
  threshold is re-based too and the sums restart at 0.

Pure functions over a list of floats (``None`` = no value that month).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class CusumResult:
    up: tuple[bool, ...]
    down: tuple[bool, ...]
    target_means: tuple[float, ...]
    thresholds: tuple[float, ...]

    @property
    def alerts(self) -> tuple[int, ...]:
        return tuple(i for i, (u, d) in enumerate(zip(self.up, self.down, strict=True)) if u or d)


def _values(window: Sequence[float]) -> list[float]:
    return [v for v in window if not math.isnan(v)]


def _mean(window: Sequence[float]) -> float:
    values = _values(window)
    return sum(values) / len(values) if values else math.nan


def _std(window: Sequence[float]) -> float:
    values = _values(window)
    if not values:
        return math.nan
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def _step(x: float, mean: float, threshold: float, sensitivity: float, pos: float, neg: float):
    slack = 0.5 * threshold / sensitivity
    up = x - (mean + slack) + pos
    down = x - (mean - slack) + neg
    # a missing month (NaN) resets the sums: NaN compares false, so 0 wins. The peer rounds the
    # sums to 2 decimal places, which is why its fixture behaves differently for small changes
    # at extreme percentiles (values are fractions 0–1 there); we keep that behaviour.
    return round(up if up > 0 else 0.0, 2), round(down if down < 0 else 0.0, 2)


def cusum(
    series: Sequence[float | None], window_size: int = 12, sensitivity: float = 5
) -> CusumResult:
    data = [math.nan if v is None else float(v) for v in series]
    start = 0
    while start < len(data) and all(math.isnan(v) for v in data[start : start + window_size]):
        start += 1
    means: list[float] = []
    thresholds: list[float] = []
    pos: list[float] = []
    neg: list[float] = []
    for i, x in enumerate(data):
        if i <= start:
            window = data[i : i + window_size]
            means.append(_mean(window))
            thresholds.append(_std(window) * sensitivity)
            p, n = _step(x, means[-1], thresholds[-1], sensitivity, 0.0, 0.0)
        elif not (pos[-1] > thresholds[-1] or neg[-1] < -thresholds[-1]):
            means.append(means[-1])
            thresholds.append(thresholds[-1])
            p, n = _step(x, means[-1], thresholds[-1], sensitivity, pos[-1], neg[-1])
        else:
            window = data[i - window_size : i] if i >= window_size else data[:i]
            means.append(_mean(window))
            p, n = _step(x, means[-1], thresholds[-1], sensitivity, pos[-1], neg[-1])
            going_up = p > pos[-1] and pos[-1] > thresholds[-1]
            going_down = n < neg[-1] and neg[-1] < -thresholds[-1]
            if going_up or going_down:
                thresholds.append(thresholds[-1])
            else:
                thresholds.append(_std(window) * sensitivity)
                p, n = _step(x, means[-1], thresholds[-1], sensitivity, 0.0, 0.0)
        pos.append(p)
        neg.append(n)
    up = tuple(p > t for p, t in zip(pos, thresholds, strict=True))
    down = tuple(n < -t for n, t in zip(neg, thresholds, strict=True))
    return CusumResult(up, down, tuple(means), tuple(thresholds))


def last_alert_change(series: Sequence[float | None], result: CusumResult) -> tuple[float, float]:
    """(from, to) of the alert run ending in the latest month, or (nan, nan) when none."""
    alerts = result.alerts
    last = len(series) - 1
    latest = series[last] if series else None
    if not alerts or alerts[-1] != last or latest is None:
        return math.nan, math.nan
    first = last
    for index in reversed(alerts[:-1]):
        if index != first - 1:
            break
        first = index
    return result.target_means[first - 1], float(latest)


def delta_words(to: float, from_: float) -> str:
    """How much a percentile moved, in the words of the alert e-mails."""
    if math.isnan(to) or math.isnan(from_):
        return "not at all"
    change = abs(to - from_)
    if change == 0:
        return "not at all"
    if change < 10:
        return "slightly"
    if change < 20:
        return "moderately"
    if change < 30:
        return "considerably"
    return "massively"
