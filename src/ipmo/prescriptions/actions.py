"""Prescriptions use cases: the ONE place in this domain that checks access and writes audit.

Each use case is ``(session, principal, …)`` in the caller's unit of work; ``api.py`` and
``pages.py`` are thin adapters. A patient's prescriptions are reached only through the access
policy (:func:`~ipmo.security.access.check_patient_access`: a relationship + one audit entry):
NHS 111 clinicians and pharmacists see the prescriptions of patients they have a relationship
with (registration, nomination, an open referral, or — offered by ``prescriptions/hooks.py`` —
a prescription their organisation issued or dispenses); a pharmacy whose only relationship is
such a prescription sees its own prescriptions (issued, nominated or dispensed there), not the
patient's others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, selectinload

from ipmo.fhir.outcome import FhirError
from ipmo.organisations import Organisation, OrgKind
from ipmo.patients import InvalidNhsNumber, Patient, normalise_nhs_number
from ipmo.prescriptions.ids import valid_prescription_id
from ipmo.prescriptions.models import Prescription, PrescriptionEvent
from ipmo.prescriptions.stuck import Stuck, find_stuck, open_now
from ipmo.security.access import audit_event, check_patient_access, check_patient_relationship
from ipmo.security.policy import visible_patients_filter
from ipmo.security.principal import Principal
from ipmo.security.roles import ROLES

ACTION = "prescriptions.track"
OWN_ONLY = "eps-prescription"  # the relationship offered by prescriptions/hooks.py


@dataclass
class Found:
    """What a search found and may show: rows, the patient's NHS number and Patient."""

    rows: list[Prescription] = field(default_factory=list)
    nhs_number: str | None = None
    patient: Any = None


def _own(principal: Principal, rows: list[Prescription]) -> list[Prescription]:
    org = principal.org_code
    return [r for r in rows if org in (r.prescriber_org, r.nominated_pharmacy, r.dispenser_org)]


def _visible(principal: Principal, relationship: str, rows: list[Prescription]):
    if relationship == OWN_ONLY:
        return _own(principal, rows)
    return rows


def search(
    session: Session,
    principal: Principal,
    prescription_id: str | None,
    nhs_number: str | None,
    date_from: date | None = None,
    date_to: date | None = None,
    *,
    with_events: bool = True,
) -> Found:
    """Prescriptions by prescription ID *or* NHS number (never both: :class:`FhirError` 400, as
    the national tracker), optionally issued within ``date_from``–``date_to``;
    ``PatientAccessDenied`` (403, audited) without a relationship. ``with_events``: load each
    prescription's timeline with it (the tracker API's search by NHS number does not show it)."""
    if (prescription_id is None) == (nhs_number is None):
        raise FhirError(
            400,
            "value",
            "give exactly one of prescription_id or nhs_number",
            ["prescription_id", "nhs_number"],
        )
    if date_from and date_to and date_from > date_to:
        raise FhirError(400, "value", "the date range ends before it starts", "date_from")
    query = select(Prescription).options(selectinload(Prescription.items))
    if with_events:
        query = query.options(selectinload(Prescription.events))
    if prescription_id is not None:
        pid = prescription_id.strip().upper()
        if not valid_prescription_id(pid):
            raise FhirError(
                400,
                "value",
                "prescription_id is not a valid EPS short-form prescription ID "
                "(XXXXXX-XXXXXX-XXXXXC with its check character)",
                "prescription_id",
            )
        found = session.scalar(query.where(Prescription.prescription_id == pid))
        if found is None:
            audit_event(session, principal, ACTION, detail={"found": 0})
            return Found()
        patient, why = check_patient_relationship(session, principal, found.nhs_number, ACTION)
        return Found(_visible(principal, why, [found]), found.nhs_number, patient)
    try:
        number = normalise_nhs_number(nhs_number or "")
    except InvalidNhsNumber as exc:
        raise FhirError(400, "value", f"nhs_number: {exc}", "nhs_number") from None
    patient, why = check_patient_relationship(session, principal, number, ACTION)
    query = query.where(Prescription.nhs_number == number)
    if date_from:
        query = query.where(Prescription.authored_on >= date_from)
    if date_to:
        query = query.where(Prescription.authored_on <= date_to)
    rows = session.scalars(
        query.order_by(Prescription.authored_on.desc(), Prescription.id.desc())
    ).all()
    return Found(_visible(principal, why, list(rows)), number, patient)


