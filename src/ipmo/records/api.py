"""JSON API and FHIR R4 endpoints for the One Medication Record.

A thin adapter over the use cases in :mod:`ipmo.records.actions`, which check access (relationship
check + audit entry) before anything else is read or written. Writes name the version they were
made against (``If-Match``); a stale one gets 412 and changes nothing. A proposed change is
accepted or rejected once: acting on it again gets 409 and changes nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo import hooks
from ipmo.fhir.outcome import FhirError
from ipmo.fhir.search import fhir_response, includes, search_controls, searchset
from ipmo.fhir.versions import FhirInputError
from ipmo.lookup import patient_resource
from ipmo.patients.models import Patient
from ipmo.records import actions
from ipmo.records.fhir import patient_param
from ipmo.records.schemas import (
    DecisionResult,
    IngestResult,
    ProposalResolution,
    RecordRead,
)
from ipmo.records.service import (
    Acceptance,
    PreconditionRequired,
    ProposalNotFound,
    ProposalResolved,
    RecordError,
    RecordView,
    VersionConflict,
    proposal_json,
)
from ipmo.security import Activity, Principal
from ipmo.web.deps import DbSession, Today, app_today, request_body, require
from ipmo.web.params import EARLIEST_DATE, LATEST_DATE, RowId, in_date_range

router = APIRouter(tags=["records"])
NHS_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"


def _outcome(
    status: int, code: str, diagnostics: str, expression: str | None = None
) -> JSONResponse:
    """Refuse with an OperationOutcome *returned* (not raised) so the access audit entry already
    written in this request's transaction is committed, while nothing else was written."""
    body = FhirError(status, code, diagnostics, expression).outcome()
    return JSONResponse(body, status_code=status, media_type="application/fhir+json")


def _index_date(as_of: str | None, today: date) -> date:
    """``as_of`` (a date) or the app's today."""
    if not as_of:
        return today
    try:
        day = date.fromisoformat(as_of)
    except ValueError:
        raise FhirError(422, "value", f"as_of {as_of[:40]!r} is not a date (YYYY-MM-DD)") from None
    if not in_date_range(day):
        raise FhirError(422, "value", f"as_of must be between {EARLIEST_DATE} and {LATEST_DATE}")
    return day


def _sources_side_by_side(view: RecordView) -> list[dict[str, Any]]:
    return [
        {
            "source": label,
            "kind": doc.source_kind,
            "organisation": doc.source_org_code,
            "system": doc.source_system,
            "fhir_version": doc.fhir_version,
            "items": [item.to_json() for item in doc.items],
        }
        for label, doc in zip(view.reconciliation.sources, view.sources, strict=True)
    ]


@router.post(
    "/api/records/patients/{nhs_number}/sources", status_code=201, response_model=IngestResult
)
def ingest_source(
    request: Request,
    nhs_number: str,
    response: Response,
    session: DbSession,
    source_kind: str | None = Query(None, description="gp | pharmacy | hospital | specialist"),
    source_org_code: str | None = Query(None, description="ODS code when the payload lacks one"),
    source_system: str | None = Query(None),
    principal: Principal = Depends(require(Activity.RECORD_RECONCILE)),
    body: bytes = Depends(request_body),  # read on the loop; this handler runs in the pool
) -> dict[str, Any] | JSONResponse:
    """Ingest one source's list: a FHIR R4/STU3 Bundle or resource (JSON or XML), or CSV."""
    is_csv = "csv" in request.headers.get("content-type", "")
    try:
        doc, result = actions.ingest_source(
            session,
            principal,
            nhs_number,
            body,
            filename="upload.csv" if is_csv else "",
            source_kind=None if is_csv else source_kind,
            source_org_code=None if is_csv else source_org_code,
            source_system=None if is_csv else source_system,
        )
    except actions.SourceTooLarge as exc:
        return _outcome(413, exc.code, exc.diagnostics)
    except FhirInputError as exc:
        status = 400 if exc.code in ("invalid", "security", "too-costly") else 422
        return _outcome(status, exc.code, exc.diagnostics, exc.expression)
    except RecordError as exc:
        return _outcome(409, "conflict", str(exc))
    if result.action == "unchanged":
        response.status_code = 200
    response.headers["ETag"] = f'W/"{result.version}"'
    return {
        "action": result.action,
        "version": result.version,
        "lines": len(doc.items),
        "warnings": doc.warnings,
    }


