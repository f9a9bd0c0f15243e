"""Taking in one BaRS message (:func:`receive`, the one path for the HTTP API and
``ipmo referrals send``): read it, check the sender, recognise a resend, and create or cancel the
referral it asks for in the caller's unit of work.

Authentication of system senders: a bearer token of a user whose role grants
``Activity.REFERRAL_SEND`` (``ipmo users token USERNAME``); the token's organisation is the sender
(ADR 0005). A ``MessageHeader.sender`` naming another organisation is refused (403), one naming an
unknown organisation too (422); nothing is written. Message ids are unique per sender.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.fhir.outcome import FhirError
from ipmo.organisations.models import OrgKind
from ipmo.patients.identity import InvalidNhsNumber, normalise_nhs_number
from ipmo.referrals.errors import NotInvolved, ReferralConflict, ReferralError
from ipmo.referrals.inbound_messages import (
    IncomingCancel,
    IncomingReferral,
    message_kind,
    parse_cancel,
    parse_referral,
    read_message,
    sender_code,
)
from ipmo.referrals.message_codes import NHS111_CALLER
from ipmo.referrals.models import ReceivedMessage, Referral
from ipmo.referrals.new_referrals import NewReferral, create_referral
from ipmo.referrals.organisations import load_organisations, organisation
from ipmo.referrals.state_changes import cancel
from ipmo.referrals.trail import patient_stub
from ipmo.security.access import audit_event
from ipmo.security.principal import Principal


def check_sender(session: Session, principal: Principal, code: str | None) -> None:
    """The sender is the organisation the bearer token acts for (ADR 0005), never what the
    message says: a header naming an unknown organisation or another one is refused."""
    if code is None or code == principal.org_code:
        return
    if organisation(session, code) is None:
        raise FhirError(
            422,
            "not-found",
            f"MessageHeader.sender names {code}, which is not a known organisation",
            "MessageHeader.sender",
        )
    raise FhirError(
        403,
        "forbidden",
        f"MessageHeader.sender ({code}) is not the organisation your token acts for "
        f"({principal.org_code}); a system sends only for its own organisation",
        "MessageHeader.sender",
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
        patient_stub(ref),
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
            raise FhirError(
                400, "value", f"invalid NHS number: {exc}", "Patient.identifier"
            ) from None
    load_organisations(session, inc.receiver_code, principal.org_code, inc.practice_code)
    if inc.receiver_code:
        org = organisation(session, inc.receiver_code)
        if org is None:
            raise FhirError(
                422,
                "not-found",
                f"unknown pharmacy {inc.receiver_code}",
                "MessageHeader.destination.receiver",
            )
        if org.kind != OrgKind.PHARMACY:
            raise FhirError(
                422,
                "not-supported",
                f"{inc.receiver_code} is not a community pharmacy",
                "MessageHeader.destination.receiver",
            )
    new = NewReferral(
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
        return create_referral(session, principal, new)
    except ReferralError as exc:
        raise FhirError(422, "business-rule", str(exc)) from None


def _kind(session: Session, code: str) -> str | None:
    org = organisation(session, code)
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
        raise FhirError(
            404, "not-found", "no referral matches this cancellation", "ServiceRequest.identifier"
        )
    try:
        cancel(session, principal, ref, inc.reason)
    except NotInvolved as exc:
        raise FhirError(403, "forbidden", str(exc)) from None
    except ReferralConflict as exc:
        raise FhirError(409, "conflict", str(exc)) from None
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
