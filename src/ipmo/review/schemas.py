"""Response models of the review API (review/api.py), so /openapi.json describes every body."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel


class WorklistRow(BaseModel):
    nhs_number: str
    name: str
    practice_code: str | None
    pcn_code: str | None
    care_home_code: str | None
    score: int
    reasons: list[str]
    rule_ids: list[str]
    as_of: date
    last_review: date | None = None  # the patient's most recent review
    next_due: date | None = None  # its follow-up date, else a year after it


class FindingRead(BaseModel):
    """check.Finding: a rule that fired, with its evidence (facts that made it fire)."""

    rule_id: str
    title: str
    family: str
    source: str  # the published criterion the rule implements
    evidence: list[dict[str, Any]]
    kind: str  # flag | prompt


class CheckRead(BaseModel):
    """check.CheckResult for one patient on one day."""

    as_of: date
    findings: list[FindingRead]
    prompts: list[FindingRead]
    acb_total: int
    medicine_count: int
    smr_priority: int
    smr_reasons: list[str]
    smr_cohort: bool
    warnings: list[str]


class InterventionOutcome(BaseModel):
    reason: str | None
    by: str | None
    at: datetime | None


class InterventionRead(BaseModel):
    id: int
    kind: str
    medicine: str | None
    rule_id: str | None
    detail: str
    status: str  # proposed | accepted | rejected
    outcome: InterventionOutcome | None


class ReviewRead(BaseModel):
    id: int
    review_date: date
    reviewer: str
    findings_addressed: list[str]
    shared_decision: str
    decision_with: str  # patient | carer
    follow_up_date: date | None
    interventions: list[InterventionRead]


class RateRow(BaseModel):
    """An indicator rate for a practice or PCN after disclosure control (None = withheld)."""

    org: str | None
    rule_id: str
    as_of: date
    denominator: int | None
    numerator: int | None
    rate_percent: float | None
