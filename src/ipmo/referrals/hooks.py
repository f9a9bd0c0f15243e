"""What the referrals domain offers other domains, found by name (``ipmo.hooks``).

* ``PHARMACY_ACTIVITY_FIGURES`` — ``activity_figures(session, by=…, month=…, service=…)``: the
  service figures per pharmacy, PCN, place or ICB (one definition, ``referrals/figures.py``).
* ``SERVICE_FIGURE_COUNTS`` — ``service_counts(session, key="pharmacy"|"practice", since, until)``:
  the additive counts per service × month × organisation that every grouping sums (the workforce
  service evaluation and the plan's ``services.*`` metrics read them).
* ``REFERRAL_LEAKAGE`` — ``referral_leakage(session, since, until, service)``: practices that
  refer little against their list size and the pharmacies near them (the services page shows it).
* ``OPERATIONS_GAUGES`` — the outbox and overdue-sweep queue readings on ``/metrics``.
* ``OPEN_REFERRALS`` — ``open_referrals(session, principal, nhs_number)``: the patient's open
  referrals the user's organisation is party to (the care-home resident page lists them).
* ``PATIENT_RELATIONSHIPS`` — read by the access policy (:mod:`ipmo.security.policy`): while a
  referral for a patient is open, the organisation it was sent TO (the pharmacy, or the GP practice
  / NHS 111 service an escalation went to) may open that patient's record; once it closes, that
  access ends. Sending a referral gives the sender nothing: it sees the referral it sent (status,
  outcome) through the referrals API, and the record only through a relationship of its own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists
from sqlalchemy.orm import Session

from ipmo.patients.models import Patient
from ipmo.referrals.actions import list_visible
from ipmo.referrals.figures import activity_figures, referral_leakage, service_counts
from ipmo.referrals.gauges import queue_gauges
from ipmo.referrals.labels import STATUS
from ipmo.referrals.lifecycle import OPEN
from ipmo.referrals.models import Referral
from ipmo.security.policy import Relationship
from ipmo.security.principal import Principal

PHARMACY_ACTIVITY_FIGURES = activity_figures
SERVICE_FIGURE_COUNTS = service_counts
REFERRAL_LEAKAGE = referral_leakage
OPERATIONS_GAUGES = queue_gauges


def open_referrals(session: Session, principal: Principal, nhs_number: str) -> list[dict[str, Any]]:
    """The patient's open referrals the principal's organisation is party to, newest first
    (``list_visible``: the referrals' own filter, audited there): reference, service code,
    status as people read it, when sent and to whom."""
    return [
        {
            "reference": r.reference,
            "service": r.service,
            "status": STATUS.get(r.status, r.status),  # type: ignore[call-overload]
            "sent": r.created_at,
            "to": r.target_org_code,
        }
        for r in list_visible(session, principal, nhs_number=nhs_number)
        if r.status in OPEN
    ]


OPEN_REFERRALS = open_referrals


def _received_open_referral(principal: Principal) -> ColumnElement[bool]:
    return exists().where(
        Referral.nhs_number == Patient.nhs_number,
        Referral.target_org_code == principal.org_code,
        Referral.status.in_([s.value for s in OPEN]),
    )


def _any_open_referral_received(principal: Principal) -> ColumnElement[bool]:
    return exists().where(
        Referral.target_org_code == principal.org_code,
        Referral.status.in_([s.value for s in OPEN]),
    )  # ix_referrals_target_status


PATIENT_RELATIONSHIPS = [
    Relationship("open-referral", _received_open_referral, _any_open_referral_received)
]
