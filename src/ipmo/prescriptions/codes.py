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

# Prescription Status Update API (NHS England, status_update_api): the patient-facing item
# statuses (https://fhir.nhs.uk/CodeSystem/task-businessStatus-nppt), matched without regard to
# case, and the Task.status each allows (terminal ones are "completed"; "Ready to Collect" and
# "Ready to Dispatch" may be either).
PSU_NAMES = (
    "With Pharmacy",
    "With Pharmacy - Preparing Remainder",
    "Ready to Collect",
    "Ready to Collect - Partial",
    "Collected",
    "Ready to Dispatch",
    "Ready to Dispatch - Partial",
    "Dispatched",
    "Not Dispensed",
)
PSU_STATUS = {name.lower(): name for name in PSU_NAMES}
PSU_TASK_STATUS = {
    name: (
        ("completed",)
        if name in ("Collected", "Dispatched", "Not Dispensed")
        else ("in-progress", "completed")
        if name in ("Ready to Collect", "Ready to Dispatch")
        else ("in-progress",)
    )
    for name in PSU_NAMES
}

# Prescription charge exemption categories (https://fhir.nhs.uk/CodeSystem/
# prescription-charge-exemption), as EPS claims and the NHSBSA exemption categories list them
EXEMPTION_CODES = {
    "0001": "Patient has paid appropriate charges",
    "0002": "is under 16 years of age",
    "0003": "is 16, 17 or 18 and in full-time education",
    "0004": "is 60 years of age or over",
    "0005": "has a valid maternity exemption certificate",
    "0006": "has a valid medical exemption certificate",
    "0007": "has a valid prescription prepayment certificate",
    "0008": "has a valid War Pension exemption certificate",
    "0009": "is named on a current HC2 charges certificate",
    "0010": "was prescribed free-of-charge contraceptives",
    "0011": "gets Income Support or income-related Employment and Support Allowance",
    "0012": "gets income-based Jobseeker's Allowance",
    "0013": "is entitled to, or named on, a valid NHS Tax Credit Exemption Certificate",
    "0014": "has a partner who gets Pension Credit guarantee credit",
    "0015": "gets Universal Credit and meets the criteria",
}
