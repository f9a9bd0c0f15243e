"""A referral's trail: every change appends one :class:`ReferralEvent` and writes one audit
entry in the same unit of work, and is flushed so that a lost race (the ``version`` column)
surfaces as :class:`ReferralConflict` (HTTP 409)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ipmo.patients.models import Patient
from ipmo.referrals.errors import ReferralConflict
from ipmo.referrals.models import Referral, ReferralEvent
from ipmo.security.access import audit_event
from ipmo.security.principal import Principal
from ipmo.security.roles import Role

SYSTEM_ORG = "SYSTEM"


SYSTEM = Principal(
    0,
    "system:referrals-worker",
    "Referrals worker",
    Role(
        "system", "System worker", "Escalates overdue referrals and delivers outcomes.", frozenset()
    ),
    SYSTEM_ORG,
)


def patient_stub(ref: Referral) -> Patient | None:
    """A transient Patient carrying only the NHS number, so the audit entry names the patient
    even when they are not registered in this ICS. Never added to the session."""
    return Patient(nhs_number=ref.nhs_number) if ref.nhs_number else None


def record_event(
    session: Session,
    principal: Principal,
    ref: Referral,
    kind: str,
    before: str | None,
    now: datetime,
    detail: dict | None = None,
    audit_reason: str | None = None,
) -> ReferralEvent:
    if ref.id is not None:  # a new referral is inserted with its event, in one flush
        save(session)  # the referral's versioned UPDATE first, so a lost race surfaces here
    event = ReferralEvent(
        referral=ref,
        at=now,
        kind=kind,
        from_status=before,
        to_status=ref.status,
        org_code=principal.org_code,
        username=principal.username,
        detail=detail,
    )
    session.add(event)
    audit_event(
        session,
        principal,
        f"referral.{kind}",
        patient_stub(ref),
        {"referral": ref.reference, "from": before, "to": ref.status, **(detail or {})},
        reason=audit_reason,
    )
    return event


def save(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise ReferralConflict(
            "this referral was changed by someone else while you were working on it (for "
            "example accepted by another pharmacist); reload it to see where it is now"
        ) from None
