"""The ICS medicines plan: objectives with owners, dates and metrics tied to live data, PDSA
cycles, stakeholders, and the printable "plan on a page".

Published names (other domains import only these): the metric types a domain implements to
offer plan metrics (``PLAN_METRICS`` in its ``hooks.py``) — :class:`Metric`,
:class:`MetricProvider`, :class:`MetricError`, :class:`BadScope`, :class:`UnknownMetric` — and
``create_demo_plan`` for the demo.
"""

from ipmo.hooks import published_later
from ipmo.plans.metrics import BadScope, Metric, MetricError, MetricProvider, UnknownMetric

__all__ = [
    "BadScope",
    "Metric",
    "MetricError",
    "MetricProvider",
    "UnknownMetric",
    "create_demo_plan",
]

# the demo plan pulls in the plans service; loaded only when the demo asks for it
__getattr__ = published_later({"create_demo_plan": "ipmo.plans.demo"})
