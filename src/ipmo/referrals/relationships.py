"""The "open referral" legitimate relationship (asked by ipmo.security.relationships).

While a referral for a patient is open, the organisation that sent it and the pharmacy (or
practice) it is with may open that patient's record; once it closes, that access ends (the
referral itself stays visible to them through the referrals API).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ipmo.patients.models import Patient
from ipmo.referrals.service import open_referral_exists
from ipmo.security.principal import Principal
from ipmo.security.relationships import relationship_provider


@relationship_provider
def open_referral(session: Session, principal: Principal, patient: Patient) -> str | None:
    if open_referral_exists(session, principal.org_code, patient.nhs_number):
        return "open-referral"
    return None
