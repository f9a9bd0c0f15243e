"""A BaRS-shaped referral message as a sending system posts it (the CLI's examples, the demo,
tests and the benchmark build theirs here)."""

from __future__ import annotations

from typing import Any

from ipmo.referrals.message_codes import (
    CATEGORY_SYSTEM,
    CHANGE_SYSTEM,
    EVENT_SYSTEM,
    NO_RELATIONSHIP_REASON_URL,
    ODS_SYSTEMS,
    REASON_SYSTEM,
    SERVICE_SYSTEM,
)


def build_referral_message(
    *,
    message_id: str,
    service: str,
    patient_name: str,
    nhs_number: str | None = None,
    birth_date: str | None = None,
    receiver: str | None = None,
    sender: str | None = None,
    summary: str | None = None,
    discharge_items: list[dict] | None = None,
    timestamp: str = "2026-01-01T00:00:00+00:00",
    no_relationship_reason: str | None = None,
) -> dict:
    """A minimal BaRS-shaped referral message (what a sending system posts; used by the CLI's
    examples, the demo, tests and the benchmark)."""
    patient: dict[str, Any] = {"resourceType": "Patient", "name": [{"text": patient_name}]}
    if nhs_number:
        patient["identifier"] = [
            {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs_number}
        ]
    if birth_date:
        patient["birthDate"] = birth_date
    header: dict[str, Any] = {
        "resourceType": "MessageHeader",
        "eventCoding": {"system": EVENT_SYSTEM, "code": "servicerequest-request"},
        "reason": {"coding": [{"system": REASON_SYSTEM, "code": "new"}]},
        "source": {"endpoint": "urn:ipmo:sender"},
        "focus": [{"reference": "urn:uuid:sr"}],
        "definition": "https://fhir.nhs.uk/MessageDefinition/bars-message-servicerequest-request-referral",
    }
    entries: list[dict[str, Any]] = [
        {"fullUrl": "urn:uuid:header", "resource": header},
        {
            "fullUrl": "urn:uuid:sr",
            "resource": {
                "resourceType": "ServiceRequest",
                "status": "active",
                "intent": "plan",
                "category": [
                    {"coding": [{"system": CATEGORY_SYSTEM, "code": "referral"}]},
                    {"coding": [{"system": SERVICE_SYSTEM, "code": service}]},
                ],
                "subject": {"reference": "urn:uuid:patient"},
                **(
                    {
                        "extension": [
                            {
                                "url": NO_RELATIONSHIP_REASON_URL,
                                "valueString": no_relationship_reason,
                            }
                        ]
                    }
                    if no_relationship_reason
                    else {}
                ),
            },
        },
        {"fullUrl": "urn:uuid:patient", "resource": patient},
        {
            "fullUrl": "urn:uuid:task",
            "resource": {
                "resourceType": "Task",
                "status": "requested",
                "intent": "order",
                **({"description": summary} if summary else {}),
            },
        },
    ]
    if receiver:
        header["destination"] = [
            {"endpoint": "urn:ipmo:receiver", "receiver": {"reference": "urn:uuid:receiver"}}
        ]
        entries.append(
            {
                "fullUrl": "urn:uuid:receiver",
                "resource": {
                    "resourceType": "Organization",
                    "identifier": [{"system": ODS_SYSTEMS[0], "value": receiver}],
                },
            }
        )
    else:
        header["destination"] = [{"endpoint": "urn:ipmo:route-for-me"}]
    if sender:
        header["sender"] = {"reference": "urn:uuid:sender"}
        entries.append(
            {
                "fullUrl": "urn:uuid:sender",
                "resource": {
                    "resourceType": "Organization",
                    "identifier": [{"system": ODS_SYSTEMS[0], "value": sender}],
                },
            }
        )
    for i, item in enumerate(discharge_items or []):
        ms: dict[str, Any] = {
            "resourceType": "MedicationStatement",
            "status": "stopped" if item["change"] == "stopped" else "active",
            "statusReason": [
                {
                    "coding": [{"system": CHANGE_SYSTEM, "code": item["change"]}],
                    "text": item.get("note") or item["change"],
                }
            ],
            "category": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/medication-statement-category",
                        "code": "discharge",
                    }
                ]
            },
            "medicationCodeableConcept": {
                "text": item["name"],
                **(
                    {"coding": [{"system": "https://dmd.nhs.uk", "code": item["dmd_code"]}]}
                    if item.get("dmd_code")
                    else {}
                ),
            },
            "subject": {"reference": "urn:uuid:patient"},
        }
        if item.get("dose_text"):
            ms["dosage"] = [{"text": item["dose_text"]}]
        entries.append({"fullUrl": f"urn:uuid:med-{i}", "resource": ms})
    return {
        "resourceType": "Bundle",
        "id": message_id,
        "meta": {
            "versionId": "1.1.0",
            "profile": ["https://fhir.nhs.uk/StructureDefinition/BARSBundleMessage"],
        },
        "type": "message",
        "timestamp": timestamp,
        "entry": entries,
    }