@router.get("/api/records/patients/{nhs_number}", response_model=RecordRead)
def read_record(
    nhs_number: str,
    response: Response,
    session: DbSession,
    today: Today,
    as_of: str | None = None,
    principal: Principal = Depends(require(Activity.RECORD_VIEW)),
) -> dict[str, Any]:
    """The patient's sources side by side, the reconciled list and its discrepancies."""
    view = actions.read_record(session, principal, nhs_number, _index_date(as_of, today))
    response.headers["ETag"] = view.etag
    body = view.to_json()
    body["sources"] = _sources_side_by_side(view)
    return body


def _refused(exc: RecordError) -> JSONResponse:
    """A refused decision, accept or reject: nothing but the access audit entry is written."""
    if isinstance(exc, VersionConflict):
        return JSONResponse(
            {"detail": str(exc), "version": exc.current},
            412,
            headers={"ETag": f'W/"{exc.current}"'},
        )
    if isinstance(exc, PreconditionRequired):
        return JSONResponse({"detail": str(exc)}, 428)
    if isinstance(exc, ProposalNotFound):
        return JSONResponse({"detail": str(exc)}, 404)
    if isinstance(exc, ProposalResolved):
        return JSONResponse({"detail": str(exc), "status": exc.status}, 409)
    return JSONResponse({"detail": str(exc)}, 422)


class DecisionIn(BaseModel):
    discrepancy_id: str = Field(..., max_length=24)
    action: str = Field(..., description="confirm_intended | correct_source | stop | needs_gp")
    reason: str = Field(..., max_length=2000)
    source: str | None = Field(None, description="for correct_source: the source to correct")


@router.post("/api/records/patients/{nhs_number}/decisions", response_model=DecisionResult)
def post_decision(
    nhs_number: str,
    decision: DecisionIn,
    response: Response,
    session: DbSession,
    today: Today,
    as_of: str | None = None,
    if_match: str | None = Header(None),
    principal: Principal = Depends(require(Activity.RECORD_RECONCILE)),
):
    """Record a decision on one discrepancy. Needs ``If-Match`` with the record's ETag."""
    try:
        version = actions.decide_discrepancy(
            session,
            principal,
            nhs_number,
            decision.discrepancy_id,
            action=decision.action,
            reason=decision.reason,
            if_match=if_match or None,
            index_date=_index_date(as_of, today),
            source_label=decision.source,
        )
    except RecordError as exc:
        return _refused(exc)
    response.headers["ETag"] = f'W/"{version}"'
    return {"version": version}


class AcceptIn(BaseModel):
    dose_text: str | None = Field(
        None, max_length=500, description="the new dose: required for a dose change"
    )
    switch_to: str | None = Field(
        None, max_length=255, description="for a switch: the medicine to start"
    )
    switch_to_code: str | None = Field(None, max_length=20, description="its dm+d code")
    note: str = Field("", max_length=2000)


class RejectIn(BaseModel):
    reason: str = Field(..., max_length=2000, description="why the change is not made")


@router.post(
    "/api/records/patients/{nhs_number}/proposed-changes/{proposal_id}/accept",
    response_model=ProposalResolution,
)
def post_accept(
    nhs_number: str,
    proposal_id: RowId,
    response: Response,
    session: DbSession,
    today: Today,
    body: AcceptIn | None = None,
    if_match: str | None = Header(None),
    principal: Principal = Depends(require(Activity.RECORD_RECONCILE)),
):
    """Accept a pending proposed change: it is applied to the reconciled list from today (stop,
    start, dose change; a switch stops one medicine and starts another). Needs ``If-Match``."""
    how = Acceptance(**(body or AcceptIn()).model_dump())
    try:
        change = actions.accept_proposed_change(
            session, principal, nhs_number, proposal_id, how, if_match=if_match, on=today
        )
    except RecordError as exc:
        return _refused(exc)
    response.headers["ETag"] = f'W/"{change.resolution_version}"'
    return {"version": change.resolution_version, "proposed_change": proposal_json(change)}


