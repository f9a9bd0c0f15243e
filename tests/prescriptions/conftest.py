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


@pytest.fixture
def eps():
    from types import SimpleNamespace

    return SimpleNamespace(
        load=load,
        with_nhs_number=with_nhs_number,
        resources=resources,
        dispense_for=dispense_for,
        ORDER_RP=ORDER_RP,
        CANCEL_SEND=CANCEL_1 + "-Send-200_OK.json",
        CANCEL=CANCEL_1 + "-Cancel-200_OK.json",
        DISPENSE=DISPENSE,
        MESSAGES=MESSAGES,
    )