def own_prescriptions_filter(principal: Principal):
    """SQL: prescriptions the principal's organisation issued, is nominated for or dispenses."""
    org = principal.org_code
    return or_(
        Prescription.prescriber_org == org,
        Prescription.nominated_pharmacy == org,
        Prescription.dispenser_org == org,
    )


class RedirectError(ValueError):
    """A redirect that cannot be made (nothing written); the message says why, for the page."""


def _may_see(principal: Principal):
    """SQL over prescriptions: its patient is visible to the principal (the access policy), or
    the principal's organisation issued, is nominated for or dispenses it."""
    visible = exists().where(
        Patient.nhs_number == Prescription.nhs_number, visible_patients_filter(principal)
    )
    return or_(visible, own_prescriptions_filter(principal))


def stuck_list(session: Session, principal: Principal, now: datetime) -> list[Stuck]:
    """The urgent prescriptions stuck at a pharmacy that the principal may see (one audit entry
    naming how many were listed)."""
    rows = find_stuck(session, now, where=_may_see(principal))
    audit_event(session, principal, "prescriptions.stuck.list", detail={"listed": len(rows)})
    return rows


def open_pharmacies(session: Session, now: datetime) -> list[Organisation]:
    pharmacies = session.scalars(
        select(Organisation)
        .where(Organisation.kind == OrgKind.PHARMACY, Organisation.active.is_(True))
        .order_by(Organisation.name)
    ).all()
    return [o for o in pharmacies if open_now(dict(o.opening_hours or {}), now)]


def redirect(
    session: Session, principal: Principal, prescription_id: str, pharmacy: str, now: datetime
) -> Prescription:
    """Send the patient's urgent prescription to another pharmacy that is open now: ipmo records
    the new pharmacy (the patient or 111 then asks it to download the prescription by its ID)
    and restarts the stuck clock. Access checked and audited on the patient first."""
    p = session.scalar(
        select(Prescription)
        .options(selectinload(Prescription.events))
        .where(Prescription.prescription_id == prescription_id)
    )
    if p is None:
        raise RedirectError("There is no prescription with that ID")
    check_patient_access(session, principal, p.nhs_number, "prescriptions.redirect")
    if p.status_code != "0001":
        raise RedirectError("This prescription has already been downloaded by a pharmacy")
    target = next((o for o in open_pharmacies(session, now) if o.ods_code == pharmacy), None)
    if target is None:
        raise RedirectError("Select a pharmacy that is open now")
    if target.ods_code == p.nominated_pharmacy:
        raise RedirectError("Select a different pharmacy from the one it is waiting at")
    previous = p.nominated_pharmacy
    p.nominated_pharmacy, p.redirected_at = target.ods_code, now
    p.events.append(
        PrescriptionEvent(
            at=now,
            kind="redirected",
            status_from=p.status_code,
            status_to=p.status_code,
            org=principal.org_code,
            detail=f"sent to {target.name} ({target.ods_code}) from {previous or 'no pharmacy'}",
        )
    )
    session.flush()
    return p


def eps_feed(dispenser: str) -> Principal:
    """The principal the EPS feed acts as when a dispense reaches the One Medication Record: a
    community pharmacist of the dispensing pharmacy (its audit entries name the pharmacy)."""
    return Principal(
        0, f"system:eps-feed@{dispenser}", "EPS feed", ROLES["community-pharmacist"], dispenser
    )


