"""EPS messages read into :class:`Parsed` changes, each checked in full before anything is
written (a refused message changes nothing; :class:`MessageRefused` names the element).

Kinds (``../shared/fhir/eps``):

- FHIR message Bundles (EPS FHIR API ``$process-message``): ``prescription-order`` (a new
  prescription), ``prescription-order-update`` (cancellation of items) and
  ``dispense-notification`` (item statuses from the dispenser);
- ``Parameters`` (EPS ``Task/$release``): a pharmacy downloads the prescription named by its
  ``group-identifier`` (patient release), or, naming none, every prescription nominated to it
  that is ready to download (nominated pharmacy release: ``prescription_id`` is empty and the
  store resolves which ones, :mod:`ipmo.prescriptions.ingest`);
- ``Task`` (EPS ``POST /Task``): ``status = in-progress`` with ``code = abort`` withdraws the
  dispense notification named by ``focus`` (reason from ``EPS-task-dispense-withdraw-reason``);
  ``status = rejected`` returns the prescription to Spine;
- ``Claim`` (EPS ``POST /Claim``): the dispenser's claim for payment, with the prescription charge
  exemption (``prescription-charge-exemption``) and evidence seen; each claimed item must carry its
  dispenser endorsement (``medicationdispense-endorsement``, "NDEC" when none applies), as EPS
  requires (the example ``…Claim-Request-400_Missing_Endorsement_Code.json`` is refused so);
- Prescription Status Update ``transaction`` Bundles of ``Task`` (NHS England PSU API,
  ``status_update_api``): one item's patient-facing status each (``task-businessStatus-nppt``:
  With Pharmacy, Ready to Collect, Collected, …).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import orjson

from ipmo.fhir.bundles import BundleIndex, Resource, first_coding, nhs_number_of
from ipmo.fhir.versions import FhirInputError
from ipmo.patients import InvalidNhsNumber, normalise_nhs_number
from ipmo.prescriptions.codes import (
    EXEMPTION_CODES,
    ITEM_STATUS,
    ITEM_STATUS_SYSTEM,
    PRESCRIPTION_STATUS,
    PSU_NAMES,
    PSU_STATUS,
    PSU_TASK_STATUS,
)
from ipmo.prescriptions.ids import valid_prescription_id

ORDER, UPDATE, DISPENSE = "prescription-order", "prescription-order-update", "dispense-notification"
# the prescription ID of a nominated release, which names none (every prescription nominated to
# the releasing pharmacy that is ready is released)
NOMINATED = ""
RELEASE, WITHDRAW, RETURN, CLAIM, PSU = (
    "release",
    "dispense-withdrawal",
    "return",
    "claim",
    "status-update",
)
EVENTS = (ORDER, UPDATE, DISPENSE)
ORDER_NUMBER = "https://fhir.nhs.uk/Id/prescription-order-number"
ITEM_NUMBER = "https://fhir.nhs.uk/Id/prescription-order-item-number"
TASK_STATUS_EXT = "https://fhir.nhs.uk/StructureDefinition/Extension-EPS-TaskBusinessStatus"


class MessageRefused(FhirInputError):
    """A message that is not applied; ``.outcome()`` is its OperationOutcome."""


@dataclass
class ItemChange:
    """One line item as a message states it; ``reason``: the FHIR Coding of a cancellation or
    non-dispensing reason, as read (``code``, ``display``)."""

    line_item_id: str
    status_code: str
    name: str | None = None
    code: str | None = None
    quantity: str | None = None
    reason: dict[str, Any] = field(default_factory=dict)


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
    at: datetime | None = None  # when it happened, as the message says
    urgent: bool = False
    expiry_date: date | None = None
    repeats_allowed: int | None = None
    target_message: str | None = None  # the dispense notification a withdrawal names
    reason: str | None = None  # withdrawal / return reason (display)
    exemption_code: str | None = None
    exemption_evidence: str | None = None


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


def parse_message(data: bytes | str) -> list[Parsed]:
    """Check one EPS message in full; raises :class:`MessageRefused` naming the element.
    A status-update Bundle gives one change per Task; every other kind gives one."""
    try:
        root = orjson.loads(data)
    except orjson.JSONDecodeError:
        try:  # what orjson refuses the standard library may read (NaN, integers > 64 bits) …
            root = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:  # … or says why it is not JSON
            raise MessageRefused("structure", f"not JSON: {exc}") from None
    rtype = root.get("resourceType") if isinstance(root, dict) else None
    if rtype == "Parameters":
        return [_release(root)]
    if rtype == "Task":
        return [_task(root)]
    if rtype == "Claim":
        return [_claim(root)]
    if rtype != "Bundle":
        raise MessageRefused(
            "not-supported",
            f"a {rtype or 'non-FHIR'} payload is not an EPS message (message Bundle, release "
            "Parameters, Task, Claim or status-update Bundle)",
            "resourceType",
        )
    if root.get("type") == "transaction":
        return _status_updates(root)
    if root.get("type") != "message":
        raise MessageRefused(
            "value", "Bundle.type must be 'message' (or 'transaction' of Tasks)", "Bundle.type"
        )
    return [_eps_bundle(root)]


def _digest(root: dict[str, Any]) -> str:
    """The message's content hash, whatever its whitespace and key order (keys sorted)."""
    try:
        canonical = orjson.dumps(root, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # an integer beyond 64 bits
        return legacy_digest(root)
    return hashlib.sha256(canonical).hexdigest()


def legacy_digest(root: dict[str, Any]) -> str:
    """The content hash as stored before ipmo hashed with orjson (issue 16, speed): a replay of
    a message received then is still recognised as the same content."""
    return hashlib.sha256(json.dumps(root, sort_keys=True).encode()).hexdigest()


def same_content(stored_hash: str, parsed: Parsed) -> bool:
    """Is ``parsed`` the content stored under ``stored_hash`` (either way of hashing it)?"""
    return stored_hash == parsed.content_hash or stored_hash == legacy_digest(parsed.payload)


def _instant(value: Any, element: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise MessageRefused("value", f"{element} is not a date-time", element) from None
    # stored as naive UTC, the store's convention (ipmo.store.utcnow)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _eps_bundle(root: dict[str, Any]) -> Parsed:
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
    digest = _digest(root)
    at = _instant(root.get("timestamp"), "Bundle.timestamp")
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
            changes.append(ItemChange(line, status, name, code, _quantity(disp), reason))
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
        parsed.at = at
        return parsed
    requests = list(index.of_type("MedicationRequest"))
    if not requests:
        raise MessageRefused("required", "the message holds no MedicationRequest", "entry")
    pid, long_id = _prescription_id(requests)
    parsed = Parsed(event, message_id, sender, pid, _patient(index, requests), digest, root)
    parsed.long_id, parsed.at = long_id, at
    for req in requests:
        line = _ids(req, ITEM_NUMBER)
        if not line:
            raise MessageRefused(
                "required",
                "a MedicationRequest has no line item number",
                "MedicationRequest.identifier",
            )
        if any(i.line_item_id == line for i in parsed.items):
            raise MessageRefused(
                "business-rule",
                "the message names the same line item twice",
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
            end = (dr.get("validityPeriod") or {}).get("end")
            if end:
                parsed.expiry_date = date.fromisoformat(end[:10])
            if dr.get("numberOfRepeatsAllowed") is not None:
                parsed.repeats_allowed = int(dr["numberOfRepeatsAllowed"])
            # urgent care: the EPS priorities above routine (FHIR request-priority)
            parsed.urgent = parsed.urgent or req.get("priority") in ("urgent", "asap", "stat")
            if req.get("authoredOn"):
                parsed.at = _instant(req["authoredOn"], "MedicationRequest.authoredOn")
            performer = (dr.get("performer") or {}).get("identifier") or {}
            parsed.nominated_pharmacy = parsed.nominated_pharmacy or performer.get("value")
        elif req.get("status") == "cancelled":
            reason = first_coding(req.get("statusReason")) or {}
            parsed.items.append(ItemChange(line, "0005", name, code, None, reason))
    if event == UPDATE and not parsed.items:
        raise MessageRefused(
            "not-supported",
            "an order update with no cancelled MedicationRequest",
            "MedicationRequest.status",
        )
    return parsed


def _identifier(value: Any) -> str | None:
    """The value of an Identifier or of a Reference's identifier."""
    if not isinstance(value, dict):
        return None
    ident = value.get("identifier", value)
    if isinstance(ident, list):
        ident = ident[0] if ident else {}
    return ident.get("value") if isinstance(ident, dict) else None


def _required(value: str | None, diagnostics: str, element: str) -> str:
    if not value:
        raise MessageRefused("required", diagnostics, element)
    return value


def _checked_id(pid: Any, element: str) -> str:
    if not pid:
        raise MessageRefused("required", "the message names no prescription ID", element)
    if not valid_prescription_id(str(pid)):
        raise MessageRefused(
            "value",
            "the prescription ID is not a valid EPS short-form ID (18 characters "
            "XXXXXX-XXXXXX-XXXXXC with an ISO 7064 MOD 37-2 check character)",
            element,
        )
    return str(pid)


def _checked_nhs_number(value: Any, element: str) -> str:
    try:
        return normalise_nhs_number(str(value or ""))
    except InvalidNhsNumber as exc:
        raise MessageRefused("value", f"invalid NHS number: {exc}", element) from None


def _release(root: dict[str, Any]) -> Parsed:
    """EPS ``Task/$release`` Parameters: the owner pharmacy downloads the prescription named by
    ``group-identifier`` (patient release) or, with none named, those nominated to it (nominated
    pharmacy release; NHS Digital Medicines Implementation Guide, "Prescription Release": the
    nominated pharmacy release request and the patient release request are both
    ``POST /Task/$release``)."""
    params = {p.get("name"): p for p in root.get("parameter") or [] if isinstance(p, dict)}
    owner_param = params.get("owner") or {}
    owner = _identifier(owner_param.get("valueIdentifier")) or _identifier(
        owner_param.get("resource")
    )
    if not owner:
        raise MessageRefused("required", "a release names no owner pharmacy", "parameter(owner)")
    if not root.get("id"):
        raise MessageRefused("required", "the release Parameters has no id", "Parameters.id")
    if "group-identifier" not in params:  # nominated release: the store knows which
        return Parsed(RELEASE, str(root["id"]), owner, NOMINATED, "", _digest(root), root)
    pid = _checked_id(
        _identifier(params["group-identifier"].get("valueIdentifier")),
        "parameter(group-identifier)",
    )
    # a release carries no patient: the prescription's own patient is kept (checked on apply)
    return Parsed(RELEASE, str(root["id"]), owner, pid, "", _digest(root), root)


def _task(root: dict[str, Any]) -> Parsed:
    """EPS dispensing Task: withdrawal of a dispense notification, or return to Spine."""
    status = root.get("status")
    if status not in ("in-progress", "rejected"):
        raise MessageRefused(
            "value",
            "Task.status must be 'in-progress' (withdrawal) or 'rejected' (return)",
            "Task.status",
        )
    message_id = _identifier({"identifier": root.get("identifier")}) or root.get("id")
    if not message_id:
        raise MessageRefused("required", "the Task has no identifier", "Task.identifier")
    sender = _identifier(root.get("owner"))
    if not sender:
        raise MessageRefused("required", "the Task names no owner pharmacy", "Task.owner")
    pid = _checked_id(_identifier(root.get("groupIdentifier")), "Task.groupIdentifier")
    number = _checked_nhs_number(_identifier(root.get("for")), "Task.for")
    reason = first_coding(root.get("statusReason") or root.get("reasonCode")) or {}
    if status == "in-progress":
        code = (first_coding(root.get("code")) or {}).get("code")
        if code != "abort":
            raise MessageRefused(
                "value", "a withdrawal Task has code 'abort'", "Task.code.coding.code"
            )
        target = _required(
            _identifier(root.get("focus")),
            "a withdrawal names no dispense notification (Task.focus.identifier)",
            "Task.focus",
        )
        event = WITHDRAW
    else:
        event, target = RETURN, None
    parsed = Parsed(event, str(message_id), sender, pid, number, _digest(root), root)
    parsed.target_message, parsed.reason = target, reason.get("display") or reason.get("code")
    parsed.at = _instant(root.get("authoredOn"), "Task.authoredOn")
    return parsed


ENDORSEMENT = "https://fhir.nhs.uk/CodeSystem/medicationdispense-endorsement"
EXEMPTION = "https://fhir.nhs.uk/CodeSystem/prescription-charge-exemption"
EVIDENCE = "https://fhir.nhs.uk/CodeSystem/DM-exemption-evidence"


def _codes(concepts: Any, system: str) -> list[str]:
    out = []
    for concept in concepts or []:
        for coding in concept.get("coding") or []:
            if coding.get("system") == system and coding.get("code"):
                out.append(str(coding["code"]))
    return out


def _claim(root: dict[str, Any]) -> Parsed:
    """EPS ``Claim``: the prescription becomes Claimed; the exemption and evidence are kept."""
    message_id = _identifier({"identifier": root.get("identifier")})
    if not message_id:
        raise MessageRefused("required", "the Claim has no identifier", "Claim.identifier")
    contained = {c.get("id"): c for c in root.get("contained") or [] if isinstance(c, dict)}
    party = str(((root.get("payee") or {}).get("party") or {}).get("reference") or "")
    sender = _identifier(contained.get(party.lstrip("#")) or {})
    if not sender:
        raise MessageRefused(
            "required", "the Claim names no dispensing organisation", "Claim.payee.party"
        )
    group = _ext(root.get("prescription") or {}, "Extension-DM-GroupIdentifier") or {}
    short: dict[str, Any] = next(
        (e for e in group.get("extension") or [] if e.get("url") == "shortForm"), {}
    )
    pid = _checked_id(_identifier(short.get("valueIdentifier")), "Claim.prescription")
    number = _checked_nhs_number(_identifier(root.get("patient")), "Claim.patient")
    parsed = Parsed(CLAIM, message_id, sender, pid, number, _digest(root), root)
    parsed.at = _instant(root.get("created"), "Claim.created")
    for item in root.get("item") or []:
        exemption = _codes(item.get("programCode"), EXEMPTION)
        if exemption:
            parsed.exemption_code = exemption[0]
        evidence = _codes(item.get("programCode"), EVIDENCE)
        if evidence:
            parsed.exemption_evidence = evidence[0]
        for detail in item.get("detail") or []:
            ref = _ext(detail, "Extension-ClaimMedicationRequestReference") or {}
            line = _required(
                _identifier(ref.get("valueReference")),
                "a claimed item names no line item (ClaimMedicationRequestReference)",
                "Claim.item.detail.extension",
            )
            if not _codes(detail.get("programCode"), ENDORSEMENT):
                raise MessageRefused(
                    "required",
                    "a claimed item has no endorsement code (medicationdispense-endorsement; "
                    "'NDEC' when no endorsement applies)",
                    "Claim.item.detail.programCode",
                )
            status = (_codes(detail.get("modifier"), ITEM_STATUS_SYSTEM) or [""])[0]
            if status not in ITEM_STATUS:
                raise MessageRefused(
                    "code-invalid",
                    f"unknown item status {status!r} (medicationdispense-type 0001-0008)",
                    "Claim.item.detail.modifier",
                )
            parsed.items.append(ItemChange(line, status))
    if parsed.exemption_code is not None and parsed.exemption_code not in EXEMPTION_CODES:
        raise MessageRefused(
            "code-invalid",
            f"unknown prescription charge exemption {parsed.exemption_code!r}",
            "Claim.item.programCode",
        )
    if not parsed.items:
        raise MessageRefused("required", "the Claim claims no item", "Claim.item.detail")
    return parsed


def _status_updates(root: dict[str, Any]) -> list[Parsed]:
    """A PSU ``transaction`` Bundle: one item status per Task, all about one patient."""
    entries = root.get("entry") or []
    if not entries:
        raise MessageRefused("required", "a status update Bundle with no Task", "Bundle.entry")
    out: list[Parsed] = []
    for n, entry in enumerate(entries):
        task = (entry or {}).get("resource") or {}
        where = f"Bundle.entry[{n}].resource"
        if task.get("resourceType") != "Task":
            raise MessageRefused("structure", "a status update entry is not a Task", where)
        if not task.get("id"):
            raise MessageRefused("required", "the Task has no id", f"{where}.id")
        owner = _identifier(task.get("owner"))
        if not owner:
            raise MessageRefused("required", "the Task names no owner pharmacy", f"{where}.owner")
        pid = _checked_id(
            _identifier((task.get("basedOn") or [{}])[0]), f"{where}.basedOn.identifier"
        )
        number = _checked_nhs_number(_identifier(task.get("for")), f"{where}.for")
        line = _identifier(task.get("focus"))
        if not line:
            raise MessageRefused("required", "the Task names no line item", f"{where}.focus")
        code = str((first_coding(task.get("businessStatus")) or {}).get("code") or "")
        known = PSU_STATUS.get(code.lower())
        if known is None:
            raise MessageRefused(
                "code-invalid",
                f"unknown status {code!r} (task-businessStatus-nppt: {', '.join(PSU_NAMES)})",
                f"{where}.businessStatus",
            )
        if task.get("status") not in PSU_TASK_STATUS[known]:
            raise MessageRefused(
                "business-rule",
                f"Task.status {task.get('status')!r} does not fit business status {known!r}",
                f"{where}.status",
            )
        # the PSU data store keys an update on (Task id, prescription ID); the national
        # examples reuse one Task id across prescriptions
        key = f"{task['id']}/{pid}"
        parsed = Parsed(PSU, key, owner, pid, number, _digest(task), task)
        parsed.items.append(ItemChange(line, "", name=known))
        parsed.at = _instant(task.get("lastModified"), f"{where}.lastModified")
        out.append(parsed)
    if len({p.nhs_number for p in out}) > 1:
        raise MessageRefused(
            "business-rule",
            f"the message holds {len({p.nhs_number for p in out})} patients with different NHS "
            "numbers; one patient per message",
            "Bundle.entry.resource.for",
        )
    lines = [(p.prescription_id, p.items[0].line_item_id) for p in out]
    if len(set(lines)) != len(lines):
        raise MessageRefused(
            "business-rule", "the message updates the same item twice", "Bundle.entry"
        )
    return out
