"""What the analytics domain offers other domains, found by name (``ipmo.hooks``).

* ``PLAN_METRICS`` — ``analytics.<measure id>`` metrics for plan objectives.
"""

from __future__ import annotations

from ipmo.analytics.plan_metrics import AnalyticsMetrics

PLAN_METRICS = (AnalyticsMetrics(),)
