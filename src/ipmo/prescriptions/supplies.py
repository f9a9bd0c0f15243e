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
from datetime import UTC, datetime, timedelta

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


def record_demo_dispenses(session: Session, supplies: Iterable[tuple]) -> int:
    """Demo only (the ``DEMO_DISPENSES`` hook): store supplies as EPS prescriptions dispensed in
    full, as the dispense notifications would have left them, without the messages. Each is
    ``(nhs_number, prescriber_org, pharmacy, dm+d code, name, quantity, unit, dispensed_at)``;
    the prescription ID is derived from them, so a second run adds nothing. Returns how many
    were added."""
    from hashlib import sha256

    from ipmo.prescriptions.ids import check_character

    added = 0
    for nhs, prescriber, pharmacy, code, name, quantity, unit, at in supplies:
        digest = sha256(f"{nhs}|{code}|{at.isoformat()}".encode()).hexdigest().upper()
        body = f"{digest[:6]}{(prescriber or 'DEMO')[:6]:0>6}{digest[6:11]}"
        pid = f"{body[:6]}-{body[6:12]}-{body[12:]}{check_character(body)}"
        if session.scalar(select(Prescription.id).where(Prescription.prescription_id == pid)):
            continue
        p = Prescription(prescription_id=pid, nhs_number=nhs, status_code="0006")  # dispensed
        p.course, p.prescriber_org, p.dispenser_org = "repeat", prescriber, pharmacy
        p.nominated_pharmacy, p.authored_on = pharmacy, (at - timedelta(days=3)).date()
        p.issued_at, p.released_at = at - timedelta(days=3), at - timedelta(days=1)
        session.add(p)
        session.flush()
        text = f"{quantity:g} {unit}".strip()
        session.add(
            PrescriptionItem(
                prescription_pk=p.id,
                line_item_id=f"{pid}-1",
                name=name,
                code=code,
                quantity=text,
                status_code=FULLY,
            )
        )
        session.add(
            PrescriptionEvent(
                prescription_pk=p.id,
                at=at,
                kind="dispensed",
                status_from="0002",
                status_to="0006",
                org=pharmacy,
                detail=f"{name}: {text} (demo)",
            )
        )
        added += 1
    session.flush()
    return added
