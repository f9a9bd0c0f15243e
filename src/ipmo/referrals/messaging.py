"""BaRS-shaped FHIR R4 messages: reading incoming referrals and cancellations and applying them
(:func:`receive`, the one path for the HTTP API and ``ipmo referrals send``), building the
acknowledgement and the outcome ``Task`` that goes back to the referrer.

Shape (../shared/fhir/STANDARDS.md §4.1-4.4, BaRS Core 1.1.6 / Application 5): a ``Bundle`` of
type ``message`` whose first entry is a ``MessageHeader`` (event ``servicerequest-request``,
reason ``new`` | ``update``; ``focus`` → the ``ServiceRequest``), with the ``ServiceRequest``
(category: ``referral`` + use case), the ``Patient``, and a ``Task`` (``status`` requested).
``meta.versionId`` is the BaRS application version (1.x accepted; anything else → 422, as BaRS
REC_UNPROCESSABLE_ENTITY). The Bundle's ``id`` is the message id used for idempotency.

Which service a message asks for, in order: a coding in our local system ``SERVICE_SYSTEM``
(urgent supply and DMS have no BaRS use case yet), then the BaRS use case (a5t1 Pharmacy First,
a5t2 contraception, a5t3 blood pressure check), then the Task's SNOMED code. Use cases for other
receivers (111→ED a1t1, 999→CAS a3t1/a4t*, CAD-to-CAD a6t*) are refused as not supported.

DMS discharge lists travel as ``MedicationStatement`` entries (category ``discharge``); the change
marker is ``statusReason`` coded in ``CHANGE_SYSTEM`` (started | stopped | changed | unchanged), or
status ``stopped`` → stopped. This follows the recommendation in STANDARDS.md §4.4 and is a local
ICS profile, not a national one.

Authentication of system senders: a bearer token of a user whose role grants
``Activity.REFERRAL_SEND`` (``ipmo users token USERNAME``); the token's organisation is the sender
(ADR 0005). A ``MessageHeader.sender`` naming another organisation is refused (403), one naming an
unknown organisation too (422); nothing is written. Message ids are unique per sender.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.fhir.bundles import BundleIndex, concept_text, fhir_date
from ipmo.fhir.outcome import FhirError
from ipmo.fhir.versions import FhirInputError, read_fhir
from ipmo.organisations.models import OrgKind
from ipmo.patients.identity import InvalidNhsNumber, normalise_nhs_number
from ipmo.patients.models import Patient
from ipmo.referrals import service as svc
from ipmo.referrals.catalogue import ReferralService
from ipmo.referrals.models import ReceivedMessage, Referral
from ipmo.security.access import audit_event
from ipmo.security.principal import Principal

EVENT_SYSTEM = "https://fhir.nhs.uk/CodeSystem/message-events-bars"
REASON_SYSTEM = "https://fhir.nhs.uk/CodeSystem/message-reason-bars"
USECASE_SYSTEM = "https://fhir.nhs.uk/CodeSystem/usecases-categories-bars"
CATEGORY_SYSTEM = "https://fhir.nhs.uk/CodeSystem/message-category-servicerequest"
SERVICE_SYSTEM = "urn:ipmo:referral-service"  # local: our ReferralService values
CHANGE_SYSTEM = "urn:ipmo:discharge-change"  # local: started | stopped | changed | unchanged
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/id/nhs-number"  # compared case-insensitively
ODS_SYSTEMS = (
    "https://fhir.nhs.uk/id/ods-organization-code",
    "https://fhir.nhs.uk/id/ods-organisation-code",
)
REFERENCE_SYSTEM = "urn:ipmo:referral-reference"
# local extension on the ServiceRequest: why a sender with no legitimate relationship with the
# patient refers them (issue 12); NHS 111 senders without one are recorded as "NHS 111 caller"
NO_RELATIONSHIP_REASON_URL = "urn:ipmo:no-relationship-reason"
NHS111_CALLER = "NHS 111 caller"

USE_CASES = {
    "a5t1": ReferralService.PHARMACY_FIRST,
    "a5t2": ReferralService.CONTRACEPTION,
    "a5t3": ReferralService.BP_CHECK,
}
TASK_CODES = {  # SNOMED CT procedures seen in the BaRS examples
    "2140231000000104": ReferralService.PHARMACY_FIRST,  # Referral to CP Pharmacy First Service
    "1577041000000109": ReferralService.PHARMACY_FIRST,  # CPCS for minor illness
    "1218611000000102": ReferralService.URGENT_SUPPLY,  # urgent supply by community pharmacy
}
SUPPORTED_APP_VERSION_MAJOR = "1"


@dataclass
class IncomingReferral:
    message_id: str
    service: str
    nhs_number: str | None
    patient_name: str
    birth_date: Any
    practice_code: str | None
    receiver_code: str | None
    summary: str | None
    requested_due_by: datetime | None
    discharge_items: list[dict] = field(default_factory=list)
    no_relationship_reason: str | None = None


@dataclass
class IncomingCancel:
    message_id: str
    reference: str | None  # our referral reference, if the sender quotes it
    original_message_id: str | None  # or the id of the message that created it
    reason: str | None


def _bad(status: int, code: str, text: str, where: str | None = None) -> FhirError:
    return FhirError(status, code, text, where)


def _ident(identifiers: list[dict] | None, *systems: str) -> str | None:
    wanted = {s.lower() for s in systems}
    for ident in identifiers or []:
        if str(ident.get("system", "")).lower() in wanted and ident.get("value"):
            return str(ident["value"]).strip()
    return None


def _codes(concepts: list[dict] | dict | None, system: str) -> list[str]:
    if isinstance(concepts, dict):
        concepts = [concepts]
    return [
        c["code"]
        for concept in concepts or []
        for c in concept.get("coding") or []
        if c.get("system") == system and c.get("code")
    ]


def _utc(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def check_content_type(content_type: str | None) -> None:
    """Refuse a payload that declares another FHIR version (``fhirVersion`` MIME parameter)."""
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "fhirversion" and not value.strip().strip('"').startswith("4.0"):
            raise _bad(
                415,
                "not-supported",
                f"this endpoint takes FHIR R4 (4.0); the request says fhirVersion={value.strip()}",
            )


def read_message(body: bytes) -> tuple[dict, BundleIndex, dict]:
    """Parse and validate the Bundle with ``fhir.resources.R4B``; return (bundle, index, header).

    XML comments (e.g. the explanatory ones before the root element in the BaRS examples) are
    removed by the shared parser (``ipmo.fhir.versions.strip_xml_comments``)."""
    try:
        # as_given: the validated input itself, not a re-serialised copy (this module only reads
        # strings and tolerates explicit nulls); half the cost of reading a message
        doc = read_fhir(body, version="R4", as_given=True)
    except FhirInputError as exc:
        raise _bad(400, exc.code, exc.diagnostics, exc.expression) from None
    bundle = doc.resource
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "message":
        raise _bad(
            400, "structure", "$process-message takes a Bundle of type 'message'", "Bundle.type"
        )
    entries = bundle.get("entry") or []
    header = (entries[0].get("resource") if entries else None) or {}
    if header.get("resourceType") != "MessageHeader":
        raise _bad(
            400,
            "required",
            "the first entry of a message must be a MessageHeader",
            "Bundle.entry[0]",
        )
    version = str((bundle.get("meta") or {}).get("versionId") or "")
    if version and version.split(".")[0] != SUPPORTED_APP_VERSION_MAJOR:
        raise _bad(
            422,
            "not-supported",
            f"BaRS application version {version} is not supported (1.x is)",
            "Bundle.meta.versionId",
        )
    if not bundle.get("id"):
        raise _bad(400, "required", "the Bundle needs an id (the message id)", "Bundle.id")
    return bundle, BundleIndex(bundle), header


def message_kind(header: dict) -> str:
    """new | cancel, or a FhirError for messages this receiver does not take."""
    event = (header.get("eventCoding") or {}).get("code")
    reasons = _codes((header.get("reason") or {}), REASON_SYSTEM)
    if event != "servicerequest-request":
        raise _bad(
            422,
            "not-supported",
            f"message event {event!r} is not supported here (servicerequest-request is)",
            "MessageHeader.eventCoding",
        )
    if "update" in reasons or "delete" in reasons:
        return "cancel"
    return "new"


def _focus(index: BundleIndex, header: dict) -> dict:
    focus = header.get("focus") or []
    sr = index.resolve(focus[0]) if focus else None
    if sr is None:
        sr = next(index.of_type("ServiceRequest"), None)
    if sr is None or sr.get("resourceType") != "ServiceRequest":
        raise _bad(
            400,
            "required",
            "the message has no ServiceRequest (MessageHeader.focus)",
            "MessageHeader.focus",
        )
    return sr


def _service(sr: dict, task: dict | None) -> str:
    local = _codes(sr.get("category"), SERVICE_SYSTEM) + _codes(
        (task or {}).get("code"), SERVICE_SYSTEM
    )
    for code in local:
        try:
            return ReferralService(code).value
        except ValueError:
            raise _bad(
                422, "not-supported", f"unknown service {code!r}", "ServiceRequest.category"
            ) from None
    for code in _codes(sr.get("category"), USECASE_SYSTEM):
        if code in USE_CASES:
            return USE_CASES[code].value
        raise _bad(
            422,
            "not-supported",
            f"BaRS use case {code} is not a community pharmacy service this receiver offers",
            "ServiceRequest.category",
        )
    for code in _codes((task or {}).get("code"), "http://snomed.info/sct"):
        if code in TASK_CODES:
            return TASK_CODES[code].value
    raise _bad(
        422,
        "not-supported",
        "unknown service: the ServiceRequest names no use case this receiver offers",
        "ServiceRequest.category",
    )


def _discharge_items(index: BundleIndex) -> list[dict]:
    items = []
    for ms in index.of_type("MedicationStatement"):
        change = next(iter(_codes(ms.get("statusReason"), CHANGE_SYSTEM)), None)
        if change is None:
            change = "stopped" if ms.get("status") == "stopped" else "unchanged"
        med = ms.get("medicationCodeableConcept") or {}
        dmd = next(iter(_codes(med, "https://dmd.nhs.uk")), None) or next(
            iter(_codes(med, "http://snomed.info/sct")), None
        )
        dosage = (ms.get("dosage") or [{}])[0]
        items.append(
            {
                "name": concept_text(med) or "(unnamed medicine)",
                "dmd_code": dmd,
                "change": change,
                "dose_text": dosage.get("text"),
                "note": concept_text((ms.get("statusReason") or [None])[0])
                if change != "unchanged"
                else None,
            }
        )
    return items


def sender_code(index: BundleIndex, header: dict) -> str | None:
    """The ODS code ``MessageHeader.sender`` names (None when the header names no sender)."""
    if not header.get("sender"):
        return None
    code = _ident((index.resolve(header["sender"]) or {}).get("identifier"), *ODS_SYSTEMS)
    if code is None:
        raise _bad(422, "required", "MessageHeader.sender has no ODS code", "MessageHeader.sender")
    return code


def check_sender(session: Session, principal: Principal, code: str | None) -> None:
    """The sender is the organisation the bearer token acts for (ADR 0005), never what the
    message says: a header naming an unknown organisation or another one is refused."""
    if code is None or code == principal.org_code:
        return
    if svc.organisation(session, code) is None:
        raise _bad(
            422,
            "not-found",
            f"MessageHeader.sender names {code}, which is not a known organisation",
            "MessageHeader.sender",
        )
    raise _bad(
        403,
        "forbidden",
        f"MessageHeader.sender ({code}) is not the organisation your token acts for "
        f"({principal.org_code}); a system sends only for its own organisation",
        "MessageHeader.sender",
    )


def parse_referral(bundle: dict, index: BundleIndex, header: dict) -> IncomingReferral:
    sr = _focus(index, header)
    if "referral" not in _codes(sr.get("category"), CATEGORY_SYSTEM) and _codes(
        sr.get("category"), CATEGORY_SYSTEM
    ):
        raise _bad(
            422,
            "not-supported",
            "only referrals are taken here (not validation requests)",
            "ServiceRequest.category",
        )
    tasks = list(index.of_type("Task"))
    task = tasks[0] if tasks else None
    service = _service(sr, task)
    patients = list(index.of_type("Patient"))
    if len(patients) > 1:
        raise _bad(
            422,
            "business-rule",
            f"a referral message is about one patient; this one has {len(patients)} Patient "
            "resources",
            "Bundle.entry",
        )
    patient = index.resolve(sr.get("subject")) or next(index.of_type("Patient"), None)
    if patient is None or patient.get("resourceType") != "Patient":
        raise _bad(
            400,
            "required",
            "the message has no Patient (ServiceRequest.subject)",
            "ServiceRequest.subject",
        )
    if task is None:
        raise _bad(400, "required", "the message has no Task", "Bundle.entry")
    nhs = _ident(patient.get("identifier"), NHS_NUMBER_SYSTEM)
    names = patient.get("name") or [{}]
    given = [g for g in names[0].get("given") or [] if g]  # FHIR allows nulls in this list
    name = names[0].get("text") or " ".join([*given, names[0].get("family") or ""]).strip()
    gp = None
    for ref in patient.get("generalPractitioner") or []:
        gp = _ident((index.resolve(ref) or {}).get("identifier"), *ODS_SYSTEMS) or gp
    receiver = None
    for dest in header.get("destination") or []:
        org = index.resolve(dest.get("receiver"))
        receiver = _ident((org or {}).get("identifier"), *ODS_SYSTEMS) or receiver
        if dest.get("receiver") and receiver is None:
            raise _bad(
                422,
                "not-found",
                "the destination receiver has no ODS code",
                "MessageHeader.destination.receiver",
            )
    narrative = []
    for care_plan in index.of_type("CarePlan"):
        for activity in care_plan.get("activity") or []:
            if text := concept_text((activity.get("outcomeCodeableConcept") or [None])[0]):
                narrative.append(text)
    for condition in index.of_type("Condition"):
        if text := concept_text(condition.get("code")):
            narrative.append(f"Presenting complaint: {text}")
    if task.get("description"):
        narrative.append(task["description"])
    period = sr.get("occurrencePeriod") or {}
    return IncomingReferral(
        message_id=str(bundle["id"]),
        service=service,
        nhs_number=nhs,
        patient_name=name,
        birth_date=fhir_date(patient.get("birthDate")),
        practice_code=gp,
        receiver_code=receiver,
        summary="\n".join(narrative)[:4000] or None,
        requested_due_by=_utc(period.get("end")),
        discharge_items=_discharge_items(index),
        no_relationship_reason=next(
            (
                str(e["valueString"])
                for e in sr.get("extension") or []
                if e.get("url") == NO_RELATIONSHIP_REASON_URL and e.get("valueString")
            ),
            None,
        ),
    )


def parse_cancel(bundle: dict, index: BundleIndex, header: dict) -> IncomingCancel:
    sr = _focus(index, header)
    if sr.get("status") not in ("revoked", "entered-in-error"):
        raise _bad(
            422,
            "not-supported",
            "updates other than cancellation (ServiceRequest.status revoked) are not supported; "
            "re-refer instead",
            "ServiceRequest.status",
        )
    reference = _ident(sr.get("identifier"), REFERENCE_SYSTEM)
    original = None
    for ident in sr.get("identifier") or []:
        if ident.get("value") and ident.get("system") != REFERENCE_SYSTEM:
            original = str(ident["value"])
    based = [b.get("reference") for b in sr.get("replaces") or []]
    return IncomingCancel(
        message_id=str(bundle["id"]),
        reference=reference,
        original_message_id=original or (based[0] if based else None),
        reason=concept_text((sr.get("reasonCode") or [None])[0]),
    )


@dataclass
class Receipt:
    """What one received message did: the referral it created or cancelled, and whether it
    repeated a message already taken (the sender gets the same reply again)."""

    message_id: str
    referral: Referral
    replay: bool


def already_received(session: Session, sender: str, message_id: str) -> Referral | None:
    """The referral a message with this id from this sender created or cancelled, if it was
    taken before. Message ids are unique per sender only: another sender's id is not a replay."""
    referral_id = session.scalar(
        select(ReceivedMessage.referral_id).where(
            ReceivedMessage.sender_org_code == sender, ReceivedMessage.message_id == message_id
        )
    )
    return session.get(Referral, referral_id) if referral_id is not None else None


