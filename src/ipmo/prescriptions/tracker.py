"""Prescriptions in the Clinical Prescription Tracker's shape (FHIR R4, ``RequestGroup``).

Shapes from NHS England's Clinical Prescription Tracker API (``../shared/fhir/eps/tracker_api``):
a search by NHS number answers like ``examples/prescriptionSearch`` (a ``searchset`` Bundle: the
Patient included, one ``RequestGroup`` per prescription with the ``PrescriptionStatusHistory`` and
``PendingCancellation`` extensions); a search by prescription ID answers like
``examples/clinicalView`` (adding one MedicationRequest per item with its
``Extension-EPS-DispensingInformation`` dispense status, referenced from the RequestGroup's
"Prescription Line Items(Medications)" action). ``RequestGroup.status`` is "active" in every
national example, whatever the EPS status: the EPS status is carried by the extension.
"""

from __future__ import annotations

import uuid
from typing import Any

from ipmo.prescriptions.codes import (
    CANCEL_REASON_SYSTEM,
    ITEM_STATUS,
    ITEM_STATUS_SYSTEM,
    PRESCRIPTION_STATUS,
    PRESCRIPTION_STATUS_SYSTEM,
)
from ipmo.prescriptions.models import Prescription

SD = "https://fhir.nhs.uk/StructureDefinition/"
ORDER_NUMBER = "https://fhir.nhs.uk/Id/prescription-order-number"
ITEM_NUMBER = "https://fhir.nhs.uk/Id/prescription-order-item-number"
NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
# MedicationRequest.status per item status, as in every clinicalView example: fully dispensed →
# completed, not dispensed → stopped, cancelled → cancelled; to be dispensed, with dispenser and
# owing stay active
REQUEST_STATUS = {"0001": "completed", "0002": "stopped", "0005": "cancelled"}
COURSE_SYSTEM = "http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy"
COURSE_DISPLAY = {
    "acute": "Short course (acute) therapy",
    "continuous": "Continuous long term therapy",
    "continuous-repeat-dispensing": "Continuous long term (repeat dispensing)",
}


def _urn(*parts: str) -> str:
    # stable ids: the same prescription gives the same Bundle on every call
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, '|'.join(parts))}"


def _patient_entry(nhs_number: str, name: dict[str, Any] | None) -> dict[str, Any]:
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [{"system": NHS_NUMBER, "value": nhs_number}],
    }
    if name:
        patient["name"] = [name]
    return {
        "fullUrl": _urn("patient", nhs_number),
        "search": {"mode": "include"},
        "resource": patient,
    }


def _request_group(p: Prescription, patient_url: str, with_items: bool) -> dict[str, Any]:
    pending = False  # cancellation requests held by the dispenser are not received yet
    group: dict[str, Any] = {
        "resourceType": "RequestGroup",
        "identifier": [{"system": ORDER_NUMBER, "value": p.prescription_id}],
        "subject": {"reference": patient_url},
        "status": "active",
        "intent": "order",
    }
    if p.prescriber_org:
        group["author"] = {"identifier": {"system": ODS, "value": p.prescriber_org}}
    if p.authored_on:
        group["authoredOn"] = f"{p.authored_on.isoformat()}T00:00:00.000Z"
    ext: list[dict[str, Any]] = [
        {
            "url": SD + "Extension-EPS-PrescriptionStatusHistory",
            "extension": [
                {
                    "url": "status",
                    "valueCoding": {
                        "system": PRESCRIPTION_STATUS_SYSTEM,
                        "code": p.status_code,
                        "display": PRESCRIPTION_STATUS.get(p.status_code, p.status_code),
                    },
                }
            ],
        }
    ]
    if with_items and p.prescription_type:  # the clinical view carries it, the search does not
        ext.append(
            {
                "url": SD + "Extension-DM-PrescriptionType",
                "valueCoding": {
                    "system": "https://fhir.nhs.uk/CodeSystem/prescription-type",
                    "code": p.prescription_type,
                },
            }
        )
    pc = [{"url": "prescriptionPendingCancellation", "valueBoolean": pending}]
    if not with_items:
        pc.append({"url": "lineItemPendingCancellation", "valueBoolean": pending})
    ext.append({"url": SD + "Extension-PendingCancellation", "extension": pc})
    group["extension"] = ext
    return group


def _item_resource(p: Prescription, item: Any, patient_url: str) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "identifier": [{"system": ITEM_NUMBER, "value": item.line_item_id}],
        "subject": {"reference": patient_url},
        "status": REQUEST_STATUS.get(item.status_code, "active"),
        "intent": "order",
        "groupIdentifier": {"system": ORDER_NUMBER, "value": p.prescription_id},
        "medicationCodeableConcept": {"text": item.name},
        "extension": [
            {
                "url": SD + "Extension-EPS-DispensingInformation",
                "extension": [
                    {
                        "url": "dispenseStatus",
                        "valueCoding": {
                            "system": ITEM_STATUS_SYSTEM,
                            "code": item.status_code,
                            "display": ITEM_STATUS.get(item.status_code, item.status_code),
                        },
                    }
                ],
            },
            {
                "url": SD + "Extension-PendingCancellation",
                "extension": [{"url": "lineItemPendingCancellation", "valueBoolean": False}],
            },
        ],
    }
    if item.status_code == "0005" and item.reason_code:  # a cancellation's reason
        res["statusReason"] = {
            "coding": [
                {
                    "system": CANCEL_REASON_SYSTEM,
                    "code": item.reason_code,
                    "display": item.reason_display,
                }
            ]
        }
    if p.course:
        res["courseOfTherapyType"] = {
            "coding": [
                {
                    "system": COURSE_SYSTEM,
                    "code": p.course,
                    "display": COURSE_DISPLAY.get(p.course, p.course),
                }
            ]
        }
    if p.nominated_pharmacy:
        res["dispenseRequest"] = {
            "performer": {"identifier": [{"system": ODS, "value": p.nominated_pharmacy}]}
        }
    return res


def search_bundle(
    prescriptions: list[Prescription],
    nhs_number: str | None,
    name: dict[str, Any] | None,
    *,
    with_items: bool,
) -> dict[str, Any]:
    """The tracker's answer: ``searchset`` Bundle (``total`` counts the RequestGroups)."""
    if not prescriptions or nhs_number is None:
        return {"resourceType": "Bundle", "type": "searchset", "total": 0, "entry": []}
    patient = _patient_entry(nhs_number, name)
    entries: list[dict[str, Any]] = [patient]
    for p in prescriptions:
        group = _request_group(p, patient["fullUrl"], with_items)
        if with_items:
            refs = []
            for item in p.items:
                url = _urn("item", p.prescription_id, item.line_item_id)
                entries.append(
                    {
                        "fullUrl": url,
                        "search": {"mode": "include"},
                        "resource": _item_resource(p, item, patient["fullUrl"]),
                    }
                )
                refs.append({"resource": {"reference": url}})
            group["action"] = [{"title": "Prescription Line Items(Medications)", "action": refs}]
        entries.append(
            {
                "fullUrl": _urn("prescription", p.prescription_id),
                "search": {"mode": "match"},
                "resource": group,
            }
        )
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(prescriptions),
        "entry": entries,
    }
