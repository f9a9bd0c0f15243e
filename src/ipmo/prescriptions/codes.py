"""EPS status code systems with their display text.

Prescription status: https://fhir.nhs.uk/CodeSystem/EPS-task-business-status; item status:
https://fhir.nhs.uk/CodeSystem/medicationdispense-type. Displays as the Clinical Prescription
Tracker sends them (``../shared/fhir/eps/tracker_api/examples``); codes the examples do not show
are the remaining Spine codes of the same systems.
"""

from __future__ import annotations

PRESCRIPTION_STATUS_SYSTEM = "https://fhir.nhs.uk/CodeSystem/EPS-task-business-status"
ITEM_STATUS_SYSTEM = "https://fhir.nhs.uk/CodeSystem/medicationdispense-type"
CANCEL_REASON_SYSTEM = "https://fhir.nhs.uk/CodeSystem/medicationrequest-status-reason"

PRESCRIPTION_STATUS = {
    "0000": "Awaiting Release Ready",
    "0001": "To be Dispensed",
    "0002": "With Dispenser",
    "0003": "With Dispenser - Active",
    "0004": "Expired",
    "0005": "Cancelled",
    "0006": "Dispensed",
    "0007": "Not Dispensed",
    "0008": "Claimed",
    "0009": "No-Claimed",
    "9000": "Repeat Dispense future instance",
    "9001": "Prescription future instance",
    "9005": "Cancelled future instance",
}

ITEM_STATUS = {
    "0001": "Item fully dispensed",
    "0002": "Item not dispensed",
    "0003": "Item dispensed - partial",
    "0004": "Item not dispensed - owing",
    "0005": "Item Cancelled",
    "0006": "Expired",
    "0007": "Item to be dispensed",
    "0008": "Item with dispenser",
}

# item statuses after which nothing more will be dispensed on that item
ITEM_FINAL = {"0001", "0002", "0005", "0006"}
