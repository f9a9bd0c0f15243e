"""The one gate for patient data: relationship check + audit entry, for every read and write."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.patients.identity import normalise_nhs_number
from ipmo.patients.models import Patient
from ipmo.security import audit
from ipmo.security.errors import PatientAccessDenied
from ipmo.security.policy import relationship_for
from ipmo.security.principal import Principal


def audit_event(
    session: Session,
    principal: Principal,
    action: str,
    patient: Patient | None = None,
    detail: dict | None = None,
    *,
    outcome: str = "permitted",
    reason: str | None = None,
) -> None:
    nhs_number = patient.nhs_number if patient is not None else None
    _append(session, principal, action, nhs_number, outcome=outcome, reason=reason, detail=detail)


def audit_refusal(session: Session, principal: Principal, action: str, nhs_number: str) -> None:
    """Refusals are written in their own transaction: the caller's work is rolled back, the
    record that somebody tried is not."""
    if session.info.get("audit_dirty"):
        # this unit of work already holds the audit head's lock; a second transaction would wait
        # on it for ever, so the refusal joins this one
        _append_refusal(session, principal, action, nhs_number)
        return
    with Session(session.get_bind()) as side:
        _append_refusal(side, principal, action, nhs_number)
        side.commit()


def _append_refusal(session: Session, principal: Principal, action: str, nhs_number: str) -> None:
    reason = "no-legitimate-relationship"
    _append(session, principal, action, nhs_number, outcome="refused", reason=reason)


def _append(
    session: Session,
    principal: Principal,
    action: str,
    nhs_number: str | None,
    *,
    outcome: str,
    reason: str | None,
    detail: dict | None = None,
) -> None:
    """One audit entry by ``principal`` (who, in which role and organisation)."""
    session.info["audit_dirty"] = True
    audit.append(
        session,
        username=principal.username,
        role_code=principal.role.code,
        org_code=principal.org_code,
        action=action,
        outcome=outcome,
        patient_nhs_number=nhs_number,
        reason=reason,
        detail=detail,
    )


NO_RELATIONSHIP = (
    "you have no legitimate relationship with a patient with this NHS number (registration, "
    "nomination, admission, care home or a referral to your organisation)"
)


def check_patient_access(
    session: Session, principal: Principal, patient: Patient | str, action: str
) -> Patient:
    """The patient, if the principal has a legitimate relationship with them (audited with its
    name); otherwise the refusal is audited and :class:`PatientAccessDenied` raised.

    A number that is not in this ICS gets exactly the same refusal (status, message and audit
    entry) as a patient the user is not related to: the answer must not tell an unrelated user
    whether somebody is registered here."""
    return check_patient_relationship(session, principal, patient, action)[0]


def check_patient_relationship(
    session: Session, principal: Principal, patient: Patient | str, action: str
) -> tuple[Patient, str]:
    """:func:`check_patient_access` that also answers which relationship it found (its audit
    entry names it), for a caller that shows more or less by relationship: one check, not two."""
    found: Patient | None
    if isinstance(patient, Patient):
        found, nhs_number = patient, patient.nhs_number
    else:
        nhs_number = normalise_nhs_number(patient)  # InvalidNhsNumber → 422 in the web layer
        found = session.scalar(select(Patient).where(Patient.nhs_number == nhs_number))
    reason = relationship_for(session, principal, found) if found is not None else None
    if found is None or reason is None:
        audit_refusal(session, principal, action, nhs_number)
        raise PatientAccessDenied(NO_RELATIONSHIP)
    audit_event(session, principal, action, found, reason=reason)
    return found, reason
