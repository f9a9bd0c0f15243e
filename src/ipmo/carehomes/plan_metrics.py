"""Care-home figures as plan metrics (``carehomes.<name>``), offered to the plans domain through
``carehomes/hooks.py``. Scope: a care home's ODS code, or none for the whole ICS (other scopes
are refused: the figures are per home)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.carehomes.figures import rates
from ipmo.carehomes.waste import month_of, month_totals
from ipmo.organisations import Organisation, OrgKind
from ipmo.plans import BadScope, Metric, UnknownMetric

METRICS = {
    "missed_doses_pct": Metric(
        "carehomes.missed_doses_pct",
        "Care-home doses refused or omitted",
        "%",
        "down",
        "care-home eMAR records, 28 days to each month end",
    ),
    "residents_with_findings_pct": Metric(
        "carehomes.residents_with_findings_pct",
        "Care-home residents with an eMAR finding",
        "%",
        "down",
        "care-home eMAR findings (NICE SC1, NG97, Parkinson's UK), 28 days to each month end",
    ),
    "waste_cost": Metric(
        "carehomes.waste_cost",
        "Cost of care-home medicines returned or destroyed",
        "£",
        "down",
        "care-home waste records at dm+d Drug Tariff prices, each calendar month",
    ),
}


def _month_ends(on: date, months: int) -> list[date]:
    ends, first = [], on.replace(day=1)
    for _ in range(months):
        ends.append(first - timedelta(days=1))
        first = (first - timedelta(days=1)).replace(day=1)
    return sorted(ends)


class CarehomeMetrics:
    """``carehomes.missed_doses_pct``, ``carehomes.residents_with_findings_pct`` and
    ``carehomes.waste_cost`` (£ of waste recorded in each month, the same definition as the
    waste page: ``waste.py``)."""

    prefix = "carehomes"

    def metric(self, session: Session, name: str) -> Metric:
        if name not in METRICS:
            raise UnknownMetric(f"carehomes.{name}")
        return METRICS[name]

    def catalogue(self, session: Session) -> list[Metric]:
        return list(METRICS.values())

    def series(
        self, session: Session, name: str, scope: str | None, on: date, months: int
    ) -> list[tuple[date, float]]:
        self.metric(session, name)
        if scope is not None and not session.scalar(
            select(Organisation.id).where(
                Organisation.ods_code == scope, Organisation.kind == OrgKind.CARE_HOME
            )
        ):
            raise BadScope(f"carehomes metrics are per care home or ICS-wide, not {scope}")
        out = []
        for end in _month_ends(on, months):
            if name == "waste_cost":
                people, waste = month_totals(session, month_of(end), scope)
                if people:
                    out.append((end, round(sum(t.cost_pounds for t in waste.values()), 2)))
                continue
            value = rates(
                session, datetime(end.year, end.month, end.day, 23, 59, tzinfo=UTC), scope
            )
            if name in value:
                out.append((end, value[name]))
        return out
