"""What the Pharmacy First domain offers other domains, found by name (``ipmo.hooks``).

* ``PHARMACY_FIRST_CONSULTATIONS`` — ``consultation_rows(session, month=None, org_codes=None)``:
  one dict per consultation (no patient identifiers; fields ``figures.ROW_FIELDS``): kind
  (clinical-pathway / urgent-supply), channel, referral reference, pharmacy, month, pathway and
  its version, gateway passed, outcome (the referrals vocabulary), no-supply reason, items
  supplied / not supplied.
* ``PHARMACY_FIRST_FIGURES`` — ``consultation_figures(session, month=None, org_codes=None)``:
  ``{(pharmacy, "YYYY-MM"): {consultations, completed, items_supplied, no_supply, …}}``, the
  same rows summed (definitions in :mod:`ipmo.pharmacyfirst.figures`).
* ``UPDATE_RECORD_SENT`` — ``fn(session, referral_reference) -> bool``: a consultation for that
  referral sent its own Update Record (the referrals outbox then sends none: one message per
  encounter).
* ``OUTBOX_DELIVERIES`` — ``{"pharmacy first update records": fn(engine, mesh_root, now=None)
  -> ipmo.store.outbox.DeliveryReport}``: the queued Update Records to the MESH folder (the
  referrals worker runs it on every sweep when it has a MESH outbox folder).
* ``PATIENT_RELATIONSHIPS`` — read by the access policy: a pharmacy that has a Pharmacy First
  consultation with a patient may open that patient's record (it holds the clinical record of
  that consultation).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from ipmo.patients import Patient
from ipmo.pharmacyfirst.figures import consultation_figures, consultation_rows
from ipmo.pharmacyfirst.models import Consultation
from ipmo.pharmacyfirst.update_record import deliver_update_records
from ipmo.security.policy import Relationship
from ipmo.security.principal import Principal

PHARMACY_FIRST_CONSULTATIONS = consultation_rows
PHARMACY_FIRST_FIGURES = consultation_figures


def update_record_sent(session: Session, referral_reference: str) -> bool:
    return (
        session.scalar(
            select(Consultation.id)
            .where(
                Consultation.referral_reference == referral_reference,
                Consultation.update_record_sent_at.is_not(None),
            )
            .limit(1)
        )
        is not None
    )


UPDATE_RECORD_SENT = update_record_sent
OUTBOX_DELIVERIES = {"Pharmacy First Update Records": deliver_update_records}


def _consulted_here(principal: Principal) -> ColumnElement[bool]:
    return exists().where(
        Consultation.patient_id == Patient.id, Consultation.org_code == principal.org_code
    )


def _any_consulted_here(principal: Principal) -> ColumnElement[bool]:
    # ix_pf_consultations_org_day
    return exists().where(Consultation.org_code == principal.org_code)


PATIENT_RELATIONSHIPS = [
    Relationship("pharmacy-first-consultation", _consulted_here, _any_consulted_here)
]