@dataclass
class RecordFeed:
    """What applied EPS changes do to the patient's One Medication Record: ``dispensed`` lines
    (line item id → dispense message id) become lines of the dispensing pharmacy's source; a
    ``withdrawn`` dispense notification ((pharmacy, message id)) takes its lines out again."""

    dispensed: dict[str, str] = field(default_factory=dict)
    withdrawn: list[tuple[str, str]] = field(default_factory=list)

    def add(self, other: RecordFeed) -> None:
        self.dispensed.update(other.dispensed)
        self.withdrawn.extend(other.withdrawn)

    def __bool__(self) -> bool:
        return bool(self.dispensed or self.withdrawn)


def _supply_reference(p: Prescription, line: str, message_id: str) -> str:
    return f"{p.prescription_id}:{line}:{message_id}"


def _record_dispensed(
    session: Session, patient: Patient, p: Prescription, dispensed: dict[str, str]
) -> int:
    from ipmo import records

    dispenser = p.dispenser_org or ""
    by_line = {i.line_item_id: i for i in p.items}
    recorded = 0
    for line, message_id in dispensed.items():
        item = by_line[line]
        quantity, _, unit = (item.quantity or "").partition(" ")
        supply = records.PharmacySupply(
            reference=_supply_reference(p, line, message_id),
            dmd_code=item.code,
            name=item.name,
            quantity=float(quantity) if quantity.replace(".", "", 1).isdigit() else None,
            unit=unit or None,
            days=None,
            dose_text=None,
            supplied_on=(p.events[-1].at if p.events else datetime.now(UTC)).date(),
            supply_type="EPS dispensing",
        )
        if (
            records.record_pharmacy_supply(session, eps_feed(dispenser), patient, dispenser, supply)
            != -1
        ):
            recorded += 1
    return recorded


def feed_medication_record(session: Session, p: Prescription, feed: RecordFeed) -> int:
    """Dispensed items (fully or partly) become lines of the dispensing pharmacy's source in the
    patient's One Medication Record, through the records domain's published
    :func:`ipmo.records.record_pharmacy_supply` (audited there as ``record.pharmacy_supply``); a
    withdrawn dispense notification takes the lines it added out again
    (:func:`ipmo.records.withdraw_pharmacy_supplies`, audited as
    ``record.pharmacy_supply_withdrawn``: a withdrawal returns the items to their state before
    that dispense — ``tracker_api/spine_responses/acuteWithWithdrawnDispenseNotification.xml`` —
    so the record must not keep what it said was handed over). Only for patients of this ICS;
    returns the lines recorded plus the withdrawals that took lines out."""
    from ipmo import records

    patient = session.scalar(select(Patient).where(Patient.nhs_number == p.nhs_number))
    if patient is None:
        return 0
    changed = _record_dispensed(session, patient, p, feed.dispensed) if p.dispenser_org else 0
    for pharmacy, message_id in feed.withdrawn:
        references = {_supply_reference(p, i.line_item_id, message_id) for i in p.items}
        if (
            records.withdraw_pharmacy_supplies(
                session, eps_feed(pharmacy), patient, pharmacy, references
            )
            != -1
        ):
            changed += 1
    return changed


def exemption(session: Session, principal: Principal, nhs_number: str, on: date):
    """The eligibility answer for a patient on the dispensing date ``on`` (access checked and
    audited as ``prescriptions.exemption``)."""
    from ipmo.prescriptions.exemptions import Certificate, decide
    from ipmo.prescriptions.models import ExemptionCertificate

    patient = check_patient_access(session, principal, nhs_number, "prescriptions.exemption")
    certificates = [
        Certificate(c.kind, c.valid_from, c.valid_to, c.reference)
        for c in session.scalars(
            select(ExemptionCertificate).where(
                ExemptionCertificate.nhs_number == patient.nhs_number
            )
        )
    ]
    return patient, decide(patient.birth_date, on, certificates)


def entitlements(session: Session, principal: Principal, as_of: date):
    """The entitlement finder over the patients the principal may see (one audit entry)."""
    from ipmo.prescriptions.entitlement import find_entitlements

    found = find_entitlements(session, as_of, where=visible_patients_filter(principal, session))
    audit_event(session, principal, "prescriptions.entitlement", detail={"findings": len(found)})
    return found
