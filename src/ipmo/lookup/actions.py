"""Patient look-up use cases: the ONE place in ``lookup`` that checks access and writes audit.

Every use case is a function ``(session, principal, …)`` run in the caller's unit of work;
``api.py``, ``fhir.py`` and ``pages.py`` are thin adapters over these. One patient is opened
through the access policy (:func:`~ipmo.security.access.check_patient_access`: a relationship
check and one audit entry; an unknown number gets the same refusal as an unrelated patient), a
search by name lists only the patients the policy's filter lets the user see, each one shown
audited.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from ipmo.lookup.service import NameSearch, SearchResult, banner, matching, summary
from ipmo.patients import Patient
from ipmo.security.access import audit_event, check_patient_access
from ipmo.security.policy import relationship_for
from ipmo.security.principal import Principal


def open_patient(
    session: Session, principal: Principal, nhs_number: str, action: str = "patient.read"
) -> Patient:
    """The patient, if the user has a legitimate relationship with them (audited either way)."""
    return check_patient_access(session, principal, nhs_number, action=action)


def patient_summary(
    session: Session, principal: Principal, nhs_number: str, today: date | None = None
) -> dict:
    """Identity, registration, nominated pharmacy and care home (``GET /api/patients/{nhs}``);
    the age on ``today``."""
    return summary(session, open_patient(session, principal, nhs_number), today)


def patient_banner(
    session: Session, principal: Principal, nhs_number: str, today: date | None = None
) -> dict:
    """What the patient's own page and its banner show (the age on ``today``)."""
    return banner(session, open_patient(session, principal, nhs_number), today)


def search(
    session: Session, principal: Principal, wanted: NameSearch, today: date | None = None
) -> SearchResult:
    """Patients whose names contain the given parts (case-insensitive) and who were born on
    the date of birth, limited to those the principal has a legitimate relationship with.

    Every patient shown is audited (``patient.search``, with the relationship that allowed it);
    the search terms are not written anywhere (they are patient data)."""
    patients, too_many = matching(session, principal, wanted)
    found: list[dict] = []
    for patient in patients:
        reason = relationship_for(session, principal, patient)  # the name the audit records
        audit_event(session, principal, "patient.search", patient, reason=reason)
        found.append(banner(session, patient, today))
    audit_event(
        session, principal, "patient.search", detail={"by": "name-dob", "shown": len(found)}
    )
    return SearchResult(found, too_many)