@router.post(
    "/api/records/patients/{nhs_number}/proposed-changes/{proposal_id}/reject",
    response_model=ProposalResolution,
)
def post_reject(
    nhs_number: str,
    proposal_id: RowId,
    body: RejectIn,
    response: Response,
    session: DbSession,
    if_match: str | None = Header(None),
    principal: Principal = Depends(require(Activity.RECORD_RECONCILE)),
):
    """Reject a pending proposed change with a reason; the list is not changed and the proposer
    sees the reason. Needs ``If-Match``."""
    try:
        change = actions.reject_proposed_change(
            session, principal, nhs_number, proposal_id, if_match=if_match, reason=body.reason
        )
    except RecordError as exc:
        return _refused(exc)
    response.headers["ETag"] = f'W/"{change.resolution_version}"'
    return {"version": change.resolution_version, "proposed_change": proposal_json(change)}


def _fhir_view(
    request: Request, session: Session, principal: Principal, patient: str | None, action: str
) -> RecordView:
    """The patient's record on the app's today."""
    number = patient_param(patient)
    today = app_today(request)
    return actions.read_record(session, principal, number, today, audit_action=action)


def _linked(view: RecordView) -> list[dict[str, Any]]:
    """The record's resources with server references (``MedicationStatement/<id>``) in place of
    the collection Bundle's ``urn:uuid:`` ones, and the patient as ``Patient/<nhs number>`` (the
    FHIR Patient read serves it) beside the NHS number identifier."""
    resources = [e["resource"] for e in view.fhir()["entry"]]
    where = {r["id"]: f"{r['resourceType']}/{r['id']}" for r in resources}

    def fix(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: fix(v) for k, v in node.items()}
            ref = out.get("reference")
            if isinstance(ref, str) and ref.startswith("urn:uuid:"):
                out["reference"] = where.get(ref[len("urn:uuid:") :], ref)
            ident = out.get("identifier")
            if (
                set(out) == {"identifier"}
                and isinstance(ident, dict)
                and ident.get("system") == NHS_SYSTEM
            ):
                out = {"reference": f"Patient/{ident['value']}", **out}
            return out
        if isinstance(node, list):
            return [fix(v) for v in node]
        return node

    return [fix(r) for r in resources]


def _of_type(resources: list[dict[str, Any]], rtype: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["resourceType"] == rtype]


@router.get(
    "/fhir/R4/List",
    tags=["FHIR"],
    openapi_extra={
        "x-fhir-include": ["List:item", "List:subject"],
        "x-fhir-revinclude": ["Provenance:target"],
    },
)
def fhir_list(
    request: Request,
    session: DbSession,
    patient: str | None = Query(None),
    patient_identifier: str | None = Query(None, alias="patient:identifier"),
    include: list[str] | None = Query(None, alias="_include", description="List:item"),
    revinclude: list[str] | None = Query(
        None, alias="_revinclude", description="Provenance:target"
    ),
    _controls: None = Depends(search_controls),
    principal: Principal = Depends(require(Activity.RECORD_VIEW)),
):
    """The reconciled medication list (UK Core List); ``_include=List:item`` adds its
    MedicationStatements, ``_include=List:subject`` the Patient, ``_revinclude=Provenance:target``
    the Provenance of this version of the list."""
    chosen = includes(include, ["List:item", "List:subject"])
    with_provenance = includes(revinclude, ["Provenance:target"], "_revinclude")
    view = _fhir_view(
        request, session, principal, patient or patient_identifier, "record.fhir.list"
    )
    resources = _linked(view)
    found = _of_type(resources, "List")
    included = _of_type(resources, "MedicationStatement") if "List:item" in chosen else []
    if "List:subject" in chosen:
        included.append(_patient_resource(session, view))
    if with_provenance:
        included += _of_type(resources, "Provenance")
    return fhir_response(searchset(request, found, included), headers={"ETag": view.etag})


