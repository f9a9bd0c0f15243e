"""A medicine a community pharmacy supplied (PGD, protocol or emergency supply) added to the One
Medication Record as a *pharmacy* source (issue 15: "the supplied medicine is added to the One
Medication Record as a pharmacy source").

Each pharmacy has one source list per patient in ipmo (system ``ipmo-pharmacy-supplies``); a
supply adds one dispense line to it (``MedicationDispense``, handed over on the day, lasting its
days of treatment: the records.current D1 rule decides when it stops being current). The list is
re-ingested through :func:`ipmo.records.service.ingest`, so the record version is bumped and
reconciliation sees it like any other source. Recording the same supply twice (same reference and
product) changes nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from ipmo.patients.models import Patient
from ipmo.records.canonical import MedItem, SourceDocument, content_hash
from ipmo.records.current import DISPENSE
from ipmo.records.service import RecordError, ingest, load_sources

SUPPLY_SYSTEM = "ipmo-pharmacy-supplies"


@dataclass(frozen=True)
class PharmacySupply:
    reference: str  # the supplying consultation's reference
    dmd_code: str | None
    name: str
    quantity: float | None
    unit: str | None
    days: int | None
    dose_text: str | None
    supplied_on: date
    supply_type: str  # pgd | protocol | emergency-supply


def _supplies_list(session: Any, patient: Patient, org_code: str) -> SourceDocument | None:
    """The pharmacy ``org_code``'s source list of supplies for ``patient``, if it has one."""
    return next(
        (
            d
            for d in load_sources(session, patient.id)
            if d.source_org_code == org_code and d.source_system == SUPPLY_SYSTEM
        ),
        None,
    )


def _store(
    session: Any, patient: Patient, org_code: str, items: list[MedItem], as_of: date | None
) -> Any:
    doc = SourceDocument(
        source_kind="pharmacy",
        source_org_code=org_code,
        source_system=SUPPLY_SYSTEM,
        items=items,
        nhs_number=patient.nhs_number,
        as_of=as_of,
        kind_reason="stated by the caller: medicines this pharmacy supplied, recorded in ipmo",
        content_hash=content_hash([i.to_json() for i in items]),
        resources_read=len(items),
    )
    return ingest(session, doc)


def record_pharmacy_supply(
    session: Any, principal: Any, patient: Patient, org_code: str, supply: PharmacySupply
) -> int:
    """Add ``supply`` to the pharmacy ``org_code``'s source list for ``patient``; audited.
    Returns the record version. The caller has checked its access to the patient."""
    from ipmo.security.access import audit_event

    if not supply.name.strip():
        raise RecordError("a pharmacy supply must name the medicine")
    existing = _supplies_list(session, patient, org_code)
    items = list(existing.items) if existing else []
    if any(i.resource_id == supply.reference and i.code == supply.dmd_code for i in items):
        return -1  # recorded before: nothing changes
    items.append(
        MedItem(
            name=supply.name,
            status="completed",
            code=supply.dmd_code,
            code_system="https://dmd.nhs.uk" if supply.dmd_code else None,
            dose_text=supply.dose_text,
            category="acute",
            authored_on=supply.supplied_on,
            last_issued=supply.supplied_on,
            resource_type=DISPENSE,
            resource_id=supply.reference,
            date_source="whenHandedOver",
            supply_days=float(supply.days) if supply.days else None,
            supply_basis=f"{supply.supply_type} supply: {supply.quantity:g} {supply.unit or ''}"
            if supply.quantity
            else f"{supply.supply_type} supply",
        )
    )
    as_of = max([supply.supplied_on, *([existing.as_of] if existing and existing.as_of else [])])
    result = _store(session, patient, org_code, items, as_of)
    audit_event(
        session,
        principal,
        "record.pharmacy_supply",
        patient,
        detail={"source_list": result.source_list_id, "supply": supply.reference},
    )
    return result.version


def withdraw_pharmacy_supplies(
    session: Any, principal: Any, patient: Patient, org_code: str, references: Collection[str]
) -> int:
    """Take the supplies recorded under ``references`` out of the pharmacy ``org_code``'s source
    list for ``patient`` (the pharmacy withdrew what it said it handed over, e.g. an EPS dispense
    notification withdrawn); audited. Returns the record version, or -1 when none of them is
    recorded (nothing changes). The caller has checked its access to the patient."""
    from ipmo.security.access import audit_event

    existing = _supplies_list(session, patient, org_code)
    if existing is None:
        return -1
    kept = [i for i in existing.items if i.resource_id not in references]
    if len(kept) == len(existing.items):
        return -1
    result = _store(session, patient, org_code, kept, existing.as_of)
    audit_event(
        session,
        principal,
        "record.pharmacy_supply_withdrawn",
        patient,
        detail={
            "source_list": result.source_list_id,
            "withdrawn": len(existing.items) - len(kept),
        },
    )
    return result.version
