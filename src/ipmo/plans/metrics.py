"""The registry of metrics a plan objective can track, by id ``<provider>.<name>``.

Providers are offered by the domains as ``PLAN_METRICS`` in their ``hooks.py`` (found by name,
``ipmo.hooks``): ``workforce.*`` and ``services.*`` (``ipmo.workforce.metrics``),
``analytics.<measure id>`` (the OpenPrescribing-format dashboard measures,
``ipmo.analytics.plan_metrics``) and ``review.<rule id>`` (case-finding indicators,
``ipmo.review.plan_metrics``; the id is checked, figures appear when the review domain publishes
counts). :func:`register` adds one more. Plans imports none of them, so a missing domain removes
its metrics, not the plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from sqlalchemy.orm import Session

from ipmo import hooks


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
    # each domain offers its providers as PLAN_METRICS in its hooks.py (ipmo.hooks): plans imports
    # no domain, and a domain that is absent removes its metrics, not the plan
    for offered in hooks.offered("PLAN_METRICS"):
        for provider in offered:
            register(provider)


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
