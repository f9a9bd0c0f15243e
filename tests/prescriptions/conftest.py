"""EPS message fixtures: the shared NHS England example messages, rewritten where a test needs
another patient or a dispense that matches a prescription the examples send."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

MESSAGES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fhir" / "eps" / "messages"
ORDER_RP = "primary-care_repeat-prescribing_1-Process-Request-Send-200_OK.json"  # 24F5DA…, 4 items
CANCEL_1 = (
    "primary-care_acute_nominated-pharmacy_medical-prescriber_cancellations_1-Process-Request"
)
DISPENSE = (
    "secondary-care_community_repeat-dispensing_nominated-pharmacy_clinical-practitioner_"
    "single-medication-request_1-Process-Request-Dispense-200_OK.json"
)


def load(name: str) -> dict[str, Any]:
    return json.loads((MESSAGES / name).read_text())


def with_nhs_number(message: dict[str, Any], number: str) -> dict[str, Any]:
    """The message about another patient: every NHS number identifier replaced."""
    out = copy.deepcopy(message)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("system") == "https://fhir.nhs.uk/Id/nhs-number" and "value" in node:
                node["value"] = number
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(out)
    return out


def resources(message: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in message["entry"] if e["resource"]["resourceType"] == rtype]


def dispense_for(order: dict[str, Any], item_index: int = 0, type_code: str = "0001") -> dict:
    """The example dispense notification, pointed at one item of ``order`` (same patient)."""
    disp = copy.deepcopy(load(DISPENSE))
    req = resources(order, "MedicationRequest")[item_index]
    number = resources(order, "Patient")[0]["identifier"][0]["value"]
    disp = with_nhs_number(disp, number)
    md = resources(disp, "MedicationDispense")[0]
    contained = next(c for c in md["contained"] if c["resourceType"] == "MedicationRequest")
    contained["groupIdentifier"]["value"] = req["groupIdentifier"]["value"]
    contained["identifier"] = copy.deepcopy(req["identifier"])
    md["type"]["coding"][0]["code"] = type_code
    md["extension"] = [e for e in md["extension"] if "TaskBusinessStatus" not in e["url"]]
    return disp


def release_for(pid: str, ods: str = "FA001", message_id: str | None = None) -> dict:
    """An EPS ``Task/$release`` (patient release) of prescription ``pid`` by pharmacy ``ods``."""
    return {
        "resourceType": "Parameters",
        "id": message_id or f"release-{pid}",
        "parameter": [
            {
                "name": "group-identifier",
                "valueIdentifier": {
                    "system": "https://fhir.nhs.uk/Id/prescription-order-number",
                    "value": pid,
                },
            },
            {
                "name": "owner",
                "valueIdentifier": {
                    "system": "https://fhir.nhs.uk/Id/ods-organization-code",
                    "value": ods,
                },
            },
            {"name": "status", "valueCode": "accepted"},
        ],
    }


def nominated_release(ods: str, message_id: str) -> dict:
    """An EPS nominated pharmacy release request: ``Task/$release`` Parameters naming the
    pharmacy (``owner``, an Organization) and no prescription, in the shape of NHS England's
    example (NHSDigital/electronic-prescription-service-api ``examples/primary-care/acute/
    nominated-pharmacy/medical-prescriber/1-Task-Request-Release-200_OK.json``, whose patient
    release names one with ``group-identifier``; ``../shared/fhir/eps`` holds no release)."""
    return {
        "resourceType": "Parameters",
        "id": message_id,
        "parameter": [
            {
                "name": "owner",
                "resource": {
                    "resourceType": "Organization",
                    "id": "organization",
                    "identifier": [
                        {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": ods}
                    ],
                    "active": True,
                    "type": [
                        {
                            "coding": [
                                {
                                    "system": "https://fhir.nhs.uk/CodeSystem/organisation-role",
                                    "code": "182",
                                    "display": "PHARMACY",
                                }
                            ]
                        }
                    ],
                    "name": "The Simple Pharmacy",
                },
            },
            {"name": "status", "valueCode": "accepted"},
        ],
    }


def withdrawal_for(order: dict, dispense: dict, ods: str = "FA001") -> dict:
    """An EPS withdrawal Task of ``dispense`` (a dispense notification of ``order``)."""
    number = resources(order, "Patient")[0]["identifier"][0]["value"]
    pid = resources(order, "MedicationRequest")[0]["groupIdentifier"]["value"]
    return {
        "resourceType": "Task",
        "id": "withdraw-1",
        "identifier": [{"system": "https://tools.ietf.org/html/rfc4122", "value": "withdraw-1"}],
        "status": "in-progress",
        "intent": "order",
        "groupIdentifier": {
            "system": "https://fhir.nhs.uk/Id/prescription-order-number",
            "value": pid,
        },
        "code": {
            "coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "abort"}]
        },
        "focus": {"identifier": {"value": dispense["identifier"]["value"]}},
        "for": {"identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": number}},
        "authoredOn": "2025-04-24T13:00:00+00:00",
        "owner": {
            "identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": ods}
        },
        "statusReason": {
            "coding": [
                {
                    "system": "https://fhir.nhs.uk/CodeSystem/EPS-task-dispense-withdraw-reason",
                    "code": "DA",
                    "display": "Dosage Amendments",
                }
            ]
        },
    }


def _pid(n: int, org: str = "NHS111") -> str:
    from ipmo.prescriptions.ids import check_character

    body = f"{n:06X}{org}{n:05X}"
    return f"{body[:6]}-{body[6:12]}-{body[12:]}{check_character(body)}"


def urgent_order(n: int, issued: str, pharmacy: str, number: str, urgent: bool = True):
    """An urgent prescription from the NHS 111 service (prescriber NHS111) issued at ``issued``
    for ``pharmacy``: the repeat-prescribing example rewritten. Returns (message, ID)."""
    order = with_nhs_number(load(ORDER_RP), number)
    pid = _pid(n)
    order["identifier"]["value"] = f"urgent-{n}"
    for req in resources(order, "MedicationRequest"):
        req["groupIdentifier"]["value"] = pid
        req["priority"] = "urgent" if urgent else "routine"
        req["authoredOn"] = issued
        req["identifier"][0]["value"] = f"{req['identifier'][0]['value'][:-4]}{n:04d}"
        req["dispenseRequest"]["performer"]["identifier"]["value"] = pharmacy
    return order, pid


@pytest.fixture
def eps():
    from types import SimpleNamespace

    return SimpleNamespace(
        load=load,
        with_nhs_number=with_nhs_number,
        resources=resources,
        dispense_for=dispense_for,
        release_for=release_for,
        nominated_release=nominated_release,
        withdrawal_for=withdrawal_for,
        ORDER_RP=ORDER_RP,
        CANCEL_SEND=CANCEL_1 + "-Send-200_OK.json",
        CANCEL=CANCEL_1 + "-Cancel-200_OK.json",
        DISPENSE=DISPENSE,
        MESSAGES=MESSAGES,
    )
