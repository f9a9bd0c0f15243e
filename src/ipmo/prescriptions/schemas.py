"""Response bodies of the prescriptions JSON API (the tracker answers FHIR: see ``api.py``)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel


class ExemptionAnswer(BaseModel):
    nhs_number: str
    dispensing_date: date
    exempt: bool | None  # null: depends on evidence the record does not hold
    code: str  # prescription-charge-exemption
    display: str
    evidence: str  # record | certificate | ask
    reason: str
    source: str


class EntitlementFinding(BaseModel):
    nhs_number: str
    criterion: str
    reason: str
    source: str


class Entitlements(BaseModel):
    as_of: date
    findings: list[EntitlementFinding]
    by_criterion: dict[str, int]