def audit_replay(session: Session, principal: Principal, message_id: str, ref: Referral) -> None:
    audit_event(
        session,
        principal,
        "referral.message.replay",
        Patient(nhs_number=ref.nhs_number) if ref.nhs_number else None,
        {"referral": ref.reference, "message_id": message_id},
    )


def receive(session: Session, principal: Principal, body: bytes) -> Receipt:
    """Read one BaRS message and apply it in the caller's unit of work (the caller commits; the
    HTTP API and ``ipmo referrals send`` both come here). A repeated message id from the same
    sender changes nothing, is audited and returns the referral it made; the same id from another
    sender is a different message (stored, and the reuse audited). Bad input raises
    :class:`FhirError`, with nothing written (the caller rolls back)."""
    bundle, index, header = read_message(body)
    message_id = str(bundle["id"])
    if message_kind(header) == "cancel":
        incoming: IncomingReferral | IncomingCancel = parse_cancel(bundle, index, header)
    else:
        incoming = parse_referral(bundle, index, header)
    check_sender(session, principal, sender_code(index, header))
    seen = session.execute(
        select(ReceivedMessage.sender_org_code, ReceivedMessage.referral_id).where(
            ReceivedMessage.message_id == message_id
        )
    ).all()
    for sender, referral_id in seen:
        if sender == principal.org_code and (ref := session.get(Referral, referral_id)):
            audit_replay(session, principal, message_id, ref)
            return Receipt(message_id, ref, replay=True)
    if seen:
        audit_event(
            session,
            principal,
            "referral.message.id-reused",
            detail={"message_id": message_id, "other_senders": len(seen)},
        )
    return Receipt(message_id, process_incoming(session, principal, incoming), replay=False)


