"""Response models for the care-homes API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


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
