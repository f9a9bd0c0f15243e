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

from ipmo.referrals.models import Referral
from ipmo.security.policy import Relationship, any_holds, first_holding, registered_with
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
