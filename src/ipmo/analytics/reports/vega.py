"""The one Vega-Lite line chart the dashboard draws: a value per month, one line per series."""

from __future__ import annotations

from typing import Any

# monthly data: one tick per month at most, labelled with the year ("Jul 2025"), never a week
MONTH_AXIS = {
    "field": "month",
    "type": "temporal",
    "timeUnit": "yearmonth",
    "title": "Month",
    "axis": {"format": "%b %Y", "tickCount": {"interval": "month", "step": 1}, "labelAngle": -40,
             "labelOverlap": True},
}  # fmt: skip


def monthly_lines(
    description: str,
    values: list[dict],
    y_title: str,
    percentage: bool,
    x: dict | None = None,
    **encoding: Any,
) -> dict:
    """Vega-Lite spec of ``values`` (``month``, ``value`` and the series fields) as lines over
    months; ``encoding`` adds the channels that tell the series apart (color, detail, tooltip…)."""
    y_axis = {"axis": {"format": "%"}} if percentage else {}
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "description": description,
        "width": "container",
        "height": 300,
        "data": {"values": values},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": x or MONTH_AXIS,
            "y": {"field": "value", "type": "quantitative", "title": y_title, **y_axis},
            **encoding,
        },
    }