def process_incoming(
    session: Session, principal: Principal, incoming: IncomingReferral | IncomingCancel
) -> Referral:
    """Create (or cancel) the referral a parsed message asks for; service errors become the
    FHIR errors a sender sees (422 business rule, 404 unknown referral, 403, 409)."""
    if isinstance(incoming, IncomingCancel):
        return _cancel(session, principal, incoming)
    return _create(session, principal, incoming)


def _create(session: Session, principal: Principal, inc: IncomingReferral) -> Referral:
    if inc.nhs_number:
        try:
            normalise_nhs_number(inc.nhs_number)
        except InvalidNhsNumber as exc:
            raise _bad(400, "value", f"invalid NHS number: {exc}", "Patient.identifier") from None
    svc.load_organisations(session, inc.receiver_code, principal.org_code, inc.practice_code)
    if inc.receiver_code:
        org = svc.organisation(session, inc.receiver_code)
        if org is None:
            raise _bad(
                422,
                "not-found",
                f"unknown pharmacy {inc.receiver_code}",
                "MessageHeader.destination.receiver",
            )
        if org.kind != OrgKind.PHARMACY:
            raise _bad(
                422,
                "not-supported",
                f"{inc.receiver_code} is not a community pharmacy",
                "MessageHeader.destination.receiver",
            )
    new = svc.NewReferral(
        service=inc.service,
        patient_name=inc.patient_name,
        nhs_number=inc.nhs_number,
        birth_date=inc.birth_date,
        practice_code=inc.practice_code,
        patient_choice=inc.receiver_code,
        summary=inc.summary,
        message_id=inc.message_id,
        requested_due_by=inc.requested_due_by,
        discharge_items=inc.discharge_items,
        no_relationship_reason=inc.no_relationship_reason
        or (NHS111_CALLER if _kind(session, principal.org_code) == OrgKind.NHS111 else None),
    )
    try:
        return svc.create_referral(session, principal, new)
    except svc.ReferralError as exc:
        raise _bad(422, "business-rule", str(exc)) from None


