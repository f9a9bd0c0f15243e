"""Referral outcomes to the GP practice as GP Connect Update Record messages (ITK3, STU3), for MESH.

The message itself is built by :mod:`ipmo.fhir.update_record` (the one builder, shared with the
Pharmacy First consultations); this module fills it from a referral's outcome. Only services the
Update Record scope covers get a message (Pharmacy First, blood pressure check, contraception;
urgent supply as the Digital Medicines "Emergency Supply of Medicines" document, event ITK010D).
Discharge Medicines Service and escalations are not in that scope, so they reach the practice
through ipmo's own inbox only (:func:`ipmo.referrals.outbox.local_inbox`). A referral whose
Pharmacy First consultation sent its own Update Record (the ``UPDATE_RECORD_SENT`` hook) gets no
second one.

:func:`itk_folder_transport` is an outbox transport: it records the notice in ipmo's inbox (the
referrer's pages read it) and, for a GP practice, writes the message into a MESH client's
folder-based outbox, ``<root>/<practice ODS>/out/<key>.json``, atomically and once per
idempotency key (:func:`ipmo.fhir.update_record.write_itk_file`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo import hooks
from ipmo.fhir.update_record import (
    SD,
    UPDATE_RECORD,
    DocumentType,
    UpdateRecord,
    write_itk_file,
)
from ipmo.fhir.update_record import update_record_message as build_message
from ipmo.organisations.models import Organisation, OrgKind
from ipmo.referrals.catalogue import ReferralService
from ipmo.referrals.lifecycle import Outcome
from ipmo.referrals.models import OutboxMessage, Referral
from ipmo.referrals.outbox import Transport, local_inbox

DOCUMENT_TYPES: dict[str, DocumentType] = {
    ReferralService.PHARMACY_FIRST: DocumentType(
        "1577041000000109",
        "Community Pharmacist Consultation Service for minor illness",
        *UPDATE_RECORD,
    ),
    ReferralService.BP_CHECK: DocumentType(
        "1659111000000107", "Community Pharmacy Blood Pressure Check Service", *UPDATE_RECORD
    ),
    ReferralService.CONTRACEPTION: DocumentType(
        "1659121000000101", "Community Pharmacy Contraception Service", *UPDATE_RECORD
    ),
    ReferralService.URGENT_SUPPLY: DocumentType(
        "1218611000000102",
        "Urgent supply of prescription items by community pharmacy",
        "ITK010D",
        "ITK Digital Medicine Emergency Supply Document",
        SD + "CareConnect-ITK-DM-EmergencySupply-Composition-1",
    ),
}

OUTCOME_TEXT = {
    Outcome.SUPPLIED: "Medicine supplied",
    Outcome.NO_SUPPLY: "No supply made",
    Outcome.ADVICE_GIVEN: "Advice given, no supply needed",
    Outcome.REFERRED_ON: "Referred on",
}


def in_scope(ref: Referral) -> bool:
    """Whether this referral's outcome is sent as an Update Record / DigiMeds message."""
    return ref.service in DOCUMENT_TYPES and ref.business_status in OUTCOME_TEXT


def _sent_elsewhere(session: Session, ref: Referral) -> bool:
    """A domain (Pharmacy First) sent its own Update Record for this referral's consultation."""
    return any(sent(session, ref.reference) for sent in hooks.offered("UPDATE_RECORD_SENT"))


def _summary(ref: Referral) -> str:
    if ref.business_status is None:
        raise ValueError(f"referral {ref.reference} has no outcome to report")
    parts = [OUTCOME_TEXT[Outcome(ref.business_status)]]
    if ref.outcome_reason:
        parts.append(f"reason: {ref.outcome_reason.replace('-', ' ')}")
    text = "; ".join(parts) + "."
    if ref.outcome_note:
        text += " " + ref.outcome_note
    return text


def _plan(ref: Referral) -> str | None:
    if ref.escalated_to:
        where = ref.escalated_to.replace("-", " ")
        return f"Referred on to {where} (ipmo referral {ref.reference})."
    if ref.business_status == Outcome.NO_SUPPLY:
        return "No supply made: please review the patient's need for this medicine."
    return None


def update_record_message(
    ref: Referral, pharmacy: Organisation, key: str, sender_mailbox: str, now: datetime
) -> dict[str, Any]:
    """The ITK3 message Bundle (STU3 JSON) carrying ``ref``'s outcome to its GP practice."""
    if not in_scope(ref):
        raise ValueError(f"no Update Record message for service {ref.service!r}")
    content = UpdateRecord(
        document=DOCUMENT_TYPES[ref.service],
        sender_reference=ref.reference,
        patient_name=ref.patient_name,
        nhs_number=ref.nhs_number,
        birth_date=ref.birth_date,
        pharmacy_ods=pharmacy.ods_code,
        pharmacy_name=pharmacy.name,
        day=(ref.completed_at or now).date(),
        summary=_summary(ref),
        plan=_plan(ref),
    )
    return build_message(content, key, sender_mailbox, now)


def itk_folder_transport(root: Path, sender_mailbox: str = "IPMO-OUTBOX") -> Transport:
    """An outbox transport: ipmo's own inbox, plus an ITK3 file for in-scope GP outcomes."""

    def send(session: Session, message: OutboxMessage) -> None:
        local_inbox(session, message)
        if message.kind != "outcome":
            return
        recipient = session.scalar(
            select(Organisation).where(Organisation.ods_code == message.recipient_org_code)
        )
        ref = session.get(Referral, message.referral_id)
        if recipient is None or recipient.kind != OrgKind.PRACTICE or ref is None:
            return
        if not in_scope(ref) or not ref.target_org_code or _sent_elsewhere(session, ref):
            return
        pharmacy = session.scalar(
            select(Organisation).where(Organisation.ods_code == ref.target_org_code)
        )
        if pharmacy is None:
            raise LookupError(f"pharmacy {ref.target_org_code} is not in the directory")
        body = update_record_message(
            ref, pharmacy, message.idempotency_key, sender_mailbox, message.created_at
        )
        write_itk_file(root, recipient.ods_code, message.idempotency_key, body)

    return send