@router.get(
    "/fhir/R4/MedicationStatement",
    tags=["FHIR"],
    openapi_extra={
        "x-fhir-include": ["MedicationStatement:patient"],
        "x-fhir-revinclude": ["List:item"],
    },
)
def fhir_medication_statements(
    request: Request,
    session: DbSession,
    patient: str | None = Query(None),
    patient_identifier: str | None = Query(None, alias="patient:identifier"),
    status: str | None = Query(None, description="active | stopped"),
    include: list[str] | None = Query(
        None, alias="_include", description="MedicationStatement:patient"
    ),
    revinclude: list[str] | None = Query(None, alias="_revinclude", description="List:item"),
    _controls: None = Depends(search_controls),
    principal: Principal = Depends(require(Activity.RECORD_VIEW)),
):
    """The One Medication Record's reconciled lines as UK Core MedicationStatements
    (``status=active``: the current list); ``_include=MedicationStatement:patient`` adds the
    Patient, ``_revinclude=List:item`` the List holding them."""
    with_patient = includes(include, ["MedicationStatement:patient"])
    with_list = includes(revinclude, ["List:item"], "_revinclude")
    statuses = {s for s in (status or "").split(",") if s}
    if statuses - {"active", "stopped"}:
        raise FhirError(400, "value", f"status {status!r}: active or stopped", "status")
    view = _fhir_view(
        request, session, principal, patient or patient_identifier, "record.fhir.statements"
    )
    resources = _linked(view)
    found = [
        r
        for r in _of_type(resources, "MedicationStatement")
        if not statuses or r["status"] in statuses
    ]
    included = _of_type(resources, "List") if with_list else []
    if with_patient:
        included.append(_patient_resource(session, view))
    return fhir_response(searchset(request, found, included), headers={"ETag": view.etag})


@router.get("/fhir/R4/Provenance", tags=["FHIR"])
def fhir_provenance(
    request: Request,
    session: DbSession,
    patient: str | None = Query(None),
    _controls: None = Depends(search_controls),
    principal: Principal = Depends(require(Activity.RECORD_VIEW)),
):
    """The Provenance of the patient's reconciled List and MedicationStatements (this version):
    made by the reconciliation, from the sources it names."""
    view = _fhir_view(request, session, principal, patient, "record.fhir.provenance")
    return fhir_response(searchset(request, _of_type(_linked(view), "Provenance")))


def _patient_resource(session: Session, view: RecordView) -> dict[str, Any]:
    """The Patient for an ``_include`` (access to them was checked and audited by this search)."""
    found = session.scalar(select(Patient).where(Patient.nhs_number == view.nhs_number))
    assert found is not None  # the record was just read for them
    return patient_resource(found)


@router.get("/fhir/R4/DetectedIssue", tags=["FHIR"])
def fhir_detected_issues(
    request: Request,
    session: DbSession,
    patient: str | None = Query(None),
    patient_identifier: str | None = Query(None, alias="patient:identifier"),
    _controls: None = Depends(search_controls),
    principal: Principal = Depends(require(Activity.RECORD_VIEW)),
):
    """Open reconciliation discrepancies as DetectedIssue resources, and the medication review
    findings of the patient today (offered by the review domain: ``FHIR_DETECTED_ISSUES``)."""
    view = _fhir_view(
        request, session, principal, patient or patient_identifier, "record.fhir.issues"
    )
    found = _of_type(_linked(view), "DetectedIssue")
    for provider in hooks.offered("FHIR_DETECTED_ISSUES"):
        found += provider(session, principal, view.nhs_number, app_today(request))
    return fhir_response(searchset(request, found))
