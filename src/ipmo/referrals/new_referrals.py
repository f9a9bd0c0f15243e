"""Sending a referral: validate it, check the sender's relationship with the patient (or its
stated reason), route it to a pharmacy and store it with its first event and audit entry, all in
the caller's unit of work. Raises :class:`ReferralError` with nothing written."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ipmo.patients.identity import InvalidNhsNumber, normalise_nhs_number
from ipmo.patients.models import Admission, Patient
from ipmo.referrals.catalogue import ReferralService, rule_for
from ipmo.referrals.errors import NoRelationship, ReferralError
from ipmo.referrals.lifecycle import Status
from ipmo.referrals.models import DischargeItem, ReceivedMessage, Referral
from ipmo.referrals.organisations import first_choice, organisation, origin, pharmacies
from ipmo.referrals.routing import Pharmacy, RoutingBasis, RoutingError, deadlines, rank
from ipmo.referrals.trail import SYSTEM, record_event
from ipmo.security.policy import relationship_for
from ipmo.security.principal import Principal
from ipmo.store import utcnow

CHANGE_MARKERS = ("started", "stopped", "changed", "unchanged")


@dataclass
class NewReferral:
    service: str
    patient_name: str = ""
    nhs_number: str | None = None
    birth_date: date | None = None
    practice_code: str | None = None
    patient_choice: str | None = None  # ODS code of the pharmacy the patient chose
    summary: str | None = None
    message_id: str | None = None
    sender_org_code: str | None = None  # defaults to the submitting user's organisation
    requested_due_by: datetime | None = None  # naive UTC
    discharge_items: list[dict] = field(default_factory=list)
    parent_id: int | None = None
    target_org_code: str | None = None  # escalations: the GP practice or NHS 111 service
    # why the sender refers a patient it has no legitimate relationship with (e.g. "NHS 111
    # caller"); required then, audited and listed for the ICS medicines safety officer
    no_relationship_reason: str | None = None
    # what a person sending from the page must give (issue 14: "validation of what the service
    # needs"): a patient this ICS knows (our stand-in for a PDS trace) and a clinical summary.
    # Messages from other systems (BaRS) may carry patients from elsewhere, named in the message.
    from_form: bool = False


NAME_NOT_GIVEN = "(name not given)"


def new_reference() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out over the phone
    return "R-" + "".join(secrets.choice(alphabet) for _ in range(8))


NEEDS_REASON = (
    "you have no legitimate relationship with a patient with this NHS number (registration, "
    "nomination, admission, care home or a referral to your organisation): say why you are "
    'referring them (for example "NHS 111 caller"); the reason is audited and reviewed by the '
    "ICS medicines safety officer"
)


NEEDS_ADMISSION = (
    "a Discharge Medicines Service referral needs an admission to your trust for this NHS number"
)


def _sender_relationship(
    session: Session,
    principal: Principal,
    rule,
    nhs: str | None,
    patient: Patient | None,
    new: NewReferral,
) -> tuple[str | None, str | None]:
    """(the sender's relationship with the patient, the reason it stated if it has none).

    A referral gives the *receiver* access while it is open, never the sender (see
    ``referrals/hooks.py``); a sender with no relationship must say why it refers, and a number
    not in this ICS gets the same answer as a patient the sender is not related to. A DMS referral
    comes from the trust the patient was admitted to (NHS England DMS toolkit: the trust refers on
    discharge). Escalations inherit the referral they come from."""
    if new.parent_id is not None or principal is SYSTEM:
        return "escalation", None
    relation = relationship_for(session, principal, patient) if patient is not None else None
    if rule.service == ReferralService.DMS:
        admitted = patient is not None and session.scalar(
            select(Admission.id)
            .where(Admission.patient_id == patient.id, Admission.trust_code == principal.org_code)
            .limit(1)
        )
        if not admitted:
            raise NoRelationship(NEEDS_ADMISSION, nhs, "dms-without-admission")
        return "admission", None
    if relation is not None:
        return relation, None
    stated = " ".join((new.no_relationship_reason or "").split())[:200]
    if not stated:
        raise NoRelationship(NEEDS_REASON, nhs, "no-relationship-no-reason")
    return None, stated


def _left_out(new: NewReferral, patient: Patient | None) -> list[str]:
    """The patient fields the sender did not give that the record will fill in."""
    if patient is None:
        return []
    given = {
        "patient_name": new.patient_name.strip(),
        "birth_date": new.birth_date,
        "practice_code": new.practice_code or not patient.practice_code,
    }
    return [field for field, value in given.items() if not value]


def create_referral(
    session: Session, principal: Principal, new: NewReferral, now: datetime | None = None
) -> Referral:
    """Validate, route and store a new referral. Raises :class:`ReferralError` (nothing written)."""
    now = now or utcnow()
    try:
        rule = rule_for(new.service)
    except ValueError as exc:
        raise ReferralError(str(exc)) from None
    sender_org = organisation(session, principal.org_code)
    sender_kind = sender_org.kind if sender_org is not None else "external"
    if sender_kind not in rule.senders and principal is not SYSTEM:
        raise ReferralError(
            f"{rule.title} referrals cannot be sent by a {sender_kind} organisation"
        )
    patient = None
    nhs = None
    if new.nhs_number:
        try:
            nhs = normalise_nhs_number(new.nhs_number)
        except InvalidNhsNumber as exc:
            raise ReferralError(f"{exc}, for example 999 000 0018", "nhs_number") from None
        patient = session.scalar(select(Patient).where(Patient.nhs_number == nhs))
    name = new.patient_name.strip()
    if not name and nhs is None:
        raise ReferralError("Enter the patient's NHS number or name", "nhs_number")
    if new.from_form and not (new.summary or "").strip():
        raise ReferralError(
            "Enter a clinical summary: what the pharmacy needs to know to help the patient",
            "summary",
        )
    relation, stated = _sender_relationship(session, principal, rule, nhs, patient, new)
    if new.from_form and patient is None:
        # asked only once a reason has been stated (audited), so it answers no probing
        raise ReferralError(
            "No patient with this NHS number is registered in this ICS: check the number with "
            "the patient",
            "nhs_number",
        )
    # the receiver needs the name, birth date and practice: what the sender left out is filled
    # in from the record, and named in ``from_record`` so that the sender (without its own
    # relationship) sees only what it sent (``visibility.sees_as_sent``)
    from_record = _left_out(new, patient) if new.parent_id is None else []
    if patient is not None:
        name = name or f"{patient.given_name} {patient.family_name}"
    practice = new.practice_code or (patient.practice_code if patient else None)
    nominated = patient.nominated_pharmacy_code if patient else None
    due_guess = now + rule.complete_within
    if new.requested_due_by is not None and now < new.requested_due_by < due_guess:
        due_guess = new.requested_due_by

    target: Pharmacy | None = None
    basis: RoutingBasis | None = None
    target_code = new.target_org_code
    if rule.pharmacy_service is not None:
        try:
            ranked = first_choice(
                session, rule.pharmacy_service.value, now, due_guess, new.patient_choice, nominated
            ) or rank(
                pharmacies(session),
                service=rule.pharmacy_service.value,
                now=now,
                deadline=due_guess,
                origin=origin(session, practice, principal.org_code),
                patient_choice=new.patient_choice,
                nominated=nominated,
            )
        except RoutingError as exc:
            raise ReferralError(str(exc)) from None
        if not ranked:
            raise ReferralError(
                f"no pharmacy offering {rule.title} is open before "
                f"{due_guess:%Y-%m-%d %H:%M} UTC; refer the patient another way"
            )
        target, basis = ranked[0]
        target_code = target.ods_code
    elif target_code is None:
        raise ReferralError(f"{rule.title} needs a receiving organisation")
    accept_by, due_by = deadlines(rule, target, now, new.requested_due_by)
    for item in new.discharge_items:
        if item.get("change") not in CHANGE_MARKERS:
            raise ReferralError(
                f"Select whether {item.get('name') or 'each discharge medicine'} was started, "
                "stopped, changed or unchanged",
                "discharge_items",
            )
    ref = Referral(
        reference=new_reference(),
        message_id=new.message_id,
        service=rule.service.value,
        status=Status.REQUESTED.value,
        sender_kind=sender_kind,
        sender_org_code=new.sender_org_code or principal.org_code,
        submitted_by=principal.username,
        submitted_org_code=principal.org_code,
        target_org_code=target_code,
        routing_basis=basis.value if basis else None,
        tried_codes=[target_code],
        patient_id=patient.id if patient else None,
        nhs_number=nhs,
        patient_name=name or NAME_NOT_GIVEN,
        birth_date=new.birth_date or (patient.birth_date if patient else None),
        practice_code=practice,
        summary=new.summary,
        created_at=now,
        accept_by=accept_by,
        due_by=due_by,
        escalations=0,
        parent_id=new.parent_id,
        no_relationship_reason=stated,
        from_record=from_record or None,
    )
    session.add(ref)
    for item in new.discharge_items:
        ref.discharge_items.append(
            DischargeItem(
                name=str(item["name"])[:255],
                dmd_code=item.get("dmd_code"),
                change=item["change"],
                dose_text=item.get("dose_text"),
                note=item.get("note"),
            )
        )
    record_event(
        session,
        principal,
        ref,
        "created",
        None,
        now,
        {
            "service": ref.service,
            "target": target_code,
            "basis": ref.routing_basis,
            **({"stated_reason": stated} if stated else {}),
        },
        audit_reason=relation or "no-relationship-stated-reason",
    )
    session.flush()  # one flush: the referral, its items and event (a repeated message id fails)
    if new.message_id:  # a Core insert: cheaper than a second ORM flush on the ingest path
        session.connection().execute(
            insert(ReceivedMessage.__table__),
            {
                "sender_org_code": principal.org_code,
                "message_id": new.message_id,
                "referral_id": ref.id,
                "kind": "new",
                "received_at": now,
            },
        )
    return ref
