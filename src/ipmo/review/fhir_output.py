"""Medication review findings and interventions as FHIR R4 resources (direct care, one patient).

* A finding (a rule that fired on the patient's facts, :class:`ipmo.review.check.Finding`) is a
  ``DetectedIssue`` (R4: "an actual or potential clinical issue with or between one or more
  active or proposed clinical actions"), coded with the rule's id in ipmo's rule code system and
  citing the published criterion it implements in ``detail``; status ``preliminary`` (a prompt for
  a clinician, not a judgement).
* An intervention recorded at a review (:class:`ipmo.review.models.Intervention`) is a ``Task``
  (R4 Task: "a task to be performed"), intent ``proposal``: ``requested`` while proposed on the
  record, ``completed`` once applied, ``rejected`` with the reason when not applied.

Served through the FHIR routes of the records (DetectedIssue) and referrals (Task) domains by the
``FHIR_DETECTED_ISSUES`` / ``FHIR_TASKS`` / ``FHIR_TASK_READS`` hooks (``review/hooks.py``).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from ipmo.fhir.bundles import NHS_NUMBER_SYSTEM
from ipmo.fhir.capability import PROFILES
from ipmo.fhir.search import instant
from ipmo.review.check import Finding
from ipmo.review.models import Intervention, InterventionStatus, MedicationReview

RULE_SYSTEM = "https://ipmo.nhs.uk/CodeSystem/medicines-optimisation-rule"
INTERVENTION_SYSTEM = "https://ipmo.nhs.uk/CodeSystem/medication-review-intervention"
TASK_PREFIX = "review-intervention-"
TASK_STATUS = {
    InterventionStatus.PROPOSED: "requested",
    InterventionStatus.APPLIED: "completed",
    InterventionStatus.REJECTED: "rejected",
}
_NS = uuid.UUID("0b7e3c52-3a55-4c1e-9a51-7d1f6c0e2f44")


def _patient(nhs_number: str) -> dict[str, Any]:
    return {
        "reference": f"Patient/{nhs_number}",
        "identifier": {"system": NHS_NUMBER_SYSTEM, "value": nhs_number},
    }


def finding_issue(finding: Finding, nhs_number: str, as_of: date) -> dict[str, Any]:
    return {
        "resourceType": "DetectedIssue",
        "id": str(uuid.uuid5(_NS, f"{nhs_number}|{finding.rule_id}|{as_of.isoformat()}")),
        "meta": {"profile": [PROFILES["DetectedIssue"]]},
        "identifier": [{"system": RULE_SYSTEM, "value": finding.rule_id}],
        "status": "preliminary",
        "code": {
            "coding": [{"system": RULE_SYSTEM, "code": finding.rule_id, "display": finding.title}],
            "text": finding.family,
        },
        "patient": _patient(nhs_number),
        "identifiedDateTime": as_of.isoformat(),
        "detail": f"{finding.title} (criterion: {finding.source})",
    }


def intervention_task(item: Intervention, review: MedicationReview, nhs_number: str) -> dict:
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": f"{TASK_PREFIX}{item.id}",
        "meta": {"profile": [PROFILES["Task"]]},
        "status": TASK_STATUS.get(InterventionStatus(item.status), "requested"),
        "intent": "proposal",
        "code": {
            "coding": [{"system": INTERVENTION_SYSTEM, "code": item.kind}],
            "text": item.kind.replace("_", " "),
        },
        "for": _patient(nhs_number),
        "authoredOn": instant(review.created_at),
        "description": " ".join(x for x in (item.medicine, item.detail) if x) or item.kind,
    }
    if item.rule_id:
        task["reasonCode"] = {"coding": [{"system": RULE_SYSTEM, "code": item.rule_id}]}
    if item.outcome_at:
        task["lastModified"] = instant(item.outcome_at)
    if item.outcome_reason:
        task["statusReason"] = {"text": item.outcome_reason}
    return task
