"""A completed consultation back to the GP practice: GP Connect Update Record (ITK3, STU3).

Built by the one builder (:mod:`ipmo.fhir.update_record`, shared with referral outcomes) in the
national Pharmacy First shape (``../shared/fhir/gpconnect_update_record/pharmacy-first-service--
example-1.xml``): the Composition typed "Community Pharmacist Consultation Service for minor
illness", the pathway's condition as a ``Condition`` (heading "Presenting complaints or issues"),
each PGD supply as a ``MedicationDispense`` (type "patient-group-direction", quantity, days
supply), and ClinicalImpressions for the clinical summary, plan and information and advice given.
Urgent supply uses the Digital Medicines emergency supply document (event ITK010D) with each
supplied item as a ``MedicationDispense`` of type "emergency-supply".
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ipmo.fhir.bundles import days_duration
from ipmo.fhir.update_record import (
    HEADINGS,
    SD,
    SNOMED,
    UPDATE_RECORD,
    DocumentType,
    UpdateRecord,
    ref,
    update_record_message,
    write_itk_file,
)
from ipmo.patients import Patient
from ipmo.pharmacyfirst.models import Consultation, UpdateRecordMessage
from ipmo.store.outbox import DeliveryReport, deliver_due

PHARMACY_FIRST = DocumentType(
    "1577041000000109",
    "Community Pharmacist Consultation Service for minor illness",
    *UPDATE_RECORD,
)
URGENT_SUPPLY = DocumentType(
    "1218611000000102",
    "Urgent supply of prescription items by community pharmacy",
    "ITK010D",
    "ITK Digital Medicine Emergency Supply Document",
    SD + "CareConnect-ITK-DM-EmergencySupply-Composition-1",
)
SUPPLY_TYPES = {
    "pgd": ("patient-group-direction", "Patient group direction"),
    "protocol": ("clinical-protocol", "Clinical protocol"),
    "emergency-supply": ("emergency-supply", "Emergency supply"),
}
OUTCOME_TEXT = {
    "supplied": "Medicine supplied",
    "advice-given": "Advice given, no supply needed",
    "referred-on": "Referred on",
    "no-supply": "No supply made",
}


def _summary(c: Consultation, pathway_title: str | None) -> str:
    what = pathway_title or "Urgent medicine supply"
    parts = [f"Pharmacy First: {what}", OUTCOME_TEXT.get(c.outcome or "", c.outcome or "")]
    if c.gateway_passed is False and c.gateway_reason:
        parts.append(f"gateway not met ({c.gateway_reason})")
    if c.red_flags:
        parts.append("red flags: " + ", ".join(c.red_flags))
    if c.no_supply_reason:
        parts.append(f"reason: {c.no_supply_reason.replace('-', ' ')}")
    for item in c.items:
        if item.outcome == "supplied":
            parts.append(f"supplied {item.name} ({item.quantity:g} {item.unit or ''})".strip())
        else:
            parts.append(
                f"not supplied {item.name} ({(item.no_supply_reason or '').replace('-', ' ')})"
            )
    return "; ".join(p for p in parts if p) + "."


def _plan(c: Consultation) -> str | None:
    if c.outcome == "referred-on":
        return f"Referred on to {c.referred_to} ({c.referral_urgency})."
    if c.outcome == "no-supply":
        return "No supply made: please review the patient's need for this medicine."
    return None


def _extra(c: Consultation, condition: tuple[str, str] | None):
    def build(refs: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
        out: list[tuple[str, dict[str, Any]]] = []
        day = c.consulted_on.isoformat()
        if condition:
            out.append(
                (
                    "condition",
                    {
                        "resourceType": "Condition",
                        "meta": {
                            "profile": [SD + "CareConnect-GPC-Condition-1"],
                            "tag": [
                                {
                                    "system": HEADINGS,
                                    "code": "presenting-complaints-or-issues",
                                    "display": "Presenting complaints or issues",
                                }
                            ],
                        },
                        "clinicalStatus": "active",
                        "code": {
                            "coding": [
                                {"system": SNOMED, "code": condition[0], "display": condition[1]}
                            ],
                            "text": condition[1],
                        },
                        "subject": ref(refs["patient"]),
                        "context": ref(refs["encounter"]),
                        "assertedDate": day,
                    },
                )
            )
        for n, item in enumerate(i for i in c.items if i.outcome == "supplied"):
            code, display = SUPPLY_TYPES[item.supply_type]
            dispense: dict[str, Any] = {
                "resourceType": "MedicationDispense",
                "meta": {"profile": [SD + "CareConnect-GPC-MedicationDispense-1"]},
                "status": "completed",
                "category": {
                    "coding": [
                        {
                            "system": "http://hl7.org/fhir/medication-dispense-category",
                            "code": "community",
                            "display": "Community",
                        }
                    ],
                    "text": "Community",
                },
                "medicationCodeableConcept": {
                    "coding": (
                        [
                            {
                                "system": "https://dmd.nhs.uk",
                                "code": item.dmd_code,
                                "display": item.name,
                            }
                        ]
                        if item.dmd_code
                        else []
                    ),
                    "text": item.name,
                },
                "subject": ref(refs["patient"]),
                "context": ref(refs["encounter"]),
                "performer": [{"actor": ref(refs["pharmacy"])}],
                "type": {
                    "coding": [
                        {
                            "system": "https://fhir.hl7.org.uk/STU3/CodeSystem/CareConnect-MedicationSupplyType-1",
                            "code": code,
                            "display": display,
                        }
                    ],
                    "text": display,
                },
                "whenHandedOver": day,
            }
            if item.quantity:
                dispense["quantity"] = {"value": item.quantity, "unit": item.unit or ""}
            if item.days:
                dispense["daysSupply"] = days_duration(item.days)
            if item.dose_text:
                dispense["dosageInstruction"] = [{"text": item.dose_text}]
            out.append((f"dispense-{n}", dispense))
        return out

    return build


def consultation_message(
    c: Consultation,
    patient: Patient,
    pharmacy_name: str,
    pathway: tuple[str, str, str] | None,  # (title, condition code, condition display)
    key: str,
    sender_mailbox: str,
    now: datetime,
) -> dict[str, Any]:
    """The ITK3 message Bundle for a completed consultation."""
    if c.status != "completed":
        raise ValueError(f"consultation {c.reference} has no outcome yet")
    content = UpdateRecord(
        document=URGENT_SUPPLY if c.kind == "urgent-supply" else PHARMACY_FIRST,
        sender_reference=c.reference,
        patient_name=f"{patient.given_name} {patient.family_name}",
        nhs_number=patient.nhs_number,
        birth_date=patient.birth_date,
        pharmacy_ods=c.org_code,
        pharmacy_name=pharmacy_name,
        day=c.consulted_on,
        summary=_summary(c, pathway[0] if pathway else None),
        plan=_plan(c),
        advice=c.advice,
        extra=_extra(c, (pathway[1], pathway[2]) if pathway else None),
        identifier_system="urn:ipmo:pharmacy-first-consultation",
    )
    return update_record_message(content, key, sender_mailbox, now)


def deliver_update_records(
    engine: Engine, root: Path, now: datetime | None = None
) -> DeliveryReport:
    """Write the due queued Update Records to ``<root>/<practice ODS>/out/<key>.json`` (the MESH
    client's outbox): at least once, a failure retried with exponential backoff
    (:mod:`ipmo.store.outbox`), a file never written twice for one key."""

    def to_mesh_folder(_session: Session, msg: UpdateRecordMessage) -> None:
        write_itk_file(root, msg.recipient_org_code, msg.idempotency_key, msg.body)

    return deliver_due(engine, UpdateRecordMessage, to_mesh_folder, now)
