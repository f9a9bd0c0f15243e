"""Who may see a referral (not the patient's record: that is :mod:`ipmo.security.policy`).

A referral is seen by the organisations party to it — the referrer (sender or submitting
organisation), the organisation it is with now, the patient's GP practice and the PCN of that
practice — and by ICS-wide roles. Each party is one predicate over :class:`Referral`, used both to
filter lists and to decide one referral (the same :class:`~ipmo.security.policy.Relationship`
machinery as patient access; the practice/PCN rule is the policy's own ``registered_with``).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, true
from sqlalchemy.orm import Session

from ipmo.patients.models import Patient
from ipmo.referrals.models import Referral
from ipmo.security.policy import (
    Relationship,
    any_holds,
    first_holding,
    registered_with,
    relationship_for,
)
from ipmo.security.principal import Principal
from ipmo.security.roles import Activity


def _ics_role(p: Principal) -> ColumnElement[bool]:
    return true() if p.role.ics_wide_patient_access else false()


def _referrer(p: Principal) -> ColumnElement[bool]:
    return or_(Referral.sender_org_code == p.org_code, Referral.submitted_org_code == p.org_code)


def _receiver(p: Principal) -> ColumnElement[bool]:
    return Referral.target_org_code == p.org_code


def _gp(p: Principal) -> ColumnElement[bool]:
    return registered_with(p, Referral.practice_code)


REFERRAL_PARTIES = (
    Relationship("ics-role", _ics_role),
    Relationship("referrer", _referrer),
    Relationship("receiver", _receiver),
    Relationship("gp-practice", _gp),
)


OTHER_PARTIES = tuple(p for p in REFERRAL_PARTIES if p.name != "referrer")


def referrals_filter(principal: Principal) -> ColumnElement[bool]:
    """WHERE clause over :class:`Referral`: the referrals this principal may see."""
    if not principal.can(Activity.REFERRAL_VIEW):
        return false()
    return any_holds(REFERRAL_PARTIES, principal)


def involvement(session: Session, principal: Principal, ref: Referral) -> str | None:
    """Why this principal may see this referral, or ``None``."""
    if not principal.can(Activity.REFERRAL_VIEW):
        return None
    return first_holding(session, REFERRAL_PARTIES, principal, Referral.id == ref.id)


def sees_as_sent(session: Session, principal: Principal, ref: Referral) -> bool:
    """Whether this principal sees the referral only as its organisation sent it: the sender's
    only tie is the referral, and the patient fields the store filled in from the record
    (``Referral.from_record``) are record data it has no relationship for (issue 12: "the sender
    sees the referral it sent, not the record, unless it has its own relationship"). A sender
    that is also the receiver, the patient's practice, an ICS-wide role, or related to the
    patient (registration, nomination, admission …) sees the referral as everyone else does."""
    if not ref.from_record or principal.org_code not in (
        ref.sender_org_code,
        ref.submitted_org_code,
    ):
        return False
    if first_holding(session, OTHER_PARTIES, principal, Referral.id == ref.id) is not None:
        return False
    patient = session.get(Patient, ref.patient_id) if ref.patient_id is not None else None
    return patient is None or relationship_for(session, principal, patient) is None
