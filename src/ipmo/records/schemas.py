"""Response models of the records API (records/api.py), so /openapi.json describes every body.

The record's lines, discrepancies and proposed changes keep their documented JSON shapes
(records/README.md, publish.as_json) as open objects: a line carries the facts its source gave.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict


class IngestResult(BaseModel):
    action: str  # created | updated | unchanged
    version: int  # the record's version (also the ETag)
    lines: int
    warnings: list[str]


class PatientRef(BaseModel):
    nhs_number: str


class SourceSideBySide(BaseModel):
    source: str
    kind: str | None
    organisation: str | None
    system: str | None
    fhir_version: str | None
    items: list[dict[str, Any]]


class RecordRead(BaseModel):
    """The reconciled record (publish.as_json) with its version, proposals and amendments."""

    model_config = ConfigDict(extra="allow")  # e.g. source_kinds when sources were loaded

    patient: PatientRef
    index_date: date
    reference_source: str | None
    sources: list[SourceSideBySide]
    medications: list[dict[str, Any]]
    discrepancies: list[dict[str, Any]]
    not_current: list[dict[str, Any]]
    not_used: list[dict[str, Any]]
    version: int
    proposed_changes: list[dict[str, Any]]
    resolved_changes: list[dict[str, Any]]
    amendments: list[dict[str, Any]]


class DecisionResult(BaseModel):
    version: int


class ProposalResolution(BaseModel):
    version: int
    proposed_change: dict[str, Any]
