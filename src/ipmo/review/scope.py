"""Which worklist rows a signed-in user may see: their practice, the practices of their PCN, the
residents of their care home, or the whole ICS for ICS-wide medicines-safety roles. Anyone else
sees an empty list (the worklist names patients, so it follows the relationship rules)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, false, true

from ipmo.organisations.models import Organisation, OrgKind
from ipmo.review.models import WorklistEntry


def worklist_filter(session: Session, principal) -> ColumnElement[bool]:
    if principal.role.ics_wide_patient_access:
        return true()
    kind = session.scalar(
        select(Organisation.kind).where(Organisation.ods_code == principal.org_code)
    )
    if kind == OrgKind.PCN:
        return WorklistEntry.pcn_code == principal.org_code
    if kind == OrgKind.PRACTICE:
        return WorklistEntry.practice_code == principal.org_code
    if kind == OrgKind.CARE_HOME:
        return WorklistEntry.care_home_code == principal.org_code
    return false()