def _kind(session: Session, code: str) -> str | None:
    org = svc.organisation(session, code)
    return org.kind if org is not None else None


def _cancel(session: Session, principal: Principal, inc: IncomingCancel) -> Referral:
    ref = None
    if inc.reference:
        ref = session.scalar(select(Referral).where(Referral.reference == inc.reference))
    if ref is None and inc.original_message_id:
        ref = session.scalar(
            select(Referral).where(
                Referral.submitted_org_code == principal.org_code,
                Referral.message_id == inc.original_message_id,
            )
        )
    if ref is None:
        raise _bad(
            404, "not-found", "no referral matches this cancellation", "ServiceRequest.identifier"
        )
    try:
        svc.cancel(session, principal, ref, inc.reason)
    except svc.NotInvolved as exc:
        raise _bad(403, "forbidden", str(exc)) from None
    except svc.ReferralConflict as exc:
        raise _bad(409, "conflict", str(exc)) from None
    session.add(
        ReceivedMessage(
            sender_org_code=principal.org_code,
            message_id=inc.message_id,
            referral_id=ref.id,
            kind="cancel",
        )
    )
    session.flush()
    return ref


def _iso(moment: datetime | None) -> str | None:
    return moment.replace(tzinfo=UTC).isoformat() if moment else None


