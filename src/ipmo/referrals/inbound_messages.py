"""Reading an incoming BaRS-shaped FHIR R4 message into what it asks for: a new referral
(:class:`IncomingReferral`) or a cancellation (:class:`IncomingCancel`). Pure: no database;
bad input raises :class:`FhirError` naming the element.

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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ipmo.fhir.bundles import BundleIndex, concept_text, fhir_date
from ipmo.fhir.outcome import FhirError
from ipmo.fhir.versions import FhirInputError, read_fhir
from ipmo.referrals.catalogue import ReferralService
from ipmo.referrals.message_codes import (
    CATEGORY_SYSTEM,
    CHANGE_SYSTEM,
    NHS_NUMBER_SYSTEM,
    NO_RELATIONSHIP_REASON_URL,
    ODS_SYSTEMS,
    REASON_SYSTEM,
    REFERENCE_SYSTEM,
    SERVICE_SYSTEM,
    SUPPORTED_APP_VERSION_MAJOR,
    TASK_CODES,
    USE_CASES,
    USECASE_SYSTEM,
)


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


def identifier(identifiers: list[dict] | None, *systems: str) -> str | None:
    wanted = {s.lower() for s in systems}
    for ident in identifiers or []:
        if str(ident.get("system", "")).lower() in wanted and ident.get("value"):
            return str(ident["value"]).strip()
    return None


def codes(concepts: list[dict] | dict | None, system: str) -> list[str]:
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
            raise FhirError(
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
        raise FhirError(400, exc.code, exc.diagnostics, exc.expression) from None
    bundle = doc.resource
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "message":
        raise FhirError(
            400, "structure", "$process-message takes a Bundle of type 'message'", "Bundle.type"
        )
    entries = bundle.get("entry") or []
    header = (entries[0].get("resource") if entries else None) or {}
    if header.get("resourceType") != "MessageHeader":
        raise FhirError(
            400,
            "required",
            "the first entry of a message must be a MessageHeader",
            "Bundle.entry[0]",
        )
    version = str((bundle.get("meta") or {}).get("versionId") or "")
    if version and version.split(".")[0] != SUPPORTED_APP_VERSION_MAJOR:
        raise FhirError(
            422,
            "not-supported",
            f"BaRS application version {version} is not supported (1.x is)",
            "Bundle.meta.versionId",
        )
    if not bundle.get("id"):
        raise FhirError(400, "required", "the Bundle needs an id (the message id)", "Bundle.id")
    return bundle, BundleIndex(bundle), header


def message_kind(header: dict) -> str:
    """new | cancel, or a FhirError for messages this receiver does not take."""
    event = (header.get("eventCoding") or {}).get("code")
    reasons = codes((header.get("reason") or {}), REASON_SYSTEM)
    if event != "servicerequest-request":
        raise FhirError(
            422,
            "not-supported",
            f"message event {event!r} is not supported here (servicerequest-request is)",
            "MessageHeader.eventCoding",
        )
    if "update" in reasons or "delete" in reasons:
        return "cancel"
    return "new"


def _referenced(index: BundleIndex, reference: dict | None, kind: str, via: str) -> dict:
    """The resource ``reference`` points at, else the message's first of ``kind``; a message
    without one is refused naming the element that should have pointed at it."""
    found = index.resolve(reference) if reference else None
    if found is None:
        found = next(index.of_type(kind), None)
    if found is None or found.get("resourceType") != kind:
        raise FhirError(400, "required", f"the message has no {kind} ({via})", via)
    return found


def _focus(index: BundleIndex, header: dict) -> dict:
    focus = header.get("focus") or []
    return _referenced(index, focus[0] if focus else None, "ServiceRequest", "MessageHeader.focus")


def _service(sr: dict, task: dict | None) -> str:
    local = codes(sr.get("category"), SERVICE_SYSTEM) + codes(
        (task or {}).get("code"), SERVICE_SYSTEM
    )
    for code in local:
        try:
            return ReferralService(code).value
        except ValueError:
            raise FhirError(
                422, "not-supported", f"unknown service {code!r}", "ServiceRequest.category"
            ) from None
    for code in codes(sr.get("category"), USECASE_SYSTEM):
        if code in USE_CASES:
            return USE_CASES[code].value
        raise FhirError(
            422,
            "not-supported",
            f"BaRS use case {code} is not a community pharmacy service this receiver offers",
            "ServiceRequest.category",
        )
    for code in codes((task or {}).get("code"), "http://snomed.info/sct"):
        if code in TASK_CODES:
            return TASK_CODES[code].value
    raise FhirError(
        422,
        "not-supported",
        "unknown service: the ServiceRequest names no use case this receiver offers",
        "ServiceRequest.category",
    )


def _discharge_items(index: BundleIndex) -> list[dict]:
    items = []
    for ms in index.of_type("MedicationStatement"):
        change = next(iter(codes(ms.get("statusReason"), CHANGE_SYSTEM)), None)
        if change is None:
            change = "stopped" if ms.get("status") == "stopped" else "unchanged"
        med = ms.get("medicationCodeableConcept") or {}
        dmd = next(iter(codes(med, "https://dmd.nhs.uk")), None) or next(
            iter(codes(med, "http://snomed.info/sct")), None
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
    code = identifier((index.resolve(header["sender"]) or {}).get("identifier"), *ODS_SYSTEMS)
    if code is None:
        raise FhirError(
            422, "required", "MessageHeader.sender has no ODS code", "MessageHeader.sender"
        )
    return code


def parse_referral(bundle: dict, index: BundleIndex, header: dict) -> IncomingReferral:
    sr = _focus(index, header)
    if "referral" not in codes(sr.get("category"), CATEGORY_SYSTEM) and codes(
        sr.get("category"), CATEGORY_SYSTEM
    ):
        raise FhirError(
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
        raise FhirError(
            422,
            "business-rule",
            f"a referral message is about one patient; this one has {len(patients)} Patient "
            "resources",
            "Bundle.entry",
        )
    patient = _referenced(index, sr.get("subject"), "Patient", "ServiceRequest.subject")
    if task is None:
        raise FhirError(400, "required", "the message has no Task", "Bundle.entry")
    nhs = identifier(patient.get("identifier"), NHS_NUMBER_SYSTEM)
    names = patient.get("name") or [{}]
    given = [g for g in names[0].get("given") or [] if g]  # FHIR allows nulls in this list
    name = names[0].get("text") or " ".join([*given, names[0].get("family") or ""]).strip()
    gp = None
    for ref in patient.get("generalPractitioner") or []:
        gp = identifier((index.resolve(ref) or {}).get("identifier"), *ODS_SYSTEMS) or gp
    receiver = None
    for dest in header.get("destination") or []:
        org = index.resolve(dest.get("receiver"))
        receiver = identifier((org or {}).get("identifier"), *ODS_SYSTEMS) or receiver
        if dest.get("receiver") and receiver is None:
            raise FhirError(
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
        raise FhirError(
            422,
            "not-supported",
            "updates other than cancellation (ServiceRequest.status revoked) are not supported; "
            "re-refer instead",
            "ServiceRequest.status",
        )
    reference = identifier(sr.get("identifier"), REFERENCE_SYSTEM)
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
