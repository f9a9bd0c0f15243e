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


ERD = "continuous-repeat-dispensing"
# RequestGroup.intent as the tracker sends it: acute "order", repeat prescribing "instance-order",
# repeat dispensing "reflex-order" (prescriptionSearch and clinicalView examples)
INTENT = {"acute": "order", "continuous": "instance-order", ERD: "reflex-order"}
NON_DISPENSING_SYSTEM = "https://fhir.nhs.uk/CodeSystem/medicationdispense-status-reason"
PARTICIPANT_TYPE = (
    "http://hl7.org/fhir/5.0/StructureDefinition/"
    "extension-RequestOrchestration.action.participant.typeReference"
)
# timeline step kinds → the Spine's own titles ("Prescription status transitions")
TRANSITION_TITLE = {
    "created": "Prescription upload successful",
    "released": "Release Request successful",
    "cancelled": "Prescription/item was cancelled",
    "pending-cancellation": (
        "Prescription/item was not cancelled. With dispenser. Marked for cancellation"
    ),
    "cancellation-refused": "Prescription/item was not cancelled. Already dispensed",
    "dispensed": "Dispense notification successful",
    "partially-dispensed": "Dispense notification successful",
    "not-dispensed": "Dispense notification successful",
    "withdrawn": "Dispense Withdrawal successful",
    "returned": "Dispense Return successful",
    "claimed": "Dispense Claim successful",
    "expired": "Prescription expired",
}


def _repeat_info(issued: int, allowed: int) -> dict[str, Any]:
    return {
        "url": SD + "Extension-EPS-RepeatInformation",
        "extension": [
            {"url": "numberOfRepeatsIssued", "valueInteger": issued},
            {"url": "numberOfRepeatsAllowed", "valueInteger": allowed},
        ],
    }


def _status_ext(code: str) -> dict[str, Any]:
    return {
        "url": SD + "Extension-EPS-PrescriptionStatusHistory",
        "extension": [
            {
                "url": "status",
                "valueCoding": {
                    "system": PRESCRIPTION_STATUS_SYSTEM,
                    "code": code,
                    "display": PRESCRIPTION_STATUS.get(code, code),
                },
            }
        ],
    }


def _transitions(p: Prescription) -> dict[str, Any]:
    steps = []
    for event in p.events:
        if event.kind not in TRANSITION_TITLE:
            continue  # patient-facing status updates are not Spine transitions
        step: dict[str, Any] = {
            "title": TRANSITION_TITLE[event.kind],
            "timingDateTime": event.at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "code": [
                {
                    "coding": [
                        {
                            "system": PRESCRIPTION_STATUS_SYSTEM,
                            "code": event.status_to,
                            "display": PRESCRIPTION_STATUS.get(event.status_to),
                        }
                    ]
                }
            ],
        }
        if event.org:
            step["participant"] = [
                {
                    "extension": [
                        {
                            "url": PARTICIPANT_TYPE,
                            "valueReference": {"identifier": {"system": ODS, "value": event.org}},
                        }
                    ]
                }
            ]
        steps.append(step)
    return {"title": "Prescription status transitions", "action": steps}


def _request_group(p: Prescription, patient_url: str, with_items: bool) -> dict[str, Any]:
    items = list(p.items)
    pending = bool(items) and all(i.pending_cancellation for i in items)
    group: dict[str, Any] = {
        "resourceType": "RequestGroup",
        "identifier": [{"system": ORDER_NUMBER, "value": p.prescription_id}],
        "subject": {"reference": patient_url},
        "status": "active",
        "intent": INTENT.get(p.course or "acute", "order"),
    }
    if p.prescriber_org:
        group["author"] = {"identifier": {"system": ODS, "value": p.prescriber_org}}
    if p.authored_on:
        group["authoredOn"] = f"{p.authored_on.isoformat()}T00:00:00.000Z"
    ext: list[dict[str, Any]] = [_status_ext(p.status_code)]
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
    if p.course == ERD and p.repeats_allowed:
        ext.append(_repeat_info(p.repeat_number or 1, p.repeats_allowed))
    pc = [{"url": "prescriptionPendingCancellation", "valueBoolean": pending}]
    if not with_items:
        line_pending = any(i.pending_cancellation for i in items)
        pc.append({"url": "lineItemPendingCancellation", "valueBoolean": line_pending})
    ext.append({"url": SD + "Extension-PendingCancellation", "extension": pc})
    reasons = {(i.reason_code, i.reason_display) for i in items if i.reason_code}
    if with_items and len(reasons) == 1 and all(i.reason_code for i in items):
        code, display = reasons.pop()
        if all(i.status_code == "0002" for i in items):  # the whole prescription not dispensed
            ext.append(
                {
                    "url": SD + "Extension-DM-PrescriptionNonDispensingReason",
                    "valueCoding": {
                        "system": NON_DISPENSING_SYSTEM,
                        "code": code,
                        "display": display,
                    },
                }
            )
        elif all(i.status_code == "0005" or i.pending_cancellation for i in items):
            ext.append(  # the whole prescription cancelled (or pending): its reason
                {
                    "url": SD + "Extension-EPS-PrescriptionStatusHistory",
                    "extension": [
                        {
                            "url": "cancellationReason",
                            "valueCoding": {
                                "system": CANCEL_REASON_SYSTEM,
                                "code": code,
                                "display": display,
                            },
                        }
                    ],
                }
            )
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
                "extension": [
                    {
                        "url": "lineItemPendingCancellation",
                        "valueBoolean": bool(item.pending_cancellation),
                    }
                ],
            },
        ],
    }
    # a cancellation's (or pending cancellation's) reason; a non-dispensing reason is the
    # prescription's (Extension-DM-PrescriptionNonDispensingReason), as in the national examples
    if item.reason_code and (item.status_code == "0005" or item.pending_cancellation):
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
            group["action"] = [
                {"title": "Prescription Line Items(Medications)", "action": refs},
                _transitions(p),
            ]
        entries.append(
            {
                "fullUrl": _urn("prescription", p.prescription_id),
                "search": {"mode": "match"},
                "resource": group,
            }
        )
        if not with_items and p.course == ERD and p.repeats_allowed:
            entries.extend(_future_issues(p, patient["fullUrl"]))
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": sum(e["search"]["mode"] == "match" for e in entries),
        "entry": entries,
    }


def _future_issues(p: Prescription, patient_url: str) -> list[dict[str, Any]]:
    """Repeat dispensing: the issues still to come, grouped under the same prescription ID with
    status "Repeat Dispense future instance" (9000), as in ``prescriptionSearch/
    200_With7InstanceErd.json``."""
    out = []
    for issue in range((p.repeat_number or 1) + 1, (p.repeats_allowed or 0) + 1):
        group = {
            "resourceType": "RequestGroup",
            "identifier": [{"system": ORDER_NUMBER, "value": p.prescription_id}],
            "subject": {"reference": patient_url},
            "status": "active",
            "intent": "reflex-order",
            "extension": [
                _status_ext("9000"),
                _repeat_info(issue, p.repeats_allowed or 0),
                {
                    "url": SD + "Extension-PendingCancellation",
                    "extension": [
                        {"url": "prescriptionPendingCancellation", "valueBoolean": False},
                        {"url": "lineItemPendingCancellation", "valueBoolean": False},
                    ],
                },
            ],
        }
        if p.authored_on:
            group["authoredOn"] = f"{p.authored_on.isoformat()}T00:00:00.000Z"
        out.append(
            {
                "fullUrl": _urn("prescription", p.prescription_id, str(issue)),
                "search": {"mode": "match"},
                "resource": group,
            }
        )
    return out
