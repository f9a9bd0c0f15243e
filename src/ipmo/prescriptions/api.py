"""Tracker API: ``GET /api/prescriptions?prescription_id=…`` or ``?nhs_number=…`` (never both),
answering in the Clinical Prescription Tracker's shape (see :mod:`ipmo.prescriptions.tracker`).

Access: the ``record.view`` activity (NHS 111 clinicians, pharmacists, GPs, …) and a legitimate
relationship with the patient (``ipmo.security.policy``), checked and audited by
``check_patient_access`` for every answer that shows a patient's prescriptions.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ipmo.fhir.outcome import FhirError
from ipmo.patients import InvalidNhsNumber, normalise_nhs_number
from ipmo.prescriptions.ids import valid_prescription_id
from ipmo.prescriptions.models import Prescription
from ipmo.prescriptions.tracker import search_bundle
from ipmo.security import Activity, Principal
from ipmo.security.access import audit_event, check_patient_access
from ipmo.web.deps import db_session, require

router = APIRouter(tags=["prescriptions"])


class BundleEntry(BaseModel):
    model_config = ConfigDict(extra="allow")
    fullUrl: str
    search: dict[str, str]
    resource: dict[str, Any]


class TrackerBundle(BaseModel):
    """The Clinical Prescription Tracker's answer (FHIR R4 ``searchset`` Bundle)."""

    resourceType: Literal["Bundle"]
    type: Literal["searchset"]
    total: int
    entry: list[BundleEntry]


def _name(patient: Any) -> dict[str, Any] | None:
    given = getattr(patient, "given_name", None)
    family = getattr(patient, "family_name", None)
    if not (given or family):
        return None
    name: dict[str, Any] = {}
    if given:
        name["given"] = [given]
    if family:
        name["family"] = family
    return name


def _fhir(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, media_type="application/fhir+json")


def find(
    session: Session,
    principal: Principal,
    prescription_id: str | None,
    nhs_number: str | None,
) -> tuple[list[Prescription], str | None, Any]:
    """(prescriptions, NHS number, Patient) the principal may see; :class:`FhirError` (400)
    for a bad search, ``PatientAccessDenied`` (403, audited) without a relationship."""
    # the national tracker searches by prescription ID *or* NHS number, never both (issue 16)
    if (prescription_id is None) == (nhs_number is None):
        raise FhirError(
            400,
            "value",
            "give exactly one of prescription_id or nhs_number",
            ["prescription_id", "nhs_number"],
        )
    query = select(Prescription).options(selectinload(Prescription.items))
    if prescription_id is not None:
        pid = prescription_id.strip().upper()
        if not valid_prescription_id(pid):
            raise FhirError(
                400,
                "value",
                "prescription_id is not a valid EPS short-form prescription ID "
                "(XXXXXX-XXXXXX-XXXXXC with its check character)",
                "prescription_id",
            )
        found = session.scalar(query.where(Prescription.prescription_id == pid))
        if found is None:
            audit_event(session, principal, "prescriptions.track", detail={"found": 0})
            return [], None, None
        patient = check_patient_access(session, principal, found.nhs_number, "prescriptions.track")
        return [found], found.nhs_number, patient
    try:
        number = normalise_nhs_number(nhs_number or "")
    except InvalidNhsNumber as exc:
        raise FhirError(400, "value", f"nhs_number: {exc}", "nhs_number") from None
    patient = check_patient_access(session, principal, number, "prescriptions.track")
    rows = session.scalars(
        query.where(Prescription.nhs_number == number).order_by(
            Prescription.authored_on.desc(), Prescription.id.desc()
        )
    ).all()
    return list(rows), number, patient


@router.get("/api/prescriptions", response_model=TrackerBundle)
def track(
    prescription_id: str | None = Query(None, max_length=40),
    nhs_number: str | None = Query(None, max_length=20),
    principal: Principal = Depends(require(Activity.RECORD_VIEW)),
    session: Session = Depends(db_session, scope="function"),
) -> JSONResponse:
    rows, number, patient = find(session, principal, prescription_id, nhs_number)
    bundle = search_bundle(
        rows, number, _name(patient) if patient else None, with_items=prescription_id is not None
    )
    return _fhir(bundle)
