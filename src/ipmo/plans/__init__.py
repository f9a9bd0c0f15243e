"""The ICS medicines plan: objectives with owners, dates and metrics tied to live data, PDSA
cycles, stakeholders, and the printable "plan on a page".

Published names (other domains import only these): the metric types a domain implements to
offer plan metrics (``PLAN_METRICS`` in its ``hooks.py``) — :class:`Metric`,
:class:`MetricProvider`, :class:`MetricError`, :class:`BadScope`, :class:`UnknownMetric` — and
``create_demo_plan`` for the demo.
"""

from ipmo.plans.metrics import BadScope, Metric, MetricError, MetricProvider, UnknownMetric

__all__ = [
    "BadScope",
    "Metric",
    "MetricError",
    "MetricProvider",
    "UnknownMetric",
    "create_demo_plan",
]


def __getattr__(name: str):
    # the demo plan pulls in the plans service; load it only when the demo asks for it
    if name == "create_demo_plan":
        from ipmo.plans.demo import create_demo_plan

        return create_demo_plan
    raise AttributeError(name)