def outcome_task(ref: Referral) -> dict:
    """The referral as a FHIR R4 Task (what goes back to the referrer and GP practice)."""
    task: dict[str, Any] = {
        "resourceType": "Task",
        "identifier": [{"system": REFERENCE_SYSTEM, "value": ref.reference}],
        "status": ref.status,
        "intent": "order",
        "code": {"coding": [{"system": SERVICE_SYSTEM, "code": ref.service}]},
        "authoredOn": _iso(ref.created_at),
        "lastModified": _iso(ref.completed_at or ref.accepted_at or ref.created_at),
        "requester": {"identifier": {"system": ODS_SYSTEMS[0], "value": ref.sender_org_code}},
        "restriction": {"period": {"end": _iso(ref.due_by)}},
    }
    if ref.target_org_code:
        task["owner"] = {"identifier": {"system": ODS_SYSTEMS[0], "value": ref.target_org_code}}
    if ref.nhs_number:
        task["for"] = {
            "identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": ref.nhs_number}
        }
    if ref.business_status:
        task["businessStatus"] = {
            "coding": [{"system": "urn:ipmo:referral-outcome", "code": ref.business_status}]
        }
    if ref.outcome_reason:
        task["statusReason"] = {"text": ref.outcome_reason}
    if ref.outcome_note:
        task["note"] = [{"text": ref.outcome_note}]
    if ref.message_id:
        task["basedOn"] = [{"identifier": {"value": ref.message_id}}]
    return task


