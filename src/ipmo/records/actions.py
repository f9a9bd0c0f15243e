"""Records use cases: the ONE place in the records domain that checks access and writes audit.

Each use case is a function ``(session, principal, …)`` run in the caller's unit of work (the web
layer commits before it answers); ``api.py`` and ``pages.py`` are thin adapters over these and
never import each other (issue 12). Every use case first reaches the patient through the access
policy (:func:`~ipmo.security.access.check_patient_access`: relationship check + audit entry),
before anything else about the record is read or written, so a refusal further on (bad input, a
stale ``If-Match``, a proposal already acted on) still leaves the access audit entry and nothing
else. Errors are :class:`~ipmo.records.service.RecordError` subclasses and
:class:`~ipmo.fhir.versions.FhirInputError`; the adapters map them to statuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ipmo.fhir.versions import FhirInputError
from ipmo.patients.models import Patient
from ipmo.records import bulk
from ipmo.records.adapters import load_source
from ipmo.records.canonical import SourceDocument
from ipmo.records.models import ProposedChange
from ipmo.records.service import (
    Acceptance,
    IngestResult,
    PreconditionRequired,
    RecordView,
    accept_change,
    decide,
    get_record,
    ingest,
    load_sources,
    nhs_number_of_source_list,
    reject_change,
    source_list_meta,
)
from ipmo.records.terminology import default_dictionary
from ipmo.security.access import audit_event, check_patient_access
from ipmo.security.principal import Principal

MAX_SOURCE_BYTES = 5_000_000


class SourceTooLarge(FhirInputError):
    """A source over :data:`MAX_SOURCE_BYTES`; nothing is read or written."""

    def __init__(self) -> None:
        super().__init__("too-costly", "a source must be under 5 MB")


def read_record(
    session: Session,
    principal: Principal,
    nhs_number: str,
    index_date: date,
    *,
    audit_action: str = "record.read",
) -> RecordView:
    """The patient's record as of ``index_date`` (sources, reconciled list, discrepancies).
    ``audit_action`` names the reading in the audit (the FHIR searches name theirs)."""
    patient = check_patient_access(session, principal, nhs_number, action=audit_action)
    return get_record(session, patient, index_date, default_dictionary())


def ingest_source(
    session: Session,
    principal: Principal,
    nhs_number: str,
    data: bytes,
    *,
    filename: str = "",
    source_kind: str | None = None,
    source_org_code: str | None = None,
    source_system: str | None = None,
) -> tuple[SourceDocument, IngestResult]:
    """Add one source's list (FHIR R4/STU3 JSON or XML, or CSV) to the patient's record.
    Raises :class:`SourceTooLarge` / ``FhirInputError`` for input that cannot be read or is
    about another patient, ``RecordError`` when it cannot be stored; nothing is written then."""
    patient = check_patient_access(session, principal, nhs_number, action="record.ingest")
    if len(data) > MAX_SOURCE_BYTES:
        raise SourceTooLarge()
    doc = load_source(
        data,
        filename=filename,
        source_kind=source_kind,
        source_org_code=source_org_code,
        source_system=source_system,
    )
    if doc.nhs_number and doc.nhs_number != patient.nhs_number:
        raise FhirInputError("business-rule", "the source is about a different patient")
    # ingest checks everything before its first write, so a refusal leaves no partial rows
    return doc, ingest(session, doc, nhs_number=patient.nhs_number)


def decide_discrepancy(
    session: Session,
    principal: Principal,
    nhs_number: str,
    discrepancy_id: str,
    *,
    action: str,
    reason: str,
    if_match: str | None,
    index_date: date,
    source_label: str | None = None,
) -> int:
    """Record a decision on one open discrepancy, made against record version ``if_match``
    (``None``: :class:`PreconditionRequired`); returns the new version."""
    patient = check_patient_access(session, principal, nhs_number, action="record.decide")
    if if_match is None:
        raise PreconditionRequired("If-Match with the record's ETag is required")
    return decide(
        session,
        patient.nhs_number,
        discrepancy_id,
        action=action,
        reason=reason,
        decided_by=principal.username,
        if_match=if_match,
        index_date=index_date,
        dictionary=default_dictionary(),
        source_label=source_label,
    )


def accept_proposed_change(
    session: Session,
    principal: Principal,
    nhs_number: str,
    proposal_id: int,
    how: Acceptance,
    *,
    if_match: str | None,
    on: date,
) -> ProposedChange:
    """Accept a pending proposed change: applied to the reconciled list from ``on``."""
    patient = _patient(session, principal, nhs_number, "record.proposal.accept")
    dictionary = default_dictionary()
    return accept_change(
        session,
        principal,
        patient,
        proposal_id,
        how,
        if_match=if_match,
        on=on,
        dictionary=dictionary,
    )


def reject_proposed_change(
    session: Session,
    principal: Principal,
    nhs_number: str,
    proposal_id: int,
    *,
    if_match: str | None,
    reason: str,
) -> ProposedChange:
    """Reject a pending proposed change with a reason; the list is not changed."""
    patient = _patient(session, principal, nhs_number, "record.proposal.reject")
    return reject_change(session, principal, patient, proposal_id, if_match=if_match, reason=reason)


class SourceNotFound(LookupError):
    """No stored source with that id (the FHIR read of a source line answers 404)."""


@dataclass(frozen=True)
class StoredSource:
    """A stored source with what identifies and dates it (its id, when it was received)."""

    list_id: int
    received_at: datetime
    document: SourceDocument


def read_sources(
    session: Session, principal: Principal, nhs_number: str, *, audit_action: str
) -> tuple[Patient, list[StoredSource]]:
    """The patient's stored source lists as received (the lines each source system sent, not the
    reconciled list), after the access check and audit entry."""
    patient = check_patient_access(session, principal, nhs_number, action=audit_action)
    docs = load_sources(session, patient.id)
    meta = source_list_meta(session, patient.id)
    return patient, [
        StoredSource(list_id, received, doc)
        for (list_id, received), doc in zip(meta, docs, strict=True)
    ]


def read_source(
    session: Session, principal: Principal, list_id: int, *, audit_action: str
) -> tuple[Patient, StoredSource]:
    """One stored source by its id, through the same access check as the patient's record (an
    unknown id: :class:`SourceNotFound`, before any patient is touched)."""
    nhs_number = nhs_number_of_source_list(session, list_id)
    if nhs_number is None:
        raise SourceNotFound(list_id)
    patient, stored = read_sources(session, principal, nhs_number, audit_action=audit_action)
    return patient, next(s for s in stored if s.list_id == list_id)


def _patient(session: Session, principal: Principal, nhs_number: str, action: str) -> Patient:
    return check_patient_access(session, principal, nhs_number, action=action)


def record_shown_again(session: Session, nhs_number: str, index_date: date) -> RecordView:
    """The record shown again beside a write this request's use case refused (a stale version, a
    proposal already acted on): that use case already checked access to this patient and wrote
    the audit entry, so this re-read adds none (one entry per request, as before issue 12)."""
    return get_record(session, nhs_number, index_date, default_dictionary())


# ---- bulk export ($export) for the analytics zone ------------------------------------------
# The route requires Activity.ANALYTICS_EXPORT (ICS analysts only); no patient is opened, so
# there is no relationship check: what leaves is pseudonymised and disclosure-controlled
# (ipmo.records.bulk). Each start, download and cancel is audited; a job is its owner's only.


def start_bulk_export(
    session: Session, principal: Principal, data_dir: Path, request: bulk.ExportRequest
) -> tuple[str, Path]:
    job_id, folder = bulk.create_job(data_dir, principal.username, request)
    audit_event(
        session,
        principal,
        "fhir.export.start",
        detail={"job": job_id, "types": list(request.types)},
    )
    return job_id, folder


def bulk_export_status(
    principal: Principal, data_dir: Path, job_id: str
) -> tuple[Path, dict[str, Any]]:
    """The job's state (polling is not audited: the start and each download are)."""
    folder = bulk.job_dir(data_dir, job_id, principal.username)
    return folder, bulk.status(folder)


def bulk_export_file(
    session: Session, principal: Principal, data_dir: Path, job_id: str, name: str
) -> Path:
    path = bulk.output_file(bulk.job_dir(data_dir, job_id, principal.username), name)
    audit_event(session, principal, "fhir.export.download", detail={"job": job_id, "file": name})
    return path


def cancel_bulk_export(session: Session, principal: Principal, data_dir: Path, job_id: str) -> None:
    bulk.cancel(bulk.job_dir(data_dir, job_id, principal.username))
    audit_event(session, principal, "fhir.export.cancel", detail={"job": job_id})
