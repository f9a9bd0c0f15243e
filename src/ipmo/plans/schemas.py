"""Response models of the plans API (plans/api.py), so /openapi.json describes every body.

They mirror what ``service.list_plans``, ``service.plan_view`` and ``metrics.catalogue`` return.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel


class Created(BaseModel):
    id: int


class PlanSummary(BaseModel):
    id: int
    title: str
    owner: str
    objectives: int  # how many
    start_date: date
    end_date: date


class MetricRead(BaseModel):
    id: str
    title: str
    unit: str
    better: str  # up | down
    source: str


class ObjectiveMetric(BaseModel):
    id: str
    title: str
    unit: str
    source: str


class SeriesPoint(BaseModel):
    date: date
    value: float | None


class PdsaCycleRead(BaseModel):
    id: int
    title: str
    started_on: date
    ended_on: date | None
    plan: str
    do: str
    study: str
    act: str


class ObjectiveRead(BaseModel):
    id: int
    title: str
    owner: str
    metric: ObjectiveMetric
    scope: str | None
    baseline: float
    baseline_date: date
    target: float
    target_date: date
    direction: str  # up | down: which way is better
    current: float | None
    progress: float | None  # share of the way from baseline to target
    time_elapsed: float  # share of the time from baseline date to target date
    rag: str  # green | amber | red | grey
    series: list[SeriesPoint]
    pdsa: list[PdsaCycleRead]


class StakeholderRead(BaseModel):
    id: int
    name: str
    organisation: str | None
    interest: str | None
    engagement: str
    last_engaged: date | None
    notes: str | None


class PlanRead(BaseModel):
    id: int
    title: str
    owner: str
    purpose: str | None
    start_date: date
    end_date: date
    on: date  # the day the live values are read for
    rag_counts: dict[str, int]
    objectives: list[ObjectiveRead]
    stakeholders: list[StakeholderRead]
