"""How prescriptions read on the tracker pages: current / future / past (the NHS App's and NHS
website's prescription tabs), timeline steps in words, names not codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ipmo.prescriptions.codes import ITEM_STATUS, PRESCRIPTION_STATUS
from ipmo.prescriptions.models import Prescription

FINISHED = {"0004", "0005", "0006", "0007", "0008", "0009"}
TABS = ("current", "future", "past")

# timeline step kinds in words (prescription-level Spine events and patient-facing PSU updates)
STEP = {
    "created": "Prescription issued",
    "released": "Downloaded by the pharmacy",
    "with-pharmacy": "With the pharmacy",
    "with-pharmacy-preparing-remainder": "With the pharmacy, preparing the rest",
    "ready-to-collect": "Ready to collect",
    "ready-to-collect-partial": "Part ready to collect",
    "ready-to-dispatch": "Ready to deliver",
    "ready-to-dispatch-partial": "Part ready to deliver",
    "collected": "Collected",
    "dispatched": "Sent for delivery",
    "dispensed": "Dispensed",
    "partially-dispensed": "Partly dispensed",
    "not-dispensed": "Not dispensed",
    "cancelled": "Cancelled by the prescriber",
    "pending-cancellation": "Cancellation requested: waiting for the pharmacy",
    "cancellation-refused": "Cancellation refused: already dispensed",
    "withdrawn": "Dispense withdrawn by the pharmacy",
    "returned": "Returned by the pharmacy: can be downloaded again",
    "claimed": "Claimed by the pharmacy",
    "expired": "Expired",
    "redirected": "Redirected by the NHS 111 service",
}


def tab_of(p: Prescription, as_of: date) -> str:
    """``future`` (issued for a later date), ``past`` (finished or expired) or ``current``."""
    if p.authored_on and p.authored_on > as_of:
        return "future"
    if p.status_code in FINISHED or (p.expiry_date is not None and p.expiry_date < as_of):
        return "past"
    return "current"


@dataclass(frozen=True)
class Step:
    at: datetime
    what: str
    status: str
    org: str | None
    detail: str | None


def timeline(p: Prescription) -> list[Step]:
    return [
        Step(
            e.at,
            STEP.get(e.kind, e.kind.replace("-", " ").capitalize())
            + (" (later withdrawn)" if e.withdrawn else ""),
            PRESCRIPTION_STATUS.get(e.status_to, e.status_to),
            e.org,
            e.detail,
        )
        for e in p.events
    ]


def future_issues(p: Prescription) -> list[int]:
    """Repeat dispensing: the issue numbers still to come."""
    if p.course != "continuous-repeat-dispensing" or not p.repeats_allowed:
        return []
    return list(range((p.repeat_number or 1) + 1, p.repeats_allowed + 1))


def status_text(code: str) -> str:
    return PRESCRIPTION_STATUS.get(code, code)


def item_text(code: str) -> str:
    return ITEM_STATUS.get(code, code)
