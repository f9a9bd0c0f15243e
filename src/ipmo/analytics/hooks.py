"""What the analytics domain offers other domains, found by name (``ipmo.hooks``).

* ``PLAN_METRICS`` — ``analytics.<measure id>`` metrics for plan objectives.
* ``WARM_UP`` — imports the Parquet reader and the dashboard's modules at start-up.
"""

from __future__ import annotations

from ipmo.analytics.plan_metrics import AnalyticsMetrics

PLAN_METRICS = (AnalyticsMetrics(),)


def WARM_UP() -> None:  # noqa: N802 - a hook name, like the others here
    """A worker's first dashboard request imported pyarrow's dataset reader (and pandas) and the
    dashboard's modules while holding the interpreter: 18% of all the workers' samples in a
    45-second load run, and a 13-second p99 for the dashboard (issue 20). They are imported
    before serving."""
    # read_table imports pyarrow.dataset, and with it pandas, on its first call (~4 s here)
    import pyarrow.dataset  # noqa: F401 - imported for its side effect: loaded once, here
    import pyarrow.parquet  # noqa: F401

    import ipmo.analytics.pages  # noqa: F401
