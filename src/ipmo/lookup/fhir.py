"""FHIR R4 ``Patient`` and ``Organization`` (UK Core shape): read and search.

A patient is read through the use case :func:`ipmo.lookup.actions.open_patient` exactly as
``GET /api/patients/{nhs}`` is (relationship check + audit entry, the same refusal for a number
not in this ICS as for an unrelated patient). The logical id of a Patient is its NHS number (as
in ``/api/patients/{nhs}``; the logs mask it). Organisations carry no patient data: any signed-in
user may read them; their logical id is the ODS code.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from ipmo.fhir.bundles import NHS_NUMBER_SYSTEM, ODS_SYSTEMS
from ipmo.fhir.outcome import FhirError
from ipmo.fhir.search import (
    content_etag,
    fhir_response,
    search_controls,
    searchset,
    strict_search,
)
from ipmo.lookup import actions
from ipmo.lookup.resources import organization_resource, patient_resource
from ipmo.organisations import Organisation
from ipmo.patients import InvalidNhsNumber, normalise_nhs_number
from ipmo.security import Activity, Principal
from ipmo.web.deps import DbSession, require

router = APIRouter(tags=["FHIR"])


def _token(value: str, systems: tuple[str, ...], name: str) -> str:
    """``system|value`` or ``value`` → value; another system → 400 naming the parameter."""
    if "|" not in value:
        return value
    system, code = value.split("|", 1)
    if system and system not in systems:
        raise FhirError(400, "not-supported", f"{name}: system {system!r} is not supported", name)
    return code


def _nhs_number(value: str, name: str) -> str:
    try:
        return normalise_nhs_number(_token(value, (NHS_NUMBER_SYSTEM,), name))
    except InvalidNhsNumber as exc:
        raise FhirError(400, "value", f"{name}: {exc}", name) from None


@router.get("/fhir/R4/Patient")
def search_patients(
    request: Request,
    session: DbSession,
    identifier: str | None = Query(None, description="https://fhir.nhs.uk/Id/nhs-number|NNN"),
    _controls: None = Depends(search_controls),
    principal: Principal = Depends(require(Activity.RECORD_VIEW)),
) -> JSONResponse:
    """Find a patient by NHS number (one patient per search: no listing of the ICS)."""
    if not identifier:
        raise FhirError(400, "required", "search parameter identifier is required", "identifier")
    number = _nhs_number(identifier, "identifier")
    patient = actions.open_patient(session, principal, number, action="patient.fhir.search")
    return fhir_response(searchset(request, [patient_resource(patient)]))


@router.get("/fhir/R4/Patient/{nhs_number}")
def read_patient(
    nhs_number: str,
    session: DbSession,
    _strict: None = Depends(strict_search),
    principal: Principal = Depends(require(Activity.RECORD_VIEW)),
) -> JSONResponse:
    number = _nhs_number(nhs_number, "id")
    patient = actions.open_patient(session, principal, number, action="patient.fhir.read")
    res = patient_resource(patient)
    return fhir_response(res, headers={"ETag": content_etag(res)})


@router.get("/fhir/R4/Organization")
def search_organizations(
    request: Request,
    session: DbSession,
    identifier: str | None = Query(None, description="ODS code, optionally system|code"),
    _controls: None = Depends(search_controls),
    _principal: Principal = Depends(require()),
) -> JSONResponse:
    """Organisations of this ICS (ODS codes); all of them, paged, without ``identifier``."""
    query = select(Organisation).order_by(Organisation.ods_code)
    if identifier:
        query = query.where(Organisation.ods_code == _token(identifier, ODS_SYSTEMS, "identifier"))
    found = [organization_resource(o) for o in session.scalars(query)]
    return fhir_response(searchset(request, found))


@router.get("/fhir/R4/Organization/{ods_code}")
def read_organization(
    ods_code: str,
    session: DbSession,
    _strict: None = Depends(strict_search),
    _principal: Principal = Depends(require()),
) -> JSONResponse:
    org = session.scalar(select(Organisation).where(Organisation.ods_code == ods_code))
    if org is None:
        raise FhirError(404, "not-found", f"no Organization {ods_code!r} in this ICS", "id")
    res = organization_resource(org)
    return fhir_response(res, headers={"ETag": content_etag(res)})
