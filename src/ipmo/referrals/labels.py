"""What people read for the referral codes (issue 14: names, not codes). The codes stay in the
data, the API, the FHIR messages and the CSVs; pages show these names with the code on hover."""

from __future__ import annotations

from ipmo.referrals.catalogue import RULES
from ipmo.referrals.lifecycle import EscalateTo, NoSupplyReason, Outcome, Status
from ipmo.referrals.routing import RoutingBasis

STATUS = {
    Status.REQUESTED: "Sent",
    Status.RECEIVED: "Opened by the pharmacy",
    Status.ACCEPTED: "Accepted",
    Status.IN_PROGRESS: "In progress",
    Status.COMPLETED: "Completed",
    Status.REJECTED: "Rejected",
    Status.CANCELLED: "Cancelled",
    Status.FAILED: "Failed",
}
OUTCOME = {
    Outcome.SUPPLIED: "Supplied",
    Outcome.NO_SUPPLY: "No supply",
    Outcome.ADVICE_GIVEN: "Advice given",
    Outcome.REFERRED_ON: "Referred on",
    Outcome.RETURNED: "Returned to the referrer (not accepted in time)",
    Outcome.CANCELLED: "Cancelled by the referrer",
}
REASON = {
    NoSupplyReason.NOT_CLINICALLY_APPROPRIATE: "Not clinically appropriate",
    NoSupplyReason.OUT_OF_STOCK: "Out of stock",
    NoSupplyReason.PRESCRIPTION_AVAILABLE: "A prescription is available",
    NoSupplyReason.PATIENT_DID_NOT_ATTEND: "Patient did not attend",
    NoSupplyReason.PATIENT_DECLINED: "Patient declined",
    NoSupplyReason.CONTROLLED_DRUG: "Schedule 1, 2 or 3 controlled drug (not for urgent supply)",
    NoSupplyReason.GATEWAY_NOT_MET: "Did not meet the Pharmacy First pathway gateway",
    NoSupplyReason.OTHER: "Other",
}
ESCALATE = {
    EscalateTo.GP: "The patient's GP practice",
    EscalateTo.NHS111: "NHS 111",
    EscalateTo.URGENT_CARE: "Urgent care",
}
ROUTING = {
    RoutingBasis.PATIENT_CHOICE: "chosen by the patient",
    RoutingBasis.NOMINATED: "the patient's nominated pharmacy",
    RoutingBasis.NEAREST_OPEN: "the nearest open pharmacy",
}
EVENT = {
    "created": "Sent",
    "received": "Opened by the pharmacy",
    "accepted": "Accepted",
    "started": "Started",
    "completed": "Outcome recorded",
    "rejected": "Rejected",
    "rerouted": "Sent on to another pharmacy",
    "cancelled": "Cancelled",
    "escalated": "Escalated",
    "dms-checked": "Discharge medicines checked",
    "failed": "Failed",
    "returned": "Returned to the referrer",
}


def _plain(code: str | None) -> str:
    return (code or "").replace("-", " ").replace("_", " ").capitalize()


class _Names(dict):
    """A mapping that falls back to the code made readable, so a new code never shows blank."""

    def __missing__(self, code: str) -> str:
        return _plain(code)


LABELS = {
    "status": _Names({str(k): v for k, v in STATUS.items()}),
    "outcome": _Names({str(k): v for k, v in OUTCOME.items()}),
    "reason": _Names({str(k): v for k, v in REASON.items()}),
    "escalate": _Names({str(k): v for k, v in ESCALATE.items()}),
    "routing": _Names({str(k): v for k, v in ROUTING.items()}),
    "event": _Names(EVENT),
    "service": _Names({str(k): r.title for k, r in RULES.items()}),
}
