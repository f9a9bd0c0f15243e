"""What a source line is in FHIR terms: a request or a dispense, and its R4 codes.

Shared by the FHIR read/search of source lines (:mod:`ipmo.records.fhir`) and the bulk export
(:mod:`ipmo.records.bulk`), so both say the same thing about the same line.
"""

from __future__ import annotations

# R4 value sets (https://hl7.org/fhir/R4/valueset-medicationrequest-status.html and
# https://hl7.org/fhir/R4/valueset-medicationdispense-status.html) from a source line's status
REQUEST_STATUS = {
    "active": "active",
    "on-hold": "on-hold",
    "cancelled": "cancelled",
    "completed": "completed",
    "entered-in-error": "entered-in-error",
    "stopped": "stopped",
    "intended": "draft",
}
DISPENSE_STATUS = {
    "active": "completed",  # a supply the pharmacy handed over
    "completed": "completed",
    "on-hold": "on-hold",
    "cancelled": "cancelled",
    "entered-in-error": "entered-in-error",
    "stopped": "stopped",
}
REQUEST_STATUSES = {*REQUEST_STATUS.values(), "unknown"}
DISPENSE_STATUSES = {
    *DISPENSE_STATUS.values(),
    "preparation",
    "in-progress",
    "declined",
    "unknown",
}
# R4 medicationrequest-course-of-therapy (https://hl7.org/fhir/R4/codesystem-medicationrequest-course-of-therapy.html)
COURSE_SYSTEM = "http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy"
COURSE = {"acute": "acute", "repeat": "continuous", "repeat-dispensing": "continuous"}


def is_dispense(source_kind: str, resource_type: str | None) -> bool:
    """A pharmacy's supply (a dispense message, or a pharmacy's CSV row) rather than a request."""
    if resource_type == "MedicationDispense":
        return True
    return source_kind == "pharmacy" and resource_type in (None, "csv")
