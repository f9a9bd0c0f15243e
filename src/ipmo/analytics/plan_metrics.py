"""The dashboard measures as plan metrics (``analytics.<measure id>``), offered to the plans
domain through ``analytics/hooks.py``."""

from __future__ import annotations

import logging
from datetime import date
from functools import lru_cache

from sqlalchemy.orm import Session

from ipmo.analytics.measures.definitions import load_definitions
from ipmo.config import get_settings
from ipmo.plans import Metric, UnknownMetric


@lru_cache(maxsize=1)
def _measure_titles() -> dict[str, str]:
    return {k: d.title for k, d in load_definitions().items()}


@lru_cache(maxsize=1)
def _percentages() -> frozenset[str]:
    """Measures whose value is a fraction (numerator ÷ denominator of the same thing): the plan
    sees them in percent, the unit a target is written in ("15%", not 0.15)."""
    return frozenset(k for k, d in load_definitions().items() if d.is_percentage)


log = logging.getLogger(__name__)


class AnalyticsMetrics:
    """``analytics.<measure_id>``: a dashboard measure's value for the ICB (or a PCN/place)."""

    prefix = "analytics"

    def metric(self, session: Session, name: str) -> Metric:
        titles = _measure_titles()
        if name not in titles:
            raise UnknownMetric(f"analytics.{name}")
        unit = "%" if name in _percentages() else ""
        return Metric(f"analytics.{name}", titles[name], unit, "down", "prescribing measures")

    def catalogue(self, session: Session) -> list[Metric]:
        return [self.metric(session, n) for n in sorted(_measure_titles())]

    def series(
        self, session: Session, name: str, scope: str | None, on: date, months: int
    ) -> list[tuple[date, float]]:
        """Monthly ``calc_value`` from the analytics zone; empty when no prescribing data has
        been ingested or the measure cannot run on it (the report then says "no data yet")."""
        self.metric(session, name)
        # cheap check first: without ingested prescribing there is nothing to compute (and the
        # analytics engine, Ibis + DuckDB, need not be loaded at all)
        if not any((get_settings().analytics_dir / "prescribing").glob("*.parquet")):
            return []
        try:
            from ipmo.analytics.compute.service import compute_from_store  # Ibis: load on use

            run = compute_from_store(measure_ids=[name], levels=("pcn", "place", "icb"))
            rows = run.results.values.to_pylist()
        except Exception as exc:  # noqa: BLE001 - shown as "no data yet", but never silently
            # An objective on this measure reads "no data yet"; the operator is told why here
            # (analytics-zone measure ids only: no patient data in this message).
            log.warning("plan metric analytics.%s could not be computed: %s", name, exc)
            return []
        out = []
        for r in rows:
            level_ok = r["org_code"] == scope if scope else r["org_type"] == "icb"
            if level_ok and r.get("calc_value") is not None:
                month = (
                    r["month"]
                    if isinstance(r["month"], date)
                    else date.fromisoformat(str(r["month"])[:10])
                )
                value = float(r["calc_value"]) * (100 if name in _percentages() else 1)
                out.append((month, round(value, 4)))
        return sorted(out)[-months:]
