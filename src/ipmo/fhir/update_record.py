"""GP Connect Update Record (ITK3, FHIR STU3) message Bundles: the one builder every domain uses.

NHS England's route for a community pharmacy consultation to reach the patient's GP record is
**GP Connect: Update Record** — an ITK3 message Bundle (FHIR STU3, CareConnect / GPC profiles) sent
over MESH, which the GP system shows to the practice to review and file (../shared/fhir/STANDARDS.md
§4.3). The shape follows the assured examples (``../shared/fhir/gpconnect_update_record/``:
Pharmacy First, blood pressure check and contraception):

    Bundle (message, ITK-Message-Bundle-1)
      MessageHeader (ITK-MessageHeader-2: handling extension, event ITK014M / ITK010D, focus →)
      Organization  (CareConnect-ITK-Header-Organization-1: the sending pharmacy)
      Bundle (document, ITK-Document-Bundle-1)
        Composition (type = the service's SNOMED CT code; one section listing the entries)
        Patient, Organization (pharmacy), Encounter (finished, "Seen in primary care
        establishment"), then what the caller adds (Condition, MedicationDispense, …) and the
        ClinicalImpressions tagged with PRSB headings (clinical summary; plan and requested
        actions; information and advice given)

The referrals domain fills it from a referral's outcome, the Pharmacy First domain from a
consultation (with the condition and the PGD supply). :func:`write_itk_file` puts a message in a
MESH client's folder-based outbox atomically and once per key.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

SNOMED = "http://snomed.info/sct"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
ITK_EVENTS = "https://fhir.nhs.uk/STU3/CodeSystem/ITK-MessageEvent-2"
HEADINGS = "https://fhir.nhs.uk/CodeSystem/RecordStandardHeadings"
SD = "https://fhir.nhs.uk/STU3/StructureDefinition/"
UK_SD = "https://fhir.hl7.org.uk/STU3/StructureDefinition/"
# A fixed namespace so the same key always yields the same resource ids (re-sends match).
_NAMESPACE = uuid.UUID("6f1c7d3e-3b0a-4c57-9a53-2f4f4c0d9e11")


@dataclass(frozen=True)
class DocumentType:
    code: str  # Composition.type (SNOMED CT)
    display: str
    event: str  # ITK event code
    event_display: str
    profile: str  # Composition profile


UPDATE_RECORD = ("ITK014M", "ITK Update Record", UK_SD + "CareConnect-Composition-1")


@dataclass
class UpdateRecord:
    """What one Update Record says: who, where, when, and the headed entries."""

    document: DocumentType
    sender_reference: str  # the sender's own id for the encounter (referral / consultation)
    patient_name: str
    nhs_number: str | None
    birth_date: date | None
    pharmacy_ods: str
    pharmacy_name: str
    day: date
    summary: str  # "Clinical summary" heading
    plan: str | None = None  # "Plan and requested actions" heading
    advice: str | None = None  # "Information and advice given" heading
    # more document entries: fn(refs) -> [(part, resource)], refs = {"patient", "encounter",
    # "pharmacy"} → their fullUrls
    extra: Callable[[dict[str, str]], list[tuple[str, dict[str, Any]]]] | None = None
    identifier_system: str = "urn:ipmo:referral"


def urn(key: str, part: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{key}/{part}')}"


def entry(full_url: str, resource: dict) -> dict:
    return {"fullUrl": full_url, "resource": resource}


def ref(full_url: str) -> dict:
    return {"reference": full_url}


def _pharmacy(content: UpdateRecord, profile: str) -> dict:
    """The pharmacy that sends the message, as an Organization of the CareConnect ``profile``."""
    return {
        "resourceType": "Organization",
        "meta": {"profile": [SD + profile]},
        "identifier": [{"system": ODS, "value": content.pharmacy_ods}],
        "name": content.pharmacy_name,
    }


def _impression(
    url: str, heading: tuple[str, str], summary: str, patient: str, enc: str, day: str
) -> dict:
    return entry(
        url,
        {
            "resourceType": "ClinicalImpression",
            "meta": {
                "profile": [SD + "CareConnect-GPC-ClinicalImpression-1"],
                "tag": [{"system": HEADINGS, "code": heading[0], "display": heading[1]}],
            },
            "status": "completed",
            "subject": ref(patient),
            "context": ref(enc),
            "date": day,
            "summary": summary,
        },
    )


def update_record_message(
    content: UpdateRecord, key: str, sender_mailbox: str, now: datetime
) -> dict[str, Any]:
    """The ITK3 message Bundle (STU3 JSON) carrying ``content`` to the GP practice."""
    doc = content.document
    stamp = now.replace(tzinfo=UTC).isoformat()
    day = content.day.isoformat()
    url = {part: urn(key, part) for part in ("header", "sender", "document", "composition")}
    url |= {part: urn(key, part) for part in ("patient", "pharmacy", "encounter")}
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "meta": {"profile": [SD + "CareConnect-GPC-Patient-1"]},
        "name": [{"use": "official", "text": content.patient_name}],
    }
    if content.nhs_number:
        patient["identifier"] = [{"system": NHS_NUMBER, "value": content.nhs_number}]
    if content.birth_date:
        patient["birthDate"] = content.birth_date.isoformat()
    entries = [
        entry(url["patient"], patient),
        entry(url["pharmacy"], _pharmacy(content, "CareConnect-GPC-Organization-1")),
        entry(
            url["encounter"],
            {
                "resourceType": "Encounter",
                "meta": {"profile": [SD + "CareConnect-GPC-Encounter-1"]},
                "identifier": [
                    {"system": content.identifier_system, "value": content.sender_reference}
                ],
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
                "subject": ref(url["patient"]),
                "period": {"start": day},
                "reason": [
                    {"coding": [{"system": SNOMED, "code": doc.code, "display": doc.display}]}
                ],
                "serviceProvider": ref(url["pharmacy"]),
            },
        ),
    ]
    refs = {k: url[k] for k in ("patient", "encounter", "pharmacy")}
    if content.extra is not None:
        entries += [entry(urn(key, part), res) for part, res in content.extra(refs)]
    headed = [
        ("summary", ("clinical-summary", "Clinical summary"), content.summary),
        ("plan", ("plan-requested-actions", "Plan and requested actions"), content.plan),
        (
            "advice",
            ("information-and-advice-given", "Information and advice given"),
            content.advice,
        ),
    ]
    for part, heading, text in headed:
        if text:
            entries.append(
                _impression(urn(key, part), heading, text, url["patient"], url["encounter"], day)
            )
    composition = {
        "resourceType": "Composition",
        "meta": {"profile": [doc.profile]},
        "identifier": {"system": "urn:ipmo:update-record", "value": url["composition"][9:]},
        "status": "final",
        "type": {
            "coding": [{"system": SNOMED, "code": doc.code, "display": doc.display}],
            "text": doc.display,
        },
        "subject": ref(url["patient"]),
        "encounter": ref(url["encounter"]),
        "date": day,
        "author": [ref(url["pharmacy"])],
        "title": f"{content.pharmacy_name} - {doc.display}",
        "section": [{"entry": [ref(e["fullUrl"]) for e in entries]}],
    }
    document = {
        "resourceType": "Bundle",
        "meta": {"profile": [SD + "ITK-Document-Bundle-1"]},
        "identifier": {"system": "urn:ipmo:update-record", "value": url["document"][9:]},
        "type": "document",
        "entry": [entry(url["composition"], composition), *entries],
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
        ("SenderReference", {"valueString": content.sender_reference}),
        ("LocalExtension", {"valueString": "None"}),
    ]
    header = {
        "resourceType": "MessageHeader",
        "meta": {"profile": [SD + "ITK-MessageHeader-2"]},
        "extension": [
            {
                "url": SD + "Extension-ITK-MessageHandling-2",
                "extension": [{"url": name, **value} for name, value in handling],
            }
        ],
        "event": {"system": ITK_EVENTS, "code": doc.event, "display": doc.event_display},
        "sender": ref(url["sender"]),
        "timestamp": stamp,
        "source": {"endpoint": sender_mailbox},
        "focus": [ref(url["document"])],
    }
    return {
        "resourceType": "Bundle",
        "meta": {"profile": [SD + "ITK-Message-Bundle-1"]},
        "identifier": {"system": "urn:ipmo:itk-message", "value": url["header"][9:]},
        "type": "message",
        "entry": [
            entry(url["header"], header),
            entry(url["sender"], _pharmacy(content, "CareConnect-ITK-Header-Organization-1")),
            entry(url["document"], document),
        ],
    }


def itk_file(root: Path, recipient_ods: str, key: str) -> Path:
    """Where the message for ``key`` goes in the MESH client's outbox folder."""
    return root / recipient_ods / "out" / (str(uuid.uuid5(_NAMESPACE, key)) + ".json")


def write_itk_file(root: Path, recipient_ods: str, key: str, body: dict[str, Any]) -> Path:
    """Write ``body`` to ``<root>/<recipient ODS>/out/<key>.json`` atomically (temporary file +
    rename), once per key: a retried delivery never writes it twice."""
    target = itk_file(root, recipient_ods, key)
    if target.exists():  # delivered before (the process died before marking it)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_text(json.dumps(body, indent=1))
    os.replace(partial, target)
    return target
