"""The registry of metrics a plan objective can track, by id ``<provider>.<name>``.

Providers: ``workforce.*`` and ``services.*`` (``ipmo.workforce.metrics``), ``analytics.<measure
id>`` (the OpenPrescribing-format dashboard measures, through ``ipmo.analytics``) and
``review.<rule id>`` (case-finding indicators; the id is checked, figures appear when the review
domain publishes counts). Other domains add theirs with :func:`register`. Domains are reached
only through their public service functions, so a missing domain removes its metrics, not the plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Protocol

from sqlalchemy.orm import Session


class MetricError(ValueError):
    """A metric id or scope that cannot be used; the message is safe to show."""


class BadScope(MetricError):
    pass


class UnknownMetric(MetricError):
    def __init__(self, metric_id: str, hint: str = "") -> None:
        super().__init__(f"unknown metric {metric_id!r}" + (f" ({hint})" if hint else ""))
        self.metric_id = metric_id


@dataclass(frozen=True)
class Metric:
    id: str
    title: str
    unit: str
    better: str  # "up" | "down"
    source: str


class MetricProvider(Protocol):
    prefix: str

    def metric(self, session: Session, name: str) -> Metric: ...

    def catalogue(self, session: Session) -> list[Metric]: ...

    def series(
        self, session: Session, name: str, scope: str | None, on: date, months: int
    ) -> list[tuple[date, float]]: ...


_PROVIDERS: dict[str, MetricProvider] = {}


def register(provider: MetricProvider) -> None:
    _PROVIDERS[provider.prefix] = provider


def providers() -> dict[str, MetricProvider]:
    if not _PROVIDERS:
        _register_builtins()
    return _PROVIDERS


def _register_builtins() -> None:
    from ipmo.workforce.metrics import ServiceMetrics, WorkforceMetrics

    for p in (WorkforceMetrics(), ServiceMetrics(), AnalyticsMetrics(), ReviewMetrics()):
        register(p)


def resolve(session: Session, metric_id: str) -> tuple[MetricProvider, str, Metric]:
    """The provider, the name within it and the metric's description; UnknownMetric if none."""
    prefix, _, name = metric_id.partition(".")
    provider = providers().get(prefix)
    if provider is None or not name:
        known = ", ".join(f"{p}.*" for p in sorted(providers()))
        raise UnknownMetric(metric_id, f"known kinds: {known}")
    try:
        return provider, name, provider.metric(session, name)
    except UnknownMetric:
        raise UnknownMetric(metric_id) from None


def series(
    session: Session,
    metric_id: str,
    scope: str | None = None,
    on: date | None = None,
    months: int = 12,
) -> list[tuple[date, float]]:
    provider, name, _m = resolve(session, metric_id)
    return provider.series(session, name, scope, on or date.today(), months)


def catalogue(session: Session) -> list[Metric]:
    out: list[Metric] = []
    for prefix in sorted(providers()):
        out.extend(providers()[prefix].catalogue(session))
    return out


@lru_cache(maxsize=1)
def _measure_titles() -> dict[str, str]:
    try:
        from ipmo.analytics.measures.definitions import load_definitions
    except ImportError:
        return {}
    return {k: d.title for k, d in load_definitions().items()}


class AnalyticsMetrics:
    """``analytics.<measure_id>``: a dashboard measure's value for the ICB (or a PCN/place)."""

    prefix = "analytics"

    def metric(self, session: Session, name: str) -> Metric:
        titles = _measure_titles()
        if name not in titles:
            raise UnknownMetric(f"analytics.{name}")
        return Metric(f"analytics.{name}", titles[name], "", "down", "prescribing measures")

    def catalogue(self, session: Session) -> list[Metric]:
        return [self.metric(session, n) for n in sorted(_measure_titles())]

    def series(
        self, session: Session, name: str, scope: str | None, on: date, months: int
    ) -> list[tuple[date, float]]:
        """Monthly ``calc_value`` from the analytics zone; empty when no prescribing data has
        been ingested or the measure cannot run on it (the report then says "no data yet")."""
        self.metric(session, name)
        from ipmo.config import get_settings

        # cheap check first: without ingested prescribing there is nothing to compute (and the
        # analytics engine, Ibis + DuckDB, need not be loaded at all)
        if not any((get_settings().analytics_dir / "prescribing").glob("*.parquet")):
            return []
        try:
            from ipmo.analytics.compute.service import compute_from_store

            run = compute_from_store(measure_ids=[name], levels=("pcn", "place", "icb"))
            rows = run.results.values.to_pylist()
        except Exception:  # noqa: BLE001 - no data or unsupported measure: shown as no data
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
                out.append((month, float(r["calc_value"])))
        return sorted(out)[-months:]


class ReviewMetrics:
    """``review.<rule id>`` (PINCER, STOPP/START, monitoring …)."""

    prefix = "review"

    def metric(self, session: Session, name: str) -> Metric:
        try:
            from ipmo.review.rules import rule

            r = rule(name)
        except Exception:  # noqa: BLE001 - unknown id or review domain absent
            raise UnknownMetric(f"review.{name}") from None
        return Metric(f"review.{name}", r.title, "", "down", "case-finding indicators")

    def catalogue(self, session: Session) -> list[Metric]:
        try:
            from ipmo.review.rules import all_rules

            return [self.metric(session, r.id) for r in all_rules() if r.kind == "flag"][:40]
        except Exception:  # noqa: BLE001
            return []

    def series(
        self, session: Session, name: str, scope: str | None, on: date, months: int
    ) -> list[tuple[date, float]]:
        self.metric(session, name)
        return []  # the review domain does not publish indicator counts over time yet
