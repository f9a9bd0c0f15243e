"""EPS messages (FHIR R4 message Bundles) into the prescription store.

Read: ``prescription-order`` (a new prescription), ``prescription-order-update`` (cancellation of
items) and ``dispense-notification`` (item statuses from the dispenser), as in the EPS FHIR API
examples (``../shared/fhir/eps/messages``). Each message is checked in full before anything is
written, so a refused message changes nothing. Idempotent on (sender ODS code, Bundle.identifier);
a cancellation or dispense for a prescription not yet received is kept pending and applied when
the prescription arrives (issue 16: "a dispense before its prescription waits, it is not lost").
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.fhir.bundles import BundleIndex, Resource, first_coding, nhs_number_of
from ipmo.fhir.versions import FhirInputError
from ipmo.patients import InvalidNhsNumber, normalise_nhs_number
from ipmo.prescriptions.codes import ITEM_FINAL, ITEM_STATUS, PRESCRIPTION_STATUS
from ipmo.prescriptions.ids import valid_prescription_id
from ipmo.prescriptions.models import EpsMessage, Prescription, PrescriptionItem

ORDER, UPDATE, DISPENSE = "prescription-order", "prescription-order-update", "dispense-notification"
EVENTS = (ORDER, UPDATE, DISPENSE)
ORDER_NUMBER = "https://fhir.nhs.uk/Id/prescription-order-number"
ITEM_NUMBER = "https://fhir.nhs.uk/Id/prescription-order-item-number"
TASK_STATUS_EXT = "https://fhir.nhs.uk/StructureDefinition/Extension-EPS-TaskBusinessStatus"


class MessageRefused(FhirInputError):
    """A message that is not applied; ``.outcome()`` is its OperationOutcome."""


@dataclass
class ItemChange:
    line_item_id: str
    status_code: str
    name: str | None = None
    code: str | None = None
    quantity: str | None = None
    reason_code: str | None = None
    reason_display: str | None = None


@dataclass
class Parsed:
    event: str
    message_id: str
    sender: str
    prescription_id: str
    nhs_number: str
    content_hash: str
    payload: dict[str, Any]
    items: list[ItemChange] = field(default_factory=list)
    long_id: str | None = None
    course: str | None = None
    prescription_type: str | None = None
    authored_on: date | None = None
    nominated_pharmacy: str | None = None
    prescription_status: str | None = None  # stated by a dispense notification


@dataclass(frozen=True)
class IngestResult:
    outcome: str  # applied | pending | replay
    prescription_id: str
    event: str
    applied_pending: int = 0


def _ids(res: Resource, system: str) -> str | None:
    for ident in res.get("identifier") or []:
        if ident.get("system") == system:
            return ident.get("value")
    return None


def _ext(res: Resource, url_end: str) -> dict[str, Any] | None:
    for ext in res.get("extension") or []:
        if str(ext.get("url", "")).endswith(url_end):
            return ext
    return None


def _prescription_id(requests: list[Resource]) -> tuple[str, str | None]:
    found = {(r.get("groupIdentifier") or {}).get("value") for r in requests}
    if None in found or not found:
        raise MessageRefused(
            "required",
            "a MedicationRequest has no groupIdentifier (the prescription ID)",
            "MedicationRequest.groupIdentifier",
        )
    if len(found) > 1:
        raise MessageRefused(
            "business-rule",
            f"the message names {len(found)} prescription IDs; one prescription per message",
            "MedicationRequest.groupIdentifier.value",
        )
    pid = str(found.pop())
    if not valid_prescription_id(pid):
        raise MessageRefused(
            "value",
            "the prescription ID is not a valid EPS short-form ID (18 characters "
            "XXXXXX-XXXXXX-XXXXXC with an ISO 7064 MOD 37-2 check character)",
            "MedicationRequest.groupIdentifier.value",
        )
    long_id = None
    for r in requests:
        ext = _ext(r.get("groupIdentifier") or {}, "Extension-DM-PrescriptionId")
        if ext:
            long_id = (ext.get("valueIdentifier") or {}).get("value")
    return pid, long_id


def _patient(index: BundleIndex, meds: list[Resource]) -> str:
    """The one checked NHS number the message is about; two patients are refused."""
    numbers: set[str] = set()
    for patient in index.of_type("Patient"):
        number = nhs_number_of(patient)
        if number:
            numbers.add(number)
    for res in meds:
        subject = res.get("subject") or {}
        ident = subject.get("identifier") or {}
        if ident.get("value"):
            numbers.add(ident["value"])
    if len(numbers) > 1:
        raise MessageRefused(
            "business-rule",
            f"the message holds {len(numbers)} patients with different NHS numbers; "
            "one patient per message",
            "Bundle.entry.resource.ofType(Patient).identifier",
        )
    if not numbers:
        raise MessageRefused("required", "the message names no patient NHS number", "Patient")
    try:
        return normalise_nhs_number(numbers.pop())
    except InvalidNhsNumber as exc:
        raise MessageRefused("value", f"invalid NHS number: {exc}", "Patient.identifier") from None


def _name(res: Resource) -> tuple[str, str | None]:
    coding = first_coding(res.get("medicationCodeableConcept")) or {}
    return str(coding.get("display") or "unnamed item"), coding.get("code")


def _quantity(res: Resource) -> str | None:
    q = res.get("quantity") or (res.get("dispenseRequest") or {}).get("quantity") or {}
    if q.get("value") is None:
        return None
    return f"{q['value']:g} {q.get('unit') or ''}".strip()


def parse_message(data: bytes | str) -> Parsed:
    """Check one EPS message in full; raises :class:`MessageRefused` naming the element."""
    try:
        root = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MessageRefused("structure", f"not JSON: {exc}") from None
    if not isinstance(root, dict) or root.get("resourceType") != "Bundle":
        rtype = root.get("resourceType") if isinstance(root, dict) else None
        raise MessageRefused(
            "not-supported",
            f"a {rtype or 'non-FHIR'} payload is not an EPS message Bundle "
            "(claims are not read yet)",
            "resourceType",
        )
    if root.get("type") != "message":
        raise MessageRefused("value", "Bundle.type must be 'message'", "Bundle.type")
    index = BundleIndex(root)
    headers = list(index.of_type("MessageHeader"))
    if len(headers) != 1:
        raise MessageRefused("structure", "exactly one MessageHeader expected", "MessageHeader")
    header = headers[0]
    event = (header.get("eventCoding") or {}).get("code")
    if event not in EVENTS:
        raise MessageRefused(
            "not-supported",
            f"message event {event!r} is not one of {', '.join(EVENTS)}",
            "MessageHeader.eventCoding.code",
        )
    message_id = (root.get("identifier") or {}).get("value")
    if not message_id:
        raise MessageRefused("required", "the Bundle has no identifier", "Bundle.identifier")
    sender = ((header.get("sender") or {}).get("identifier") or {}).get("value")
    if not sender:
        raise MessageRefused(
            "required", "the MessageHeader names no sender", "MessageHeader.sender.identifier"
        )
    digest = hashlib.sha256(json.dumps(root, sort_keys=True).encode()).hexdigest()
    if event == DISPENSE:
        dispenses = list(index.of_type("MedicationDispense"))
        if not dispenses:
            raise MessageRefused(
                "required", "a dispense notification without MedicationDispense", "entry"
            )
        requests = []
        changes = []
        for disp in dispenses:
            target = None
            for ref in disp.get("authorizingPrescription") or []:
                target = index.resolve(ref, disp)
            if target is None:
                raise MessageRefused(
                    "not-found",
                    "the MedicationDispense's authorizingPrescription is not in the message",
                    "MedicationDispense.authorizingPrescription",
                )
            requests.append(target)
            item_type = first_coding(disp.get("type")) or {}
            status = item_type.get("code")
            if status not in ITEM_STATUS:
                raise MessageRefused(
                    "code-invalid",
                    f"unknown item status {status!r} (medicationdispense-type 0001-0008)",
                    "MedicationDispense.type",
                )
            line = _ids(target, ITEM_NUMBER)
            if not line:
                raise MessageRefused(
                    "required",
                    "the authorising MedicationRequest has no line item number",
                    "MedicationRequest.identifier",
                )
            name, code = _name(disp)
            reason = first_coding(disp.get("statusReasonCodeableConcept")) or {}
            changes.append(
                ItemChange(
                    line,
                    status,
                    name,
                    code,
                    _quantity(disp),
                    reason.get("code"),
                    reason.get("display"),
                )
            )
        pid, long_id = _prescription_id(requests)
        stated = None
        for disp in dispenses:
            ext = _ext(disp, "Extension-EPS-TaskBusinessStatus")
            if ext:
                stated = (ext.get("valueCoding") or {}).get("code")
        if stated is not None and stated not in PRESCRIPTION_STATUS:
            raise MessageRefused(
                "code-invalid",
                f"unknown prescription status {stated!r}",
                "MedicationDispense.extension(Extension-EPS-TaskBusinessStatus)",
            )
        parsed = Parsed(
            event, message_id, sender, pid, _patient(index, dispenses + requests), digest, root
        )
        parsed.items, parsed.long_id, parsed.prescription_status = changes, long_id, stated
        return parsed
    requests = list(index.of_type("MedicationRequest"))
    if not requests:
        raise MessageRefused("required", "the message holds no MedicationRequest", "entry")
    pid, long_id = _prescription_id(requests)
    parsed = Parsed(event, message_id, sender, pid, _patient(index, requests), digest, root)
    parsed.long_id = long_id
    for req in requests:
        line = _ids(req, ITEM_NUMBER)
        if not line:
            raise MessageRefused(
                "required",
                "a MedicationRequest has no line item number",
                "MedicationRequest.identifier",
            )
        name, code = _name(req)
        if event == ORDER:
            parsed.items.append(ItemChange(line, "0007", name, code, _quantity(req)))
            course = first_coding(req.get("courseOfTherapyType")) or {}
            parsed.course = parsed.course or course.get("code")
            ptype = _ext(req, "Extension-DM-PrescriptionType")
            if ptype:
                parsed.prescription_type = (ptype.get("valueCoding") or {}).get("code")
            dr = req.get("dispenseRequest") or {}
            start = (dr.get("validityPeriod") or {}).get("start")
            if start:
                parsed.authored_on = date.fromisoformat(start[:10])
            performer = (dr.get("performer") or {}).get("identifier") or {}
            parsed.nominated_pharmacy = parsed.nominated_pharmacy or performer.get("value")
        elif req.get("status") == "cancelled":
            reason = first_coding(req.get("statusReason")) or {}
            parsed.items.append(
                ItemChange(
                    line, "0005", name, code, None, reason.get("code"), reason.get("display")
                )
            )
    if event == UPDATE and not parsed.items:
        raise MessageRefused(
            "not-supported",
            "an order update with no cancelled MedicationRequest",
            "MedicationRequest.status",
        )
    return parsed


def _derived_status(items: list[PrescriptionItem]) -> str:
    """Prescription status from its items (EPS-task-business-status): all cancelled → 0005;
    all final with one dispensed → 0006, none dispensed → 0007; some dispensed → 0003."""
    codes = [i.status_code for i in items]
    if codes and all(c == "0005" for c in codes):
        return "0005"
    if codes and all(c in ITEM_FINAL for c in codes):
        return "0006" if "0001" in codes else "0007"
    if any(c in ("0001", "0003", "0004") for c in codes):
        return "0003"
    if any(c == "0008" for c in codes):
        return "0002"
    return "0001"


def _check_items(p: Prescription, parsed: Parsed) -> None:
    known = {i.line_item_id for i in p.items}
    for change in parsed.items:
        if change.line_item_id not in known:
            raise MessageRefused(
                "not-found",
                f"the {parsed.event} names a line item that prescription "
                f"{parsed.prescription_id} does not have",
                "MedicationRequest.identifier",
            )
    if p.nhs_number != parsed.nhs_number:
        raise MessageRefused(
            "business-rule",
            f"the {parsed.event} is for another patient than prescription {parsed.prescription_id}",
            "subject",
        )


def _apply_change(p: Prescription, parsed: Parsed) -> None:
    by_line = {i.line_item_id: i for i in p.items}
    for change in parsed.items:
        item = by_line[change.line_item_id]
        item.status_code = change.status_code
        item.reason_code, item.reason_display = change.reason_code, change.reason_display
        if parsed.event == DISPENSE and change.quantity:
            item.quantity = change.quantity
    if parsed.event == DISPENSE:
        p.dispenser_org = parsed.sender
    p.status_code = _derived_status(p.items)
    if parsed.event == DISPENSE and parsed.prescription_status:
        p.status_code = parsed.prescription_status  # what the dispenser states wins


def ingest_message(session: Session, data: bytes | str) -> IngestResult:
    """Read one EPS message into the store (nothing written if it is refused)."""
    parsed = parse_message(data)
    seen = session.scalar(
        select(EpsMessage).where(
            EpsMessage.sender_org == parsed.sender, EpsMessage.message_id == parsed.message_id
        )
    )
    if seen is not None:
        if seen.content_hash == parsed.content_hash:
            return IngestResult("replay", parsed.prescription_id, parsed.event)
        raise MessageRefused(
            "duplicate",
            "this sender already sent a different message with the same message id",
            "Bundle.identifier",
        )
    p = session.scalar(
        select(Prescription).where(Prescription.prescription_id == parsed.prescription_id)
    )
    if parsed.event == ORDER:
        if p is not None:
            raise MessageRefused(
                "duplicate",
                f"prescription {parsed.prescription_id} was already received in another message",
                "MedicationRequest.groupIdentifier.value",
            )
        p = _create(session, parsed)
        applied = _apply_pending(session, p)
        _record(session, parsed, "applied")
        return IngestResult("applied", parsed.prescription_id, parsed.event, applied)
    if p is None:  # before its prescription: kept whole, applied when the order comes
        _record(session, parsed, "pending", keep=True)
        return IngestResult("pending", parsed.prescription_id, parsed.event)
    _check_items(p, parsed)
    _apply_change(p, parsed)
    _record(session, parsed, "applied")
    return IngestResult("applied", parsed.prescription_id, parsed.event)


def _create(session: Session, parsed: Parsed) -> Prescription:
    p = Prescription(
        prescription_id=parsed.prescription_id,
        long_id=parsed.long_id,
        nhs_number=parsed.nhs_number,
        status_code="0001",
        course=parsed.course,
        prescription_type=parsed.prescription_type,
        authored_on=parsed.authored_on,
        prescriber_org=parsed.prescription_id[7:13].lstrip("0") or None,
        nominated_pharmacy=parsed.nominated_pharmacy,
    )
    for change in parsed.items:
        p.items.append(
            PrescriptionItem(
                line_item_id=change.line_item_id,
                name=change.name or "unnamed item",
                code=change.code,
                quantity=change.quantity,
                status_code=change.status_code,
            )
        )
    session.add(p)
    session.flush()
    return p


def _apply_pending(session: Session, p: Prescription) -> int:
    """Apply, in the order received, what arrived before the prescription. One that no longer
    fits (an unknown item) stays pending with the prescription: it is reported, never lost."""
    waiting = session.scalars(
        select(EpsMessage)
        .where(EpsMessage.prescription_id == p.prescription_id, EpsMessage.state == "pending")
        .order_by(EpsMessage.id)
    ).all()
    applied = 0
    for msg in waiting:
        parsed = parse_message(json.dumps(msg.payload))
        try:
            _check_items(p, parsed)
        except MessageRefused:
            msg.state = "unmatched"
            continue
        _apply_change(p, parsed)
        msg.state, msg.payload = "applied", None
        applied += 1
    return applied


def _record(session: Session, parsed: Parsed, state: str, keep: bool = False) -> None:
    session.add(
        EpsMessage(
            sender_org=parsed.sender,
            message_id=parsed.message_id,
            event=parsed.event,
            prescription_id=parsed.prescription_id,
            content_hash=parsed.content_hash,
            state=state,
            payload=parsed.payload if keep else None,
        )
    )
    session.flush()
