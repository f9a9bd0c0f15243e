"""What the workforce domain offers other domains, found by name (``ipmo.hooks``).

* ``PLAN_METRICS`` — ``workforce.*`` and ``services.*`` metrics for plan objectives.
"""

from __future__ import annotations

from ipmo.workforce.metrics import ServiceMetrics, WorkforceMetrics

PLAN_METRICS = (WorkforceMetrics(), ServiceMetrics())
