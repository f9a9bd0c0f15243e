"""Response models for the care-homes API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from ipmo.carehomes.waste import StopCandidate


class FindingOut(BaseModel):
    rule: str
    medicine_code: str
    medicine_name: str
    summary: str
    source: str
    evidence: list[str]  # administration identifiers


class ResidentFindings(BaseModel):
    as_of: str
    findings: list[FindingOut]


class StaffIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    job_title: str = Field(min_length=1, max_length=100)


class TrainingIn(BaseModel):
    kind: str = Field(description="training | competency")
    completed_on: date
    detail: str = Field("", max_length=255, description="course, or the assessor")


class IncidentIn(BaseModel):
    occurred_on: date
    category: str
    harm: str
    description: str = Field(min_length=1, max_length=1000)
    nhs_number: str | None = None


class Created(BaseModel):
    id: int


class WasteIn(BaseModel):
    """Medicines of one resident returned to the pharmacy or destroyed by the home."""

    nhs_number: str = Field(min_length=10, max_length=10)
    medicine_code: str = Field(min_length=1, max_length=20, description="dm+d code (VMP/AMP)")
    medicine_name: str = Field(min_length=1, max_length=255)
    quantity: float = Field(gt=0, le=100_000)
    unit: str = Field(min_length=1, max_length=30, description="e.g. tablet, mL, patch")
    disposal: str = Field(description="returned | destroyed")
    disposed_on: date
    reason: str = Field(min_length=1, max_length=255)
    key: str = Field(min_length=1, max_length=100, description="the home's reference (idempotency)")


class WasteRecorded(BaseModel):
    id: int
    created: bool  # False: the same record was sent before (nothing added)
    not_on_record: bool  # the GP record has not shown this medicine in the last year


class WasteRecordOut(BaseModel):
    id: int
    nhs_number: str
    home: str
    medicine_code: str
    medicine_name: str
    quantity: float
    unit: str
    disposal: str
    disposed_on: date
    reason: str
    key: str
    not_on_record: bool


class MedicineMonthOut(BaseModel):
    home: str
    medicine: str
    name: str
    month: str
    supplied: float
    administered: float
    returned: float
    destroyed: float
    unit: str | None
    price_pence_per_unit: float | None  # None: no dm+d price
    cost_pounds: float | None  # None: no dm+d price
    supplies: list[str]


class WasteTotalOut(BaseModel):
    level: str  # home | pcn | ics
    code: str
    wasted_items: int
    cost_pounds: float
    unpriced_items: int


class WasteFigures(BaseModel):
    as_of: date
    months: list[str]
    medicines: list[MedicineMonthOut]
    totals: list[WasteTotalOut]
    stop_ordering: list[StopCandidate]  # the waste module's own dataclass, not a copy
    records: list[WasteRecordOut]
