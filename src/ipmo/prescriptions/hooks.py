"""What the prescriptions domain offers other domains, found by name (``ipmo.hooks``).

* ``PATIENT_RELATIONSHIPS`` — read by the access policy (:mod:`ipmo.security.policy`): the
  organisation that issued an EPS prescription for a patient (e.g. the NHS 111 service's
  prescriber) or that downloaded or dispensed it (the pharmacy) has a relationship with that
  patient; :mod:`ipmo.prescriptions.actions` limits what it shows to those prescriptions.
* ``SERVICE_DASHBOARD_FIGURES`` — ``stuck_figures(session, now)``: how many urgent prescriptions
  are stuck (not downloaded within their pharmacy's opening hours), the longest wait in open
  hours and how many pharmacies have one; no patient data.
* ``OPERATIONS_GAUGES`` — the same count on ``/metrics``.
* ``DISPENSED_SUPPLIES`` — ``dispensed_supplies(session, nhs_numbers, since, until)``: the items
  EPS dispense notifications say were handed over to those patients, with quantity and time (the
  care-homes domain's supplied-versus-administered waste figures); the caller checks access.
* ``DEMO_DISPENSES`` — demo only: a domain's demo stores supplies as dispensed EPS prescriptions
  (the care-homes demo's monthly supplies to the homes' residents).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, exists, or_
from sqlalchemy.orm import Session

from ipmo.patients.models import Patient
from ipmo.prescriptions.models import Prescription
from ipmo.prescriptions.stuck import stuck_figures
from ipmo.prescriptions.supplies import dispensed_supplies, record_demo_dispenses
from ipmo.security.policy import Relationship
from ipmo.security.principal import Principal


def _eps_prescription(principal: Principal) -> ColumnElement[bool]:
    org = principal.org_code
    return exists().where(
        Prescription.nhs_number == Patient.nhs_number,
        or_(Prescription.prescriber_org == org, Prescription.dispenser_org == org),
    )


def _any_eps_prescription(principal: Principal) -> ColumnElement[bool]:
    # ix_eps_prescriptions_prescriber_org, ix_eps_prescriptions_dispenser_org: without this test
    # every list of patients ran the sub-query above once per patient for every user (issue 20:
    # 45 of a PCN worklist page's 70 ms, for an organisation that prescribes and dispenses nothing)
    org = principal.org_code
    return or_(
        exists().where(Prescription.prescriber_org == org),
        exists().where(Prescription.dispenser_org == org),
    )


PATIENT_RELATIONSHIPS = [Relationship("eps-prescription", _eps_prescription, _any_eps_prescription)]

SERVICE_DASHBOARD_FIGURES = stuck_figures


def _gauges(session: Session, now: datetime) -> dict[str, tuple[str, float]]:
    figures = stuck_figures(session, now)
    return {
        "ipmo_prescriptions_stuck_urgent": (
            "Urgent EPS prescriptions not downloaded within their pharmacy's opening hours",
            figures["stuck_urgent_prescriptions"],
        )
    }


OPERATIONS_GAUGES = _gauges

DISPENSED_SUPPLIES = dispensed_supplies
DEMO_DISPENSES = record_demo_dispenses