def acknowledgement(bundle_id: str, ref: Referral, now: datetime) -> dict:
    """The synchronous reply: a message Bundle with a MessageHeader ``response`` (code ok) and the
    Task carrying our human-readable reference (BaRS: the receiver returns its reference in the
    synchronous 200)."""
    return {
        "resourceType": "Bundle",
        "type": "message",
        "timestamp": _iso(now),
        "entry": [
            {
                "fullUrl": "urn:uuid:response-header",
                "resource": {
                    "resourceType": "MessageHeader",
                    "eventCoding": {"system": EVENT_SYSTEM, "code": "servicerequest-response"},
                    "source": {"endpoint": "urn:ipmo"},
                    "response": {"identifier": bundle_id, "code": "ok"},
                },
            },
            {"fullUrl": f"urn:ipmo:referral:{ref.reference}", "resource": outcome_task(ref)},
        ],
    }


def build_referral_message(
    *,
    message_id: str,
    service: str,
    patient_name: str,
    nhs_number: str | None = None,
    birth_date: str | None = None,
    receiver: str | None = None,
    sender: str | None = None,
    summary: str | None = None,
    discharge_items: list[dict] | None = None,
    timestamp: str = "2026-01-01T00:00:00+00:00",
    no_relationship_reason: str | None = None,
) -> dict:
    """A minimal BaRS-shaped referral message (what a sending system posts; used by the CLI's
    examples, the demo, tests and the benchmark)."""
    patient: dict[str, Any] = {"resourceType": "Patient", "name": [{"text": patient_name}]}
    if nhs_number:
        patient["identifier"] = [
            {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs_number}
        ]
    if birth_date:
        patient["birthDate"] = birth_date
    header: dict[str, Any] = {
        "resourceType": "MessageHeader",
        "eventCoding": {"system": EVENT_SYSTEM, "code": "servicerequest-request"},
        "reason": {"coding": [{"system": REASON_SYSTEM, "code": "new"}]},
        "source": {"endpoint": "urn:ipmo:sender"},
        "focus": [{"reference": "urn:uuid:sr"}],
        "definition": "https://fhir.nhs.uk/MessageDefinition/bars-message-servicerequest-request-referral",
    }
    entries: list[dict[str, Any]] = [
        {"fullUrl": "urn:uuid:header", "resource": header},
        {
            "fullUrl": "urn:uuid:sr",
            "resource": {
                "resourceType": "ServiceRequest",
                "status": "active",
                "intent": "plan",
                "category": [
                    {"coding": [{"system": CATEGORY_SYSTEM, "code": "referral"}]},
                    {"coding": [{"system": SERVICE_SYSTEM, "code": service}]},
                ],
                "subject": {"reference": "urn:uuid:patient"},
                **(
                    {
                        "extension": [
                            {
                                "url": NO_RELATIONSHIP_REASON_URL,
                                "valueString": no_relationship_reason,
                            }
                        ]
                    }
                    if no_relationship_reason
                    else {}
                ),
            },
        },
        {"fullUrl": "urn:uuid:patient", "resource": patient},
        {
            "fullUrl": "urn:uuid:task",
            "resource": {
                "resourceType": "Task",
                "status": "requested",
                "intent": "order",
                **({"description": summary} if summary else {}),
            },
        },
    ]
    if receiver:
        header["destination"] = [
            {"endpoint": "urn:ipmo:receiver", "receiver": {"reference": "urn:uuid:receiver"}}
        ]
        entries.append(
            {
                "fullUrl": "urn:uuid:receiver",
                "resource": {
                    "resourceType": "Organization",
                    "identifier": [{"system": ODS_SYSTEMS[0], "value": receiver}],
                },
            }
        )
    else:
        header["destination"] = [{"endpoint": "urn:ipmo:route-for-me"}]
    if sender:
        header["sender"] = {"reference": "urn:uuid:sender"}
        entries.append(
            {
                "fullUrl": "urn:uuid:sender",
                "resource": {
                    "resourceType": "Organization",
                    "identifier": [{"system": ODS_SYSTEMS[0], "value": sender}],
                },
            }
        )
    for i, item in enumerate(discharge_items or []):
        ms: dict[str, Any] = {
            "resourceType": "MedicationStatement",
            "status": "stopped" if item["change"] == "stopped" else "active",
            "statusReason": [
                {
                    "coding": [{"system": CHANGE_SYSTEM, "code": item["change"]}],
                    "text": item.get("note") or item["change"],
                }
            ],
            "category": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/medication-statement-category",
                        "code": "discharge",
                    }
                ]
            },
            "medicationCodeableConcept": {
                "text": item["name"],
                **(
                    {"coding": [{"system": "https://dmd.nhs.uk", "code": item["dmd_code"]}]}
                    if item.get("dmd_code")
                    else {}
                ),
            },
            "subject": {"reference": "urn:uuid:patient"},
        }
        if item.get("dose_text"):
            ms["dosage"] = [{"text": item["dose_text"]}]
        entries.append({"fullUrl": f"urn:uuid:med-{i}", "resource": ms})
    return {
        "resourceType": "Bundle",
        "id": message_id,
        "meta": {
            "versionId": "1.1.0",
            "profile": ["https://fhir.nhs.uk/StructureDefinition/BARSBundleMessage"],
        },
        "type": "message",
        "timestamp": timestamp,
        "entry": entries,
    }
