"""Tracker API: ``GET /api/prescriptions?prescription_id=…`` or ``?nhs_number=…`` (never both),
answering in the Clinical Prescription Tracker's shape (see :mod:`ipmo.prescriptions.tracker`).

Access: the ``record.view`` activity (NHS 111 clinicians, pharmacists, GPs, …) and a legitimate
relationship with the patient, checked and audited in :mod:`ipmo.prescriptions.actions`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from ipmo.prescriptions import actions
from ipmo.prescriptions.schemas import EntitlementFinding, Entitlements, ExemptionAnswer
from ipmo.prescriptions.tracker import search_bundle
from ipmo.security import Activity, Principal
from ipmo.web.deps import db_session, require
from ipmo.web.params import Day

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


@router.get("/api/prescriptions", response_model=TrackerBundle)
def track(
    prescription_id: str | None = Query(None, max_length=40),
    nhs_number: str | None = Query(None, max_length=20),
    date_from: Annotated[Day | None, Query(description="issued on or after")] = None,
    date_to: Annotated[Day | None, Query(description="issued on or before")] = None,
    principal: Principal = Depends(require(Activity.RECORD_VIEW)),
    session: Session = Depends(db_session, scope="function"),
) -> JSONResponse:
    by_id = prescription_id is not None  # the clinical view: items and timeline
    found = actions.search(
        session, principal, prescription_id, nhs_number, date_from, date_to, with_events=by_id
    )
    bundle = search_bundle(
        found.rows,
        found.nhs_number,
        _name(found.patient) if found.patient else None,
        with_items=by_id,
    )
    return _fhir(bundle)


@router.get("/api/prescriptions/exemption", response_model=ExemptionAnswer)
def exemption(
    on: Annotated[Day, Query(description="the dispensing date")],
    nhs_number: str = Query(..., max_length=20),
    principal: Principal = Depends(require(Activity.RECORD_VIEW)),
    session: Session = Depends(db_session, scope="function"),
) -> ExemptionAnswer:
    """Is the patient exempt from the prescription charge on the dispensing date, and why."""
    patient, answer = actions.exemption(session, principal, nhs_number, on)
    return ExemptionAnswer(
        nhs_number=patient.nhs_number, dispensing_date=on, display=answer.display, **asdict(answer)
    )


@router.get("/api/prescriptions/entitlements", response_model=Entitlements)
def entitlements(
    as_of: Day,
    principal: Principal = Depends(require(Activity.RECORD_VIEW)),
    session: Session = Depends(db_session, scope="function"),
) -> Entitlements:
    """Patients who pay but are probably exempt (those the user may see)."""
    found = actions.entitlements(session, principal, as_of)
    return Entitlements(
        as_of=as_of,
        findings=[EntitlementFinding(**asdict(f)) for f in found],
        by_criterion=dict(Counter(f.criterion for f in found)),
    )
