"""The source lines behind the One Medication Record as FHIR R4 (UK Core): ``MedicationRequest``
(what a GP practice or hospital prescribed or recorded) and ``MedicationDispense`` (what a
pharmacy supplied), read and searched; and the ``Provenance`` of the reconciled List.

The reconciled List / MedicationStatement / DetectedIssue routes are in :mod:`ipmo.records.api`;
these serve the lines each source system *sent* (issue 4: "each item keeps its provenance"), so a
client can see, beside a reconciled MedicationStatement, the request or dispense it was derived
from. Every read goes through :mod:`ipmo.records.actions` (access check + audit entry).

Identity: a line's logical id is ``<stored source id>-<line number>``; it changes only when the
source system sends a new list (the source is replaced whole, as received). ``meta.lastUpdated``
is when that list was received. Search parameters are R4's own for each type
(https://hl7.org/fhir/R4/medicationrequest.html#search: ``authoredon``;
https://hl7.org/fhir/R4/medicationdispense.html#search: ``whenhandedover``), not a made-up
``date``: a client reading the CapabilityStatement finds the name it expects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy.orm import Session

from ipmo.fhir.bundles import NHS_NUMBER_SYSTEM, ODS_SYSTEMS, days_duration
from ipmo.fhir.capability import PROFILES
from ipmo.fhir.outcome import FhirError
from ipmo.fhir.search import (
    content_etag,
    date_filter,
    fhir_response,
    includes,
    instant,
    search_controls,
    searchset,
    strict_search,
)
from ipmo.lookup import patient_resource
from ipmo.patients.identity import InvalidNhsNumber, normalise_nhs_number
from ipmo.records import actions, bulk
from ipmo.records.canonical import MedItem, SourceDocument
from ipmo.records.publish import DMD_SYSTEM
from ipmo.records.source_lines import (
    COURSE,
    COURSE_SYSTEM,
    DISPENSE_STATUS,
    DISPENSE_STATUSES,
    REQUEST_STATUS,
    REQUEST_STATUSES,
    is_dispense,
)
from ipmo.security import Activity, Principal
from ipmo.web.deps import db_session, require

router = APIRouter(tags=["FHIR"])


def patient_param(patient: str | None) -> str:
    """``patient=<nhs number>``, ``Patient/<nhs number>`` or ``<nhs system>|<n>`` → the number."""
    if not patient:
        raise FhirError(400, "required", "search parameter patient is required", "patient")
    value = patient.split("|", 1)[1] if "|" in patient else patient
    if "|" in patient and patient.split("|", 1)[0] not in ("", NHS_NUMBER_SYSTEM):
        raise FhirError(
            400, "not-supported", "patients are identified by NHS number only", "patient"
        )
    value = value.removeprefix("Patient/")
    try:
        return normalise_nhs_number(value)
    except InvalidNhsNumber as exc:
        raise FhirError(400, "value", f"patient: {exc}", "patient") from None


def line_type(doc: SourceDocument, item: MedItem) -> str:
    """The FHIR type a source line is served as."""
    dispense = is_dispense(doc.source_kind, item.resource_type)
    return "MedicationDispense" if dispense else "MedicationRequest"


def _medication(item: MedItem) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": item.name}
    system = item.code_system or DMD_SYSTEM
    if item.code and (":" in system):
        concept["coding"] = [{"system": system, "code": item.code, "display": item.name}]
    return concept


def _org(code: str) -> dict[str, Any]:
    return {"identifier": {"system": ODS_SYSTEMS[0], "value": code}}


def source_line(
    stored: actions.StoredSource, index: int, item: MedItem, nhs_number: str
) -> dict[str, Any]:
    """One source line as a UK Core MedicationRequest or MedicationDispense."""
    doc = stored.document
    rtype = (
        "MedicationDispense"
        if is_dispense(doc.source_kind, item.resource_type)
        else "MedicationRequest"
    )
    res: dict[str, Any] = {
        "resourceType": rtype,
        "id": f"{stored.list_id}-{index}",
        "meta": {"profile": [PROFILES[rtype]], "lastUpdated": instant(stored.received_at)},
    }
    if item.resource_id and item.resource_type and item.resource_type != "csv":
        res["identifier"] = [
            {
                "system": f"urn:ipmo:source:{doc.label}",
                "value": f"{item.resource_type}/{item.resource_id}",
            }
        ]
    subject = {
        "reference": f"Patient/{nhs_number}",
        "identifier": {"system": NHS_NUMBER_SYSTEM, "value": nhs_number},
    }
    dosage = [{"text": item.dose_text}] if item.dose_text else None
    if rtype == "MedicationRequest":
        res["status"] = REQUEST_STATUS.get(item.status, "unknown")
        res["intent"] = "order"
        if item.category:
            res["category"] = [{"text": item.category}]
        res["medicationCodeableConcept"] = _medication(item)
        res["subject"] = subject
        if item.category in COURSE:
            res["courseOfTherapyType"] = {
                "coding": [{"system": COURSE_SYSTEM, "code": COURSE[item.category]}]
            }
        if item.authored_on:
            res["authoredOn"] = item.authored_on.isoformat()
        res["requester"] = _org(doc.source_org_code)
        if dosage:
            res["dosageInstruction"] = dosage
        if item.end_date:
            res["dispenseRequest"] = {"validityPeriod": {"end": item.end_date.isoformat()}}
    else:
        res["status"] = DISPENSE_STATUS.get(item.status, "unknown")
        res["medicationCodeableConcept"] = _medication(item)
        res["subject"] = subject
        res["performer"] = [{"actor": _org(doc.source_org_code)}]
        if item.supply_days:
            res["daysSupply"] = days_duration(item.supply_days)
        handed = handed_over(item)
        if handed:
            res["whenHandedOver"] = handed.isoformat()
        if dosage:
            res["dosageInstruction"] = dosage
    if item.status_reason and rtype == "MedicationRequest":
        res["statusReason"] = {"text": item.status_reason}
    return res


def handed_over(item: MedItem) -> date | None:
    return item.last_issued or item.authored_on


def _lines(
    stored: list[actions.StoredSource], nhs_number: str, rtype: str
) -> list[tuple[dict[str, Any], MedItem, actions.StoredSource]]:
    out = []
    for s in stored:
        for index, item in enumerate(s.document.items):
            if is_dispense(s.document.source_kind, item.resource_type) == (
                rtype == "MedicationDispense"
            ):
                out.append((source_line(s, index, item, nhs_number), item, s))
    return out


@dataclass(frozen=True)
class _Kind:
    statuses: set[str]
    date_param: str  # the type's R4 date search parameter
    date_of: Callable[[MedItem], date | None]


KINDS = {
    "MedicationRequest": _Kind(REQUEST_STATUSES, "authoredon", lambda i: i.authored_on),
    "MedicationDispense": _Kind(DISPENSE_STATUSES, "whenhandedover", handed_over),
}


def _search(
    request: Request,
    session: Session,
    principal: Principal,
    rtype: str,
    params: tuple[str | None, str | None, list[str] | None, list[str] | None, list[str] | None],
) -> JSONResponse:
    """``params``: patient, status, the date parameter, _lastUpdated, _include."""
    patient, status, dated, last_updated, include = params
    kind = KINDS[rtype]
    with_patient = includes(include, [f"{rtype}:patient"])
    statuses = {s for s in (status or "").split(",") if s}
    if statuses - kind.statuses:
        raise FhirError(
            400, "value", f"status {status!r}: one of {', '.join(sorted(kind.statuses))}", "status"
        )
    on_date = date_filter(dated, kind.date_param)
    updated = date_filter(last_updated, "_lastUpdated")
    number = patient_param(patient)
    found_patient, stored = actions.read_sources(
        session, principal, number, audit_action=f"record.fhir.{rtype.lower()}.search"
    )
    found = [
        res
        for res, item, s in _lines(stored, found_patient.nhs_number, rtype)
        if (not statuses or res["status"] in statuses)
        and on_date(kind.date_of(item))
        and updated(s.received_at)
    ]
    included = [patient_resource(found_patient)] if with_patient else []
    return fhir_response(searchset(request, found, included))


def _read(session: Session, principal: Principal, rtype: str, rid: str) -> JSONResponse:
    list_part, _, index_part = rid.partition("-")
    if not (list_part.isdigit() and index_part.isdigit()):
        raise FhirError(404, "not-found", f"no {rtype} {rid!r}", "id")
    try:
        found_patient, stored = actions.read_source(
            session,
            principal,
            int(list_part),
            audit_action=f"record.fhir.{rtype.lower()}.read",
        )
    except actions.SourceNotFound:
        raise FhirError(404, "not-found", f"no {rtype} {rid!r}", "id") from None
    items = stored.document.items
    index = int(index_part)
    if index >= len(items) or is_dispense(
        stored.document.source_kind, items[index].resource_type
    ) != (rtype == "MedicationDispense"):
        raise FhirError(404, "not-found", f"no {rtype} {rid!r}", "id")
    res = source_line(stored, index, items[index], found_patient.nhs_number)
    return fhir_response(res, headers={"ETag": content_etag(res)})


def _mount(rtype: str) -> None:
    """The search and read routes of one source-line type (declared per type: the date
    parameter's name differs, and the CapabilityStatement reads the declarations)."""
    kind = KINDS[rtype]

    @router.get(
        f"/fhir/R4/{rtype}",
        name=f"search_{rtype}",
        summary=f"Search {rtype}",
        openapi_extra={"x-fhir-include": [f"{rtype}:patient"]},
    )
    def search(
        request: Request,
        patient: str | None = Query(None),
        status: str | None = Query(None, description=" | ".join(sorted(kind.statuses))),
        dated: list[str] | None = Query(None, alias=kind.date_param, description="ge2025-01-01"),
        last_updated: list[str] | None = Query(None, alias="_lastUpdated"),
        include: list[str] | None = Query(None, alias="_include"),
        _controls: None = Depends(search_controls),
        principal: Principal = Depends(require(Activity.RECORD_VIEW)),
        session: Session = Depends(db_session, scope="function"),
    ) -> JSONResponse:
        params = (patient, status, dated, last_updated, include)
        return _search(request, session, principal, rtype, params)

    @router.get(f"/fhir/R4/{rtype}/{{rid}}", name=f"read_{rtype}", summary=f"Read {rtype}")
    def read(
        rid: str,
        _strict: None = Depends(strict_search),
        principal: Principal = Depends(require(Activity.RECORD_VIEW)),
        session: Session = Depends(db_session, scope="function"),
    ) -> JSONResponse:
        return _read(session, principal, rtype, rid)


# MedicationRequest: what the GP practice and hospital sources prescribed or recorded, line by
# line, as sent; MedicationDispense: what the pharmacy sources supplied.
for _rtype in KINDS:
    _mount(_rtype)


# ---- $export (FHIR Bulk Data Access IG v2.0.0, system level) -------------------------------
EXPORT_STATUS = "/fhir/bulkstatus"  # outside /fhir/R4: not resources, not in the statement
EXPORT_FILES = "/fhir/bulkfiles"


def _export_request(
    request: Request, prefer: str | None, output_format: str | None, types: str | None,
    since: str | None,
) -> bulk.ExportRequest:  # fmt: skip
    if "respond-async" not in (prefer or ""):
        raise FhirError(
            400, "required", "a bulk export runs asynchronously: send Prefer: respond-async",
            "Prefer",
        )  # fmt: skip
    if output_format is not None and output_format not in bulk.OUTPUT_FORMATS:
        raise FhirError(
            400, "not-supported", f"_outputFormat {output_format!r}: only NDJSON", "_outputFormat"
        )
    chosen = tuple(t for t in (types or "").split(",") if t) or bulk.EXPORT_TYPES
    unknown = [t for t in chosen if t not in bulk.EXPORT_TYPES]
    if unknown:
        raise FhirError(
            400, "not-supported",
            f"_type {', '.join(unknown)}: exported types are {', '.join(bulk.EXPORT_TYPES)}",
            "_type",
        )  # fmt: skip
    when = None
    if since is not None:
        try:
            when = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise FhirError(400, "value", f"_since {since!r} is not an instant", "_since") from None
        if when.tzinfo is None:
            raise FhirError(400, "value", "_since must have a time zone (an instant)", "_since")
        when = when.astimezone(UTC).replace(tzinfo=None)
    return bulk.ExportRequest(chosen, when, str(request.url))


@router.get("/fhir/R4/$export", status_code=202)
def bulk_export(
    request: Request,
    output_format: str | None = Query(None, alias="_outputFormat", description="NDJSON"),
    types: str | None = Query(None, alias="_type", description=", ".join(bulk.EXPORT_TYPES)),
    since: str | None = Query(None, alias="_since", description="an instant"),
    prefer: str | None = Header(None),
    _strict: None = Depends(strict_search),
    principal: Principal = Depends(require(Activity.ANALYTICS_EXPORT)),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    """Start a bulk export of pseudonymised, disclosure-controlled medication lines (ICS
    analysts only); poll the ``Content-Location`` it answers with."""
    export = _export_request(request, prefer, output_format, types, since)
    settings = request.app.state.settings
    try:
        job_id, folder = actions.start_bulk_export(session, principal, settings.data_dir, export)
    except bulk.ExportRunning:
        raise FhirError(
            429, "throttled", "an export of yours is still running: poll it, or DELETE it first"
        ) from None
    session.commit()  # the audit entry is durable before the work starts
    files = str(request.base_url).rstrip("/") + f"{EXPORT_FILES}/{job_id}"
    key = bulk.pseudonym_key(settings.secret_key)
    bulk.start_in_background(request.app.state.engine, folder, export, key, files)
    status_url = str(request.base_url).rstrip("/") + f"{EXPORT_STATUS}/{job_id}"
    return Response(status_code=202, headers={"Content-Location": status_url})


def _no_job() -> FhirError:
    return FhirError(404, "not-found", "no such export (finished and deleted, or not yours)")


@router.get(EXPORT_STATUS + "/{job_id}", tags=["FHIR"])
def bulk_export_status(
    request: Request,
    job_id: str,
    principal: Principal = Depends(require(Activity.ANALYTICS_EXPORT)),
) -> Response:
    """202 while running (``X-Progress``), 200 with the manifest when done, 500 if it failed."""
    try:
        _, state = actions.bulk_export_status(
            principal, request.app.state.settings.data_dir, job_id
        )
    except bulk.ExportNotFound:
        raise _no_job() from None
    if state["state"] == "done":
        return JSONResponse(state["manifest"], headers={"Expires": _expires()})
    if state["state"] == "failed":
        raise FhirError(500, "exception", f"the export failed ({state['error']})")
    return Response(
        status_code=202, headers={"X-Progress": state["progress"] or "started", "Retry-After": "1"}
    )


@router.delete(EXPORT_STATUS + "/{job_id}", tags=["FHIR"], status_code=202)
def bulk_export_cancel(
    request: Request,
    job_id: str,
    principal: Principal = Depends(require(Activity.ANALYTICS_EXPORT)),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    """Cancel a running export, or delete a finished one's files."""
    try:
        actions.cancel_bulk_export(session, principal, request.app.state.settings.data_dir, job_id)
    except bulk.ExportNotFound:
        raise _no_job() from None
    return Response(status_code=202)


@router.get(EXPORT_FILES + "/{job_id}/{name}", tags=["FHIR"])
def bulk_export_file(
    request: Request,
    job_id: str,
    name: str,
    principal: Principal = Depends(require(Activity.ANALYTICS_EXPORT)),
    session: Session = Depends(db_session, scope="function"),
) -> Response:
    """One NDJSON file of a finished export (its owner only, with the same bearer token)."""
    data_dir = request.app.state.settings.data_dir
    try:
        path = actions.bulk_export_file(session, principal, data_dir, job_id, name)
    except bulk.ExportNotFound:
        raise _no_job() from None
    return FileResponse(path, media_type="application/fhir+ndjson")


def _expires() -> str:
    return format_datetime(datetime.now(UTC) + timedelta(days=1), usegmt=True)
