"""What EPS dispense notifications say was handed over: per item, the quantity and when.

Offered to other domains as the ``DISPENSED_SUPPLIES`` hook (the care-homes domain compares a
home's supplies with what its eMAR shows was given). An item counts when its status is
dispensed or partially dispensed; its time is that of the prescription's latest dispense
notification not withdrawn; its quantity is the one the dispenser stated (the quantity
prescribed when the notification gave none)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.prescriptions.models import Prescription, PrescriptionEvent, PrescriptionItem
from ipmo.prescriptions.status import FULLY, PARTIAL

DISPENSE_EVENTS = ("dispensed", "partially-dispensed")
_QUANTITY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(.*?)\s*$")


@dataclass(frozen=True)
class DispensedSupply:
    nhs_number: str
    code: str | None  # dm+d code of the item
    name: str
    quantity: float | None  # None when the message gave no number
    unit: str | None
    dispensed_at: datetime  # aware, UTC
    prescription_id: str
    dispenser: str | None  # ODS code of the pharmacy


def quantity_of(text: str | None) -> tuple[float | None, str | None]:
    """``"28 tablet"`` → ``(28.0, "tablet")``; no leading number → ``(None, None)``."""
    found = _QUANTITY.match(text or "")
    if not found:
        return None, None
    return float(found.group(1)), found.group(2) or None


def _aware(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def dispensed_supplies(
    session: Session, nhs_numbers: Iterable[str], since: datetime, until: datetime
) -> list[DispensedSupply]:
    """Items dispensed to these patients with ``since <= dispensed_at < until`` (aware times).
    The caller has checked its access to the patients (no audit here)."""
    numbers = sorted(set(nhs_numbers))
    if not numbers:
        return []
    latest: dict[int, datetime] = {}
    rows = session.execute(
        select(PrescriptionEvent.prescription_pk, PrescriptionEvent.at)
        .join(Prescription, Prescription.id == PrescriptionEvent.prescription_pk)
        .where(Prescription.nhs_number.in_(numbers))
        .where(PrescriptionEvent.kind.in_(DISPENSE_EVENTS), PrescriptionEvent.withdrawn.is_(False))
    )
    for pk, at in rows:
        aware = _aware(at)
        if pk not in latest or aware > latest[pk]:
            latest[pk] = aware
    lo, hi = _aware(since), _aware(until)
    out = []
    for pk, nhs, pid, dispenser, code, name, quantity in session.execute(
        select(
            Prescription.id,
            Prescription.nhs_number,
            Prescription.prescription_id,
            Prescription.dispenser_org,
            PrescriptionItem.code,
            PrescriptionItem.name,
            PrescriptionItem.quantity,
        )
        .join(PrescriptionItem, PrescriptionItem.prescription_pk == Prescription.id)
        .where(Prescription.nhs_number.in_(numbers))
        .where(PrescriptionItem.status_code.in_((FULLY, PARTIAL)))
        .order_by(Prescription.id, PrescriptionItem.id)
    ):
        when = latest.get(pk)
        if when is None or not lo <= when < hi:
            continue
        value, unit = quantity_of(quantity)
        out.append(DispensedSupply(nhs, code, name, value, unit, when, pid, dispenser))
    return out
