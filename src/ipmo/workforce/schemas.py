"""Response models of the workforce API (workforce/api.py), so /openapi.json describes every body.

Aggregates keep their nested breakdowns (vacancies, rotations, training pipeline, service
evaluation rows) as open objects: their keys follow the loaded data (roles, programmes, services).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel


class AreaRow(BaseModel):
    """One area's staffing (staffing.AreaFigures.as_dict); WTE figures rounded to 3 places."""

    key: str
    name: str
    patients: int | None
    in_post_wte: float | None
    vacant_wte: float | None
    funded_wte: float | None
    wte_per_10k: float | None
    pharmacist_wte: float | None
    technician_wte: float | None
    ip_wte: float | None
    ip_coverage: float | None
    vacancy_rate: float | None
    wte_by_role: dict[str, float | None]
    gaps: list[str]


class WorkforceSummary(BaseModel):
    by: str  # pcn | place | sector
    on: date
    rows: list[AreaRow]
    total: AreaRow
    vacancies: Any
    rotations: Any
    training: Any
    gap_rules: dict[str, Any]


class Allocation(BaseModel):
    sector: str
    org_code: str
    wte: float


class NamedPost(BaseModel):
    assignment_number: str
    org_code: str
    title: str
    role: str
    band: str | None
    wte: float
    name: str | None
    staff_number: str | None
    independent_prescriber: bool
    prescriber_scope: str | None
    start_date: date
    end_date: date | None
    active: bool
    reports_to: str | None
    training_programme: str | None
    sectors: list[Allocation]


class ImportCounts(BaseModel):
    assignments: int
    people: int
    vacancies: int


class EditedPost(BaseModel):
    assignment_number: str
    wte: float
    band: str | None
    end_date: date | None


class ActivityImported(BaseModel):
    rows: int


class ServiceEvaluationRow(BaseModel):
    """One service × area × month (service_evaluation.roll_up): counts, shares and means."""

    service: str
    group: str
    group_name: str
    month: str  # YYYY-MM
    referrals: int
    completed: int
    accepted: int
    items_supplied: int
    no_supply: int
    escalations: int
    survey_responses: int
    satisfied: int
    # from live referrals only (ipmo/referrals/figures.py): imported rows add 0
    completed_in_time: int
    consultations: int
    referred_on: int
    nhs111_urgent: int
    nhs111_urgent_to_pharmacy: int
    nhs111_urgent_returned: int
    no_supply_share: float | None  # items not supplied ÷ items asked for
    no_supply_reasons: dict[str, int]
    completion_rate: float | None
    completed_in_time_rate: float | None
    channel_shift_to_pharmacy: float | None
    channel_shift_returned: float | None
    mean_hours_to_accept: float | None
    mean_hours_to_complete: float | None
    satisfaction: float | None
    otherwise: dict[str, int]  # where patients would otherwise have gone
