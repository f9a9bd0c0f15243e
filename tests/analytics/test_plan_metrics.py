"""Plan objectives on prescribing measures (analytics/plan_metrics.py)."""

from __future__ import annotations

import logging
from datetime import date

from ipmo.analytics.plan_metrics import AnalyticsMetrics, _measure_titles
from ipmo.config import get_settings
from ipmo.store import session_scope


def test_a_measure_that_cannot_be_computed_reads_no_data_and_the_log_says_why(
    cli_store, monkeypatch, caplog
):
    prescribing = get_settings().analytics_dir / "prescribing"
    prescribing.mkdir(parents=True, exist_ok=True)
    (prescribing / "2026-01.parquet").write_bytes(b"not parquet")  # ingested, but unreadable
    name = sorted(_measure_titles())[0]
    with session_scope(cli_store) as s, caplog.at_level(logging.WARNING):
        assert AnalyticsMetrics().series(s, name, None, date(2026, 6, 30), 12) == []
    assert f"plan metric analytics.{name} could not be computed" in caplog.text
