"""EPS status rules: what each event does to a prescription's items and to its status.

The rules are read off the national Spine's own records of prescriptions
(``../shared/fhir/eps/tracker_api/spine_responses``: each ``filteredHistory`` entry gives the
prescription and line statuses before and after an upload, release, cancellation, dispense
notification or withdrawal), which ``tests/prescriptions/test_spec_status_truth_table.py`` replays
step by step. Codes: prescription status ``EPS-task-business-status`` (0001-0009, 9000-9005), item
status ``medicationdispense-type`` (0001-0008), as in :mod:`ipmo.prescriptions.codes`.

- upload: every item "to be dispensed" (0007), the prescription "to be dispensed" (0001);
- release (download by a pharmacy): items 0007 → "with dispenser" (0008), prescription 0002;
- cancellation of an item not yet downloaded: the item is cancelled (0005) with its reason; of an
  item with a dispenser: nothing changes but the item is marked *pending cancellation* with its
  reason ("Prescription/item was not cancelled. With dispenser. Marked for cancellation"); the
  prescription is cancelled (0005) when every item is;
- dispense notification: the items take the statuses the dispenser sends (fully dispensed 0001,
  not dispensed 0002, partial 0003, owing 0004); a later notification replaces an earlier one;
- withdrawal of a dispense notification: the items go back to what they were before it
  (the previous notification's statuses, or "with dispenser" if it was the first);
- return to Spine (the dispenser gives the prescription back): items with the dispenser go back
  to 0007 and pending cancellations take effect;
- claim: the prescription becomes "Claimed" (0008) and stays so.

The prescription status follows from its items (:func:`prescription_status`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

TO_BE_DISPENSED, WITH_DISPENSER = "0007", "0008"
FULLY, NOT_DISPENSED, PARTIAL, OWING, CANCELLED, EXPIRED = (
    "0001",
    "0002",
    "0003",
    "0004",
    "0005",
    "0006",
)
DISPENSER_SENDS = {FULLY, NOT_DISPENSED, PARTIAL, OWING}
FINAL = {FULLY, NOT_DISPENSED, CANCELLED, EXPIRED}


class Line(Protocol):
    """One line item's state (the ORM item or a plain object in the truth-table test)."""

    line_item_id: str
    status_code: str
    pending_cancellation: bool
    reason_code: str | None
    reason_display: str | None


def prescription_status(codes: Iterable[str]) -> str:
    """The prescription status from its item statuses, as Spine derives it: all cancelled →
    Cancelled 0005; all expired → Expired 0004; all final with one dispensed → Dispensed 0006,
    none dispensed → Not Dispensed 0007; one partial or owing, or some dispensed while others are
    still with the dispenser → With Dispenser - Active 0003; with a dispenser → 0002; else 0001."""
    codes = list(codes)
    if not codes:
        return "0001"
    if all(c == CANCELLED for c in codes):
        return "0005"
    if all(c == EXPIRED for c in codes):
        return "0004"
    if all(c in FINAL for c in codes):
        return "0006" if FULLY in codes else "0007"
    if any(c in (PARTIAL, OWING) for c in codes) or (
        any(c in (FULLY, NOT_DISPENSED) for c in codes)
    ):
        return "0003"
    if any(c == WITH_DISPENSER for c in codes):
        return "0002"
    return "0001"


def release(lines: Iterable[Line]) -> int:
    """A pharmacy downloaded the prescription: items to be dispensed go to it. Returns how many."""
    moved = 0
    for line in lines:
        if line.status_code == TO_BE_DISPENSED:
            line.status_code = WITH_DISPENSER
            moved += 1
    return moved


def cancel(line: Line, reason_code: str | None, reason_display: str | None) -> str:
    """The prescriber cancels one item: ``"cancelled"``, ``"pending"`` (with the dispenser:
    marked for cancellation) or ``"too-late"`` (already dispensed, not dispensed or expired)."""
    if line.status_code == TO_BE_DISPENSED:
        line.status_code = CANCELLED
        line.reason_code, line.reason_display = reason_code, reason_display
        line.pending_cancellation = False
        return "cancelled"
    if line.status_code == CANCELLED:
        return "cancelled"  # a second cancellation of the same item changes nothing
    if line.status_code in (WITH_DISPENSER, PARTIAL, OWING):
        line.pending_cancellation = True
        line.reason_code, line.reason_display = reason_code, reason_display
        return "pending"
    return "too-late"


def dispense(lines: Mapping[str, Line], statuses: Mapping[str, str]) -> None:
    """A dispense notification: each named item takes the dispenser's status (0001-0004); an item
    no longer with the dispenser loses its pending cancellation (the dispenser has decided)."""
    for line_id, code in statuses.items():
        if code not in DISPENSER_SENDS:
            raise ValueError(f"a dispenser cannot set item status {code}")
        line = lines[line_id]
        line.status_code = code
        if code in FINAL:
            line.pending_cancellation = False
        if code != NOT_DISPENSED and not line.pending_cancellation:
            line.reason_code = line.reason_display = None


def snapshot(lines: Iterable[Line]) -> dict[str, str]:
    """Item statuses, kept with a dispense notification so that a withdrawal can restore them."""
    return {line.line_item_id: line.status_code for line in lines}


def withdraw(lines: Mapping[str, Line], before: Mapping[str, str]) -> None:
    """Withdrawal of a dispense notification: items back to their statuses before it."""
    for line_id, code in before.items():
        lines[line_id].status_code = code


def return_to_spine(lines: Iterable[Line]) -> None:
    """The dispenser returns the prescription: it can be downloaded again; pending
    cancellations take effect."""
    for line in lines:
        if line.status_code in (WITH_DISPENSER, PARTIAL, OWING):
            line.status_code = CANCELLED if line.pending_cancellation else TO_BE_DISPENSED
            line.pending_cancellation = False


def expire(lines: Iterable[Line]) -> int:
    """The prescription's validity has ended: items not yet final expire (0006). Returns how
    many expired."""
    expired = 0
    for line in lines:
        if line.status_code not in FINAL:
            line.status_code = EXPIRED
            line.pending_cancellation = False
            expired += 1
    return expired
