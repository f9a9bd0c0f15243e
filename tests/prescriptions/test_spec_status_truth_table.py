"""The Spine's own prescription records are the truth table for the status rules.

Each file in ``tracker_api/spine_responses`` holds a prescription's ``filteredHistory``: for
every event (upload, release, cancellation, dispense notification, withdrawal) the prescription
status and every line's status before and after, and the cancellation reason ("Pending: …" while
the item is with a dispenser). The test replays each event through
:mod:`ipmo.prescriptions.status` from the *before* state and compares the *after* state, step by
step, for every file that has a history.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from ipmo.prescriptions import status

NS = "{urn:hl7-org:v3}"


@dataclass
class L:
    line_item_id: str
    status_code: str
    pending_cancellation: bool = False
    reason_code: str | None = None
    reason_display: str | None = None


def _text(node, tag):
    found = node.find(NS + tag)
    return None if found is None else (found.text or "")


def _steps(path: Path):
    root = ET.parse(path).getroot()
    out = []
    for step in root.iter(NS + "filteredHistory"):
        lines = []
        for line in step.iter(NS + "line"):
            lines.append(
                (
                    _text(line, "id"),
                    _text(line, "fromStatus"),
                    _text(line, "toStatus"),
                    _text(line, "cancellationReason") or "",
                )
            )
        out.append(
            (
                _text(step, "message"),
                _text(step, "fromStatus"),
                _text(step, "toStatus"),
                lines,
            )
        )
    return out


def _files(shared_dir):
    folder = shared_dir / "fhir" / "eps" / "tracker_api" / "spine_responses"
    return sorted(folder.glob("*.xml"))


def _replay(steps):
    """Replay every step; returns the number of steps checked."""
    lines: dict[str, L] = {}
    dispenses: list[dict[str, str]] = []
    checked = 0
    for message, p_from, p_to, changes in steps:
        if message.startswith("Prescription upload"):
            lines = {lid: L(lid, "0007") for lid, *_ in changes}
        else:
            assert status.prescription_status(ln.status_code for ln in lines.values()) == p_from
            assert {lid: lines[lid].status_code for lid, *_ in changes} == {
                lid: before for lid, before, *_ in changes
            }
        if message.startswith("Release Request"):
            status.release(lines.values())
        elif message.startswith("Prescription/item was"):
            # the cancelled item: the one whose reason appears at this step
            (target,) = [
                lid for lid, _, _, reason in changes if reason and not lines[lid].reason_display
            ]
            reason = next(r for lid, _, _, r in changes if lid == target).removeprefix("Pending: ")
            outcome = status.cancel(lines[target], "0001", reason)
            assert outcome == ("pending" if "not cancelled" in message else "cancelled")
        elif message.startswith("Dispense notification"):
            dispenses.append(status.snapshot(lines.values()))
            status.dispense(lines, {lid: after for lid, _, after, _ in changes})
        elif message.startswith("Dispense Withdrawal"):
            status.withdraw(lines, dispenses.pop())
        # after the step: the prescription status, each line's status, each pending reason
        assert status.prescription_status(ln.status_code for ln in lines.values()) == p_to
        for lid, _, after, reason in changes:
            assert lines[lid].status_code == after
            assert lines[lid].pending_cancellation == reason.startswith("Pending: ")
            if reason:
                assert lines[lid].reason_display == reason.removeprefix("Pending: ")
        checked += 1
    return checked


def test_spec_every_spine_history_replays_to_the_same_statuses(shared_dir):
    files = _files(shared_dir)
    replayed = {}
    for path in files:
        steps = _steps(path)
        if steps:
            replayed[path.name] = _replay(steps)
    # 33 of the 36 responses carry a history (the 3 others are error answers)
    assert len(replayed) == 33 and sum(replayed.values()) >= 100
    assert {p.name for p in files} - set(replayed) == {
        "malformedError.xml",
        "notFound.xml",
        "unknownError.xml",
    }


@pytest.mark.parametrize(
    ("name", "final"),
    [
        ("acuteCreated.xml", "0001"),
        ("acuteReleased.xml", "0002"),
        ("acuteDispensed.xml", "0006"),
        ("acutePartiallyDispensed.xml", "0003"),
        ("acuteNonDispensed.xml", "0007"),
        ("acuteWithNonDispensedItem.xml", "0006"),
        ("acuteCancelled.xml", "0005"),
        ("acuteWithCancelledItem.xml", "0001"),
        ("acutePendingCancellation.xml", "0002"),
        ("acuteWithdrawn.xml", "0002"),
        ("acuteWithWithdrawnDispenseNotification.xml", "0003"),
        ("erdDispensedWith0Quantity.xml", "0006"),
    ],
)
def test_spec_final_prescription_status_per_situation(shared_dir, name, final):
    path = shared_dir / "fhir" / "eps" / "tracker_api" / "spine_responses" / name
    recorded = _text(next(ET.parse(path).getroot().iter(NS + "epsRecord")), "prescriptionStatus")
    assert recorded == final  # the file's own final status
    steps = _steps(path)
    assert _replay(steps) == len(steps) and steps[-1][2] == final


def test_spec_cancellation_after_dispensing_is_too_late():
    line = L("a", "0001")
    assert status.cancel(line, "0001", "Prescribing Error") == "too-late"
    assert line.status_code == "0001" and not line.pending_cancellation


def test_spec_return_to_spine_applies_pending_cancellations():
    lines = {"a": L("a", "0008"), "b": L("b", "0008")}
    assert status.cancel(lines["a"], "0001", "Prescribing Error") == "pending"
    status.return_to_spine(lines.values())
    assert [ln.status_code for ln in lines.values()] == ["0005", "0007"]
    assert status.prescription_status(ln.status_code for ln in lines.values()) == "0001"


def test_spec_a_dispenser_cannot_send_cancelled_or_to_be_dispensed():
    with pytest.raises(ValueError, match="0005"):
        status.dispense({"a": L("a", "0008")}, {"a": "0005"})


def test_spec_expiry_expires_what_was_not_dispensed():
    lines = {"a": L("a", "0001"), "b": L("b", "0008"), "c": L("c", "0004")}
    assert status.expire(lines.values()) == 2
    assert [ln.status_code for ln in lines.values()] == ["0001", "0006", "0006"]
    assert status.prescription_status(ln.status_code for ln in lines.values()) == "0006"
    nothing = [L("a", "0007"), L("b", "0007")]
    status.expire(nothing)
    assert status.prescription_status(ln.status_code for ln in nothing) == "0004"  # Expired
