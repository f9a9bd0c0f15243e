"""Case-finding indicators as plan metrics (``review.<rule id>``), offered to the plans domain
through ``review/hooks.py``."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from ipmo.plans import Metric, UnknownMetric
from ipmo.review.rules import all_rules, rule


class ReviewMetrics:
    """``review.<rule id>`` (PINCER, STOPP/START, monitoring …)."""

    prefix = "review"

    def metric(self, session: Session, name: str) -> Metric:
        try:
            r = rule(name)
        except StopIteration:  # no rule of that id
            raise UnknownMetric(f"review.{name}") from None
        return Metric(f"review.{name}", r.title, "", "down", "case-finding indicators")

    def catalogue(self, session: Session) -> list[Metric]:
        return [self.metric(session, r.id) for r in all_rules() if r.kind == "flag"][:40]

    def series(
        self, session: Session, name: str, scope: str | None, on: date, months: int
    ) -> list[tuple[date, float]]:
        self.metric(session, name)
        return []  # the review domain does not publish indicator counts over time yet
