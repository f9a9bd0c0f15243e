"""Outcomes to the GP practice as GP Connect Update Record messages (ITK3, FHIR STU3), for MESH.

NHS England's route for a community pharmacy consultation to reach the patient's GP record is
**GP Connect: Update Record** — an ITK3 message Bundle (FHIR STU3, CareConnect / GPC profiles) sent
over MESH, which the GP system shows to the practice to review and file (../shared/fhir/STANDARDS.md
§4.3). Its shape here follows the assured examples in
``../shared/fhir/gpconnect_examples/simplifier_stu3/`` (``pharmacy-first-service--example-1.xml``,
``blood-pressure-check-service--example-1.xml``, ``contraception-service--example-1.xml``) and, for
urgent supply, the Digital Medicines "Emergency Supply of Medicines" message
(``Example-DigiMeds-Emergency-Supply-Of-Medicines-1.xml``):

    Bundle (message, ITK-Message-Bundle-1)
      MessageHeader (ITK-MessageHeader-2: handling extension, event ITK014M / ITK010D, focus →)
      Organization  (CareConnect-ITK-Header-Organization-1: the sending pharmacy)
      Bundle (document, ITK-Document-Bundle-1)
        Composition (type = the service's SNOMED CT code; one section listing the entries)
        Patient, Organization (pharmacy), Encounter (finished, "Seen in primary care
        establishment"), ClinicalImpression tagged with PRSB headings (clinical summary = the
        outcome; plan and requested actions = escalation / no-supply follow-up)

Only services the Update Record scope covers get a message (Pharmacy First, blood pressure check,
contraception; urgent supply as the DigiMeds emergency-supply document). Discharge Medicines
Service and escalations are not in that scope, so they reach the practice through ipmo's own
inbox only (:func:`ipmo.referrals.outbox.local_inbox`).

:func:`itk_folder_transport` is an outbox transport: it records the notice in ipmo's inbox (the
referrer's pages read it) and, for a GP practice, writes the message into a MESH client's
folder-based outbox, ``<root>/<practice ODS>/out/<key>.json``, atomically (temporary file +
rename) and once per idempotency key — so a retried delivery never writes it twice.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.organisations.models import Organisation, OrgKind
from ipmo.referrals.catalogue import ReferralService
from ipmo.referrals.lifecycle import Outcome
from ipmo.referrals.models import OutboxMessage, Referral
from ipmo.referrals.outbox import Transport, local_inbox

SNOMED = "http://snomed.info/sct"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
ITK_EVENTS = "https://fhir.nhs.uk/STU3/CodeSystem/ITK-MessageEvent-2"
HEADINGS = "https://fhir.nhs.uk/CodeSystem/RecordStandardHeadings"
_SD = "https://fhir.nhs.uk/STU3/StructureDefinition/"
_UK_SD = "https://fhir.hl7.org.uk/STU3/StructureDefinition/"
# A fixed namespace so the same outbox row always yields the same resource ids (re-sends match).
_NAMESPACE = uuid.UUID("6f1c7d3e-3b0a-4c57-9a53-2f4f4c0d9e11")


# service → (Composition.type SNOMED CT code, display, ITK event code, event display, profile)
DOCUMENT_TYPES: dict[str, tuple[str, str, str, str, str]] = {
    ReferralService.PHARMACY_FIRST: (
        "1577041000000109",
        "Community Pharmacist Consultation Service for minor illness",
        "ITK014M",
        "ITK Update Record",
        _UK_SD + "CareConnect-Composition-1",
    ),
    ReferralService.BP_CHECK: (
        "1659111000000107",
        "Community Pharmacy Blood Pressure Check Service",
        "ITK014M",
        "ITK Update Record",
        _UK_SD + "CareConnect-Composition-1",
    ),
    ReferralService.CONTRACEPTION: (
        "1659121000000101",
        "Community Pharmacy Contraception Service",
        "ITK014M",
        "ITK Update Record",
        _UK_SD + "CareConnect-Composition-1",
    ),
    ReferralService.URGENT_SUPPLY: (
        "1218611000000102",
        "Urgent supply of prescription items by community pharmacy",
        "ITK010D",
        "ITK Digital Medicine Emergency Supply Document",
        _SD + "CareConnect-ITK-DM-EmergencySupply-Composition-1",
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


def _urn(key: str, part: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{key}/{part}')}"


def _entry(full_url: str, resource: dict) -> dict:
    return {"fullUrl": full_url, "resource": resource}


def _ref(full_url: str) -> dict:
    return {"reference": full_url}


def _impression(
    url: str, heading: str, display: str, summary: str, patient: str, enc: str, day: str
) -> dict:
    return _entry(
        url,
        {
            "resourceType": "ClinicalImpression",
            "meta": {
                "profile": [_SD + "CareConnect-GPC-ClinicalImpression-1"],
                "tag": [{"system": HEADINGS, "code": heading, "display": display}],
            },
            "status": "completed",
            "subject": _ref(patient),
            "context": _ref(enc),
            "date": day,
            "summary": summary,
        },
    )


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
    code, display, event, event_display, composition_profile = DOCUMENT_TYPES[ref.service]
    stamp = now.replace(tzinfo=UTC).isoformat()
    day = (ref.completed_at or now).date().isoformat()
    url = {part: _urn(key, part) for part in ("header", "sender", "document", "composition")}
    url |= {part: _urn(key, part) for part in ("patient", "pharmacy", "encounter")}
    url |= {"summary": _urn(key, "summary"), "plan": _urn(key, "plan")}
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "meta": {"profile": [_SD + "CareConnect-GPC-Patient-1"]},
        "name": [{"use": "official", "text": ref.patient_name}],
    }
    if ref.nhs_number:
        patient["identifier"] = [{"system": NHS_NUMBER, "value": ref.nhs_number}]
    if ref.birth_date:
        patient["birthDate"] = ref.birth_date.isoformat()
    ods = [{"system": ODS, "value": pharmacy.ods_code}]
    entries = [
        _entry(url["patient"], patient),
        _entry(
            url["pharmacy"],
            {
                "resourceType": "Organization",
                "meta": {"profile": [_SD + "CareConnect-GPC-Organization-1"]},
                "identifier": ods,
                "name": pharmacy.name,
            },
        ),
        _entry(
            url["encounter"],
            {
                "resourceType": "Encounter",
                "meta": {"profile": [_SD + "CareConnect-GPC-Encounter-1"]},
                "identifier": [{"system": "urn:ipmo:referral", "value": ref.reference}],
                "status": "finished",
                "type": [
                    {
                        "coding": [
                            {
                                "system": SNOMED,
                                "code": "307778003",
                                "display": "Seen in primary care establishment",
                            }
                        ]
                    }
                ],
                "subject": _ref(url["patient"]),
                "period": {"start": day},
                "reason": [{"coding": [{"system": SNOMED, "code": code, "display": display}]}],
                "serviceProvider": _ref(url["pharmacy"]),
            },
        ),
        _impression(
            url["summary"],
            "clinical-summary",
            "Clinical summary",
            _summary(ref),
            url["patient"],
            url["encounter"],
            day,
        ),
    ]
    if plan := _plan(ref):
        entries.append(
            _impression(
                url["plan"],
                "plan-requested-actions",
                "Plan and requested actions",
                plan,
                url["patient"],
                url["encounter"],
                day,
            )
        )
    composition = {
        "resourceType": "Composition",
        "meta": {"profile": [composition_profile]},
        "identifier": {"system": "urn:ipmo:update-record", "value": url["composition"][9:]},
        "status": "final",
        "type": {"coding": [{"system": SNOMED, "code": code, "display": display}], "text": display},
        "subject": _ref(url["patient"]),
        "encounter": _ref(url["encounter"]),
        "date": day,
        "author": [_ref(url["pharmacy"])],
        "title": f"{pharmacy.name} - {display}",
        "section": [{"entry": [_ref(e["fullUrl"]) for e in entries]}],
    }
    document = {
        "resourceType": "Bundle",
        "meta": {"profile": [_SD + "ITK-Document-Bundle-1"]},
        "identifier": {"system": "urn:ipmo:update-record", "value": url["document"][9:]},
        "type": "document",
        "entry": [_entry(url["composition"], composition), *entries],
    }
    handling: list[tuple[str, dict[str, Any]]] = [
        ("BusAckRequested", {"valueBoolean": True}),
        ("InfAckRequested", {"valueBoolean": True}),
        (
            "RecipientType",
            {
                "valueCoding": {
                    "system": "https://fhir.nhs.uk/STU3/CodeSystem/ITK-RecipientType-1",
                    "code": "FA",
                    "display": "For Action",
                }
            },
        ),
        ("SenderReference", {"valueString": ref.reference}),
        ("LocalExtension", {"valueString": "None"}),
    ]
    header = {
        "resourceType": "MessageHeader",
        "meta": {"profile": [_SD + "ITK-MessageHeader-2"]},
        "extension": [
            {
                "url": _SD + "Extension-ITK-MessageHandling-2",
                "extension": [{"url": name, **value} for name, value in handling],
            }
        ],
        "event": {"system": ITK_EVENTS, "code": event, "display": event_display},
        "sender": _ref(url["sender"]),
        "timestamp": stamp,
        "source": {"endpoint": sender_mailbox},
        "focus": [_ref(url["document"])],
    }
    return {
        "resourceType": "Bundle",
        "meta": {"profile": [_SD + "ITK-Message-Bundle-1"]},
        "identifier": {"system": "urn:ipmo:itk-message", "value": url["header"][9:]},
        "type": "message",
        "entry": [
            _entry(url["header"], header),
            _entry(
                url["sender"],
                {
                    "resourceType": "Organization",
                    "meta": {"profile": [_SD + "CareConnect-ITK-Header-Organization-1"]},
                    "identifier": ods,
                    "name": pharmacy.name,
                },
            ),
            _entry(url["document"], document),
        ],
    }


def _file_name(key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, key)) + ".json"


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
        if not in_scope(ref) or not ref.target_org_code:
            return
        folder = root / recipient.ods_code / "out"
        target = folder / _file_name(message.idempotency_key)
        if target.exists():  # delivered before (the process died before marking it)
            return
        pharmacy = session.scalar(
            select(Organisation).where(Organisation.ods_code == ref.target_org_code)
        )
        if pharmacy is None:
            raise LookupError(f"pharmacy {ref.target_org_code} is not in the directory")
        body = update_record_message(
            ref, pharmacy, message.idempotency_key, sender_mailbox, message.created_at
        )
        folder.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        partial.write_text(json.dumps(body, indent=1))
        os.replace(partial, target)

    return send
