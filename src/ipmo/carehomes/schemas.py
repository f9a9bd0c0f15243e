"""Response models for the care-homes API."""

from __future__ import annotations

from pydantic import BaseModel


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
