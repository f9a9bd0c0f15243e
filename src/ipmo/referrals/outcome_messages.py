"""What goes back out: the referral as a FHIR R4 ``Task`` (the outcome sent to the referrer and
the GP practice, and the Task the FHIR API shows) and the synchronous acknowledgement of a
received message (BaRS: the receiver returns its reference in the synchronous 200)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ipmo.referrals.message_codes import EVENT_SYSTEM, ODS_SYSTEMS, REFERENCE_SYSTEM, SERVICE_SYSTEM
from ipmo.referrals.models import Referral


def _iso(moment: datetime | None) -> str | None:
    return moment.replace(tzinfo=UTC).isoformat() if moment else None


def outcome_task(ref: Referral) -> dict:
    """The referral as a FHIR R4 Task (what goes back to the referrer and GP practice)."""
    task: dict[str, Any] = {
        "resourceType": "Task",
        "identifier": [{"system": REFERENCE_SYSTEM, "value": ref.reference}],
        "status": ref.status,
        "intent": "order",
        "code": {"coding": [{"system": SERVICE_SYSTEM, "code": ref.service}]},
        "authoredOn": _iso(ref.created_at),
        "lastModified": _iso(ref.completed_at or ref.accepted_at or ref.created_at),
        "requester": {"identifier": {"system": ODS_SYSTEMS[0], "value": ref.sender_org_code}},
        "restriction": {"period": {"end": _iso(ref.due_by)}},
    }
    if ref.target_org_code:
        task["owner"] = {"identifier": {"system": ODS_SYSTEMS[0], "value": ref.target_org_code}}
    if ref.nhs_number:
        task["for"] = {
            "identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": ref.nhs_number}
        }
    if ref.business_status:
        task["businessStatus"] = {
            "coding": [{"system": "urn:ipmo:referral-outcome", "code": ref.business_status}]
        }
    if ref.outcome_reason:
        task["statusReason"] = {"text": ref.outcome_reason}
    if ref.outcome_note:
        task["note"] = [{"text": ref.outcome_note}]
    if ref.message_id:
        task["basedOn"] = [{"identifier": {"value": ref.message_id}}]
    return task


def acknowledgement(bundle_id: str, ref: Referral, now: datetime) -> dict:
    """The synchronous reply: a message Bundle with a MessageHeader ``response`` (code ok) and the
    Task carrying our human-readable reference (BaRS: the receiver returns its reference in the
    synchronous 200)."""
    return {
        "resourceType": "Bundle",
        "type": "message",
        "timestamp": _iso(now),
        "entry": [
            {
                "fullUrl": "urn:uuid:response-header",
                "resource": {
                    "resourceType": "MessageHeader",
                    "eventCoding": {"system": EVENT_SYSTEM, "code": "servicerequest-response"},
                    "source": {"endpoint": "urn:ipmo"},
                    "response": {"identifier": bundle_id, "code": "ok"},
                },
            },
            {"fullUrl": f"urn:ipmo:referral:{ref.reference}", "resource": outcome_task(ref)},
        ],
    }
