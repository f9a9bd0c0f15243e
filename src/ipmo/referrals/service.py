"""Referral actions: create (with routing), receive, accept, start, record outcome, reject, cancel,
escalate, and the overdue sweep.

Each action runs inside the caller's unit of work and, in that same transaction, changes the
referral, appends a :class:`ReferralEvent`, writes one audit entry and (for outcomes) queues the
notices in the outbox, so a crash leaves all of it or none of it. Concurrent changes are caught by
the referral's ``version`` column: the loser gets :class:`ReferralConflict` (HTTP 409).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ipmo.organisations.models import Organisation, OrgKind
from ipmo.patients.identity import InvalidNhsNumber, normalise_nhs_number
from ipmo.patients.models import Admission, Patient
from ipmo.referrals import lifecycle as lc
from ipmo.referrals.catalogue import ReferralService, rule_for
from ipmo.referrals.lifecycle import Action, EscalateTo, Outcome, Status
from ipmo.referrals.models import (
    DischargeItem,
    OutboxMessage,
    ReceivedMessage,
    Referral,
    ReferralEvent,
)
from ipmo.referrals.routing import (
    Pharmacy,
    RoutingBasis,
    RoutingError,
    first_open_at,
    rank,
    why_unsuitable,
)
from ipmo.security.access import audit_event
from ipmo.security.policy import relationship_for
from ipmo.security.principal import Principal
from ipmo.security.roles import Activity, Role
from ipmo.store import utcnow

CHANGE_MARKERS = ("started", "stopped", "changed", "unchanged")
SYSTEM_ORG = "SYSTEM"
SYSTEM = Principal(
    0,
    "system:referrals-worker",
    "Referrals worker",
    Role(
        "system", "System worker", "Escalates overdue referrals and delivers outcomes.", frozenset()
    ),
    SYSTEM_ORG,
)


class ReferralError(ValueError):
    """Bad input for a referral (HTTP 422); nothing is written."""


class NoRelationship(ReferralError):
    """The sender has no relationship with the patient and gave no reason, or a DMS referral
    without an admission to the sender's trust (HTTP 422; the refusal is audited). A number not
    in this ICS gets the same error."""

    def __init__(self, message: str, nhs_number: str | None, audit_reason: str) -> None:
        super().__init__(message)
        self.nhs_number = nhs_number
        self.audit_reason = audit_reason


class ReferralConflict(Exception):
    """Somebody else changed the referral first, or it is in the wrong state (HTTP 409)."""


class ReferralNotFound(LookupError):
    """No such referral (HTTP 404)."""


class NotInvolved(PermissionError):
    """The user's organisation is not the one that may do this (HTTP 403)."""


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


def new_reference() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out over the phone
    return "R-" + "".join(secrets.choice(alphabet) for _ in range(8))


def organisation(session: Session, code: str | None) -> Organisation | None:
    """The organisation with this ODS code. One SELECT per code per session: the row is kept in
    ``session.info`` (a message names the same pharmacy to check it and to route to it)."""
    if not code:
        return None
    known = session.info.setdefault("referrals.orgs", {})
    org = known.get(code)
    if org is None or org not in session:
        org = session.scalar(select(Organisation).where(Organisation.ods_code == code))
        if org is not None:
            known[code] = org
    return org


def load_organisations(session: Session, *codes: str | None) -> None:
    """Fetch several organisations in one SELECT, for :func:`organisation` to find later."""
    known = session.info.setdefault("referrals.orgs", {})
    wanted = sorted({c for c in codes if c and c not in known})
    if wanted:
        for org in session.scalars(select(Organisation).where(Organisation.ods_code.in_(wanted))):
            known[org.ods_code] = org


_org = organisation


def pharmacies(session: Session) -> list[Pharmacy]:
    rows = session.scalars(select(Organisation).where(Organisation.kind == OrgKind.PHARMACY))
    return [
        Pharmacy(
            o.ods_code,
            o.name,
            tuple(o.services or ()),
            dict(o.opening_hours or {}),
            o.latitude,
            o.longitude,
            bool(o.active),
        )
        for o in rows
    ]


def _pharmacy(session: Session, code: str) -> Pharmacy | None:
    o = _org(session, code)
    if o is None or o.kind != OrgKind.PHARMACY:
        return None
    return Pharmacy(
        o.ods_code,
        o.name,
        tuple(o.services or ()),
        dict(o.opening_hours or {}),
        o.latitude,
        o.longitude,
        bool(o.active),
    )


def _first_choice(
    session: Session,
    service: str,
    now: datetime,
    deadline: datetime,
    choice: str | None,
    nominated: str | None,
) -> list[tuple[Pharmacy, RoutingBasis]]:
    """Fast path with the same answer as :func:`rank`'s first entry: a usable patient choice or
    nomination needs only that one pharmacy, not every pharmacy in the ICS. Empty when the
    full ranking is needed (it also raises the error for an unusable choice)."""
    if choice:
        p = _pharmacy(session, choice)
        ok = why_unsuitable(p, service, now, deadline) is None
        return [(p, RoutingBasis.PATIENT_CHOICE)] if ok else []  # type: ignore[list-item]
    if nominated:
        p = _pharmacy(session, nominated)
        if why_unsuitable(p, service, now, deadline) is None:
            return [(p, RoutingBasis.NOMINATED)]  # type: ignore[list-item]
    return []


def _origin(session: Session, *codes: str | None) -> tuple[float, float] | None:
    """Where "nearest" is measured from: the patient's practice, else the sender."""
    for code in codes:
        org = _org(session, code)
        if org is not None and org.latitude is not None and org.longitude is not None:
            return (org.latitude, org.longitude)
    return None


def _patient_stub(ref: Referral) -> Patient | None:
    """A transient Patient carrying only the NHS number, so the audit entry names the patient
    even when they are not registered in this ICS. Never added to the session."""
    return Patient(nhs_number=ref.nhs_number) if ref.nhs_number else None


def _event(
    session: Session,
    principal: Principal,
    ref: Referral,
    kind: str,
    before: str | None,
    now: datetime,
    detail: dict | None = None,
    audit_reason: str | None = None,
) -> ReferralEvent:
    if ref.id is not None:  # a new referral is inserted with its event, in one flush
        _flush(session)  # the referral's versioned UPDATE first, so a lost race surfaces here
    event = ReferralEvent(
        referral=ref,
        at=now,
        kind=kind,
        from_status=before,
        to_status=ref.status,
        org_code=principal.org_code,
        username=principal.username,
        detail=detail,
    )
    session.add(event)
    audit_event(
        session,
        principal,
        f"referral.{kind}",
        _patient_stub(ref),
        {"referral": ref.reference, "from": before, "to": ref.status, **(detail or {})},
        reason=audit_reason,
    )
    return event


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise ReferralConflict(
            "this referral was changed by someone else while you were working on it (for "
            "example accepted by another pharmacist); reload it to see where it is now"
        ) from None


def _deadlines(
    rule, pharmacy: Pharmacy | None, now: datetime, requested_due_by: datetime | None
) -> tuple[datetime, datetime]:
    due_by = now + rule.complete_within
    if requested_due_by is not None and now < requested_due_by < due_by:
        due_by = requested_due_by
    clock_starts = first_open_at(pharmacy.opening_hours, now, due_by) if pharmacy else now
    return min(clock_starts + rule.accept_within, due_by), due_by


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


def create_referral(
    session: Session, principal: Principal, new: NewReferral, now: datetime | None = None
) -> Referral:
    """Validate, route and store a new referral. Raises :class:`ReferralError` (nothing written)."""
    now = now or utcnow()
    try:
        rule = rule_for(new.service)
    except ValueError as exc:
        raise ReferralError(str(exc)) from None
    sender_org = _org(session, principal.org_code)
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
            raise ReferralError(str(exc)) from None
        patient = session.scalar(select(Patient).where(Patient.nhs_number == nhs))
    name = new.patient_name.strip()
    if not name and nhs is None:
        raise ReferralError("a referral needs the patient's NHS number or name")
    relation, stated = _sender_relationship(session, principal, rule, nhs, patient, new)
    if patient is not None:
        # the receiver needs the name and birth date; a sender without a relationship sees them
        # on its referral only after stating why it refers (audited, reviewed by the ICS)
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
            ranked = _first_choice(
                session, rule.pharmacy_service.value, now, due_guess, new.patient_choice, nominated
            ) or rank(
                pharmacies(session),
                service=rule.pharmacy_service.value,
                now=now,
                deadline=due_guess,
                origin=_origin(session, practice, principal.org_code),
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
    accept_by, due_by = _deadlines(rule, target, now, new.requested_due_by)
    for item in new.discharge_items:
        if item.get("change") not in CHANGE_MARKERS:
            raise ReferralError(
                f"discharge item {item.get('name')!r} needs a change marker: "
                + ", ".join(CHANGE_MARKERS)
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
        patient_name=name or "(name not given)",
        birth_date=new.birth_date or (patient.birth_date if patient else None),
        practice_code=practice,
        summary=new.summary,
        created_at=now,
        accept_by=accept_by,
        due_by=due_by,
        escalations=0,
        parent_id=new.parent_id,
        no_relationship_reason=stated,
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
    _event(
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


def get_referral(session: Session, reference: str) -> Referral:
    ref = session.scalar(select(Referral).where(Referral.reference == reference))
    if ref is None:
        raise ReferralNotFound(f"no referral {reference}")
    return ref


def _check_version(ref: Referral, expected: int | None) -> None:
    if expected is not None and ref.version != expected:
        raise ReferralConflict(
            f"referral {ref.reference} has changed since you opened it (it is now {ref.status}); "
            "reload it to see where it is now"
        )


def _require_receiver(principal: Principal, ref: Referral, expected_version: int | None) -> None:
    """The receiving organisation acts, on the version the pharmacist saw."""
    if not principal.can(Activity.REFERRAL_RECEIVE) or principal.org_code != ref.target_org_code:
        raise NotInvolved("only the organisation the referral was sent to can do this")
    _check_version(ref, expected_version)


def _transition(ref: Referral, action: Action) -> str:
    before = ref.status
    try:
        ref.status = lc.next_status(before, action).value
    except lc.TransitionNotAllowed as exc:
        who = f" by {ref.accepted_by}" if ref.accepted_by and before != Status.REQUESTED else ""
        raise ReferralConflict(
            f"referral {ref.reference} is already {before}{who}: {exc}"
        ) from None
    return before


def mark_received(
    session: Session, principal: Principal, ref: Referral, now: datetime | None = None
) -> bool:
    """The receiving organisation has seen the referral (Task.status received)."""
    if ref.status != Status.REQUESTED or principal.org_code != ref.target_org_code:
        return False
    now = now or utcnow()
    before = _transition(ref, Action.RECEIVE)
    ref.received_at = now
    _event(session, principal, ref, "received", before, now)
    _flush(session)
    return True


def accept(
    session: Session,
    principal: Principal,
    ref: Referral,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Referral:
    _require_receiver(principal, ref, expected_version)
    now = now or utcnow()
    before = _transition(ref, Action.ACCEPT)
    ref.received_at = ref.received_at or now
    ref.accepted_at = now
    ref.accepted_by = principal.username
    _event(session, principal, ref, "accepted", before, now)
    _flush(session)
    return ref


def start(
    session: Session,
    principal: Principal,
    ref: Referral,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Referral:
    _require_receiver(principal, ref, expected_version)
    now = now or utcnow()
    before = _transition(ref, Action.START)
    _event(session, principal, ref, "started", before, now)
    _flush(session)
    return ref


def _queue_outcome(session: Session, ref: Referral, event: ReferralEvent, kind: str) -> None:
    """Outbox rows for the referrer and, for GP-registered patients, the practice."""
    from ipmo.referrals.messaging import outcome_task

    session.flush()  # the event id makes the idempotency key
    recipients = [ref.sender_org_code]
    if ref.practice_code and ref.practice_code not in recipients:
        recipients.append(ref.practice_code)
    if kind == "cancelled":
        recipients = [c for c in [ref.target_org_code] if c]
    payload = outcome_task(ref)
    for code in recipients:
        session.add(
            OutboxMessage(
                idempotency_key=f"{ref.reference}/{event.id}/{code}",
                referral_id=ref.id,
                recipient_org_code=code,
                kind=kind,
                payload=payload,
                created_at=event.at,
                next_attempt_at=event.at,
                attempts=0,
            )
        )


def record_outcome(
    session: Session,
    principal: Principal,
    ref: Referral,
    outcome: str,
    reason: str | None = None,
    note: str | None = None,
    escalate_to: str | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Referral:
    """Complete the referral with its business outcome; a referral on to the GP practice or
    NHS 111 becomes a new escalation referral linked to this one."""
    _require_receiver(principal, ref, expected_version)
    try:
        chosen, reason, target = lc.check_outcome(outcome, reason, escalate_to)
    except ValueError as exc:
        raise ReferralError(str(exc)) from None
    now = now or utcnow()
    if ref.status in lc.AWAITING_ACCEPT:  # recording an outcome implies accepting it
        accept(session, principal, ref, now=now)
    before = _transition(ref, Action.COMPLETE)
    ref.business_status = chosen.value
    ref.outcome_reason = reason
    ref.outcome_note = (note or "").strip() or None
    ref.escalated_to = target.value if target else None
    ref.completed_at = now
    detail: dict = {"outcome": chosen.value, "reason": reason}
    if target in (EscalateTo.GP, EscalateTo.NHS111):
        child = _escalation_child(session, principal, ref, target, now)
        detail["escalation"] = child.reference
    elif target is not None:
        detail["escalated_to"] = target.value
    event = _event(session, principal, ref, "completed", before, now, detail)
    _queue_outcome(session, ref, event, "outcome")
    _flush(session)
    return ref


def _escalation_child(
    session: Session, principal: Principal, ref: Referral, target: EscalateTo, now: datetime
) -> Referral:
    if target is EscalateTo.GP:
        code = ref.practice_code
        if not code or _org(session, code) is None:
            raise ReferralError(
                "the patient has no GP practice in this ICS; escalate to NHS 111 or urgent care"
            )
    else:
        code = ref.sender_org_code if ref.sender_kind == OrgKind.NHS111 else None
        code = code or session.scalar(
            select(Organisation.ods_code)
            .where(Organisation.kind == OrgKind.NHS111)
            .order_by(Organisation.ods_code)
        )
        if code is None:
            raise ReferralError("no NHS 111 service is registered in this ICS")
    return create_referral(
        session,
        principal,
        NewReferral(
            service=ReferralService.ESCALATION.value,
            patient_name=ref.patient_name,
            nhs_number=ref.nhs_number,
            birth_date=ref.birth_date,
            practice_code=ref.practice_code,
            summary=f"Escalated from {ref.reference}: " + (ref.outcome_note or ""),
            parent_id=ref.id,
            target_org_code=code,
        ),
        now=now,
    )


def cancel(
    session: Session,
    principal: Principal,
    ref: Referral,
    reason: str | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Referral:
    if principal.org_code not in (ref.sender_org_code, ref.submitted_org_code):
        raise NotInvolved("only the referring organisation can cancel a referral")
    _check_version(ref, expected_version)
    now = now or utcnow()
    before = _transition(ref, Action.CANCEL)
    ref.business_status = Outcome.CANCELLED.value
    ref.outcome_note = (reason or "").strip() or None
    ref.completed_at = now
    event = _event(session, principal, ref, "cancelled", before, now, {"reason": reason})
    _queue_outcome(session, ref, event, "cancelled")
    _flush(session)
    return ref


def _reroute_or_return(
    session: Session,
    principal: Principal,
    ref: Referral,
    now: datetime,
    why: str,
    pool: list[Pharmacy] | None = None,
) -> str:
    """Send the referral to the next suitable pharmacy, or return it to the referrer."""
    rule = rule_for(ref.service)
    nxt = None
    if rule.pharmacy_service is not None:
        nominated = None
        if ref.patient_id:
            nominated = session.scalar(
                select(Patient.nominated_pharmacy_code).where(Patient.id == ref.patient_id)
            )
        ranked = rank(
            pool if pool is not None else pharmacies(session),
            service=rule.pharmacy_service.value,
            now=now,
            deadline=ref.due_by,
            origin=_origin(session, ref.practice_code, ref.sender_org_code),
            nominated=nominated,
            exclude=list(ref.tried_codes or []) + [ref.target_org_code or ""],
        )
        nxt = ranked[0] if ranked else None
    previous = ref.target_org_code
    ref.escalations = (ref.escalations or 0) + 1
    if nxt is not None:
        pharmacy, basis = nxt
        before = _transition(ref, Action.REROUTE)
        ref.target_org_code = pharmacy.ods_code
        ref.routing_basis = basis.value
        ref.tried_codes = [*(ref.tried_codes or []), pharmacy.ods_code]
        ref.received_at = None
        ref.accept_by, _ = _deadlines(rule, pharmacy, now, None)
        ref.accept_by = min(ref.accept_by, ref.due_by)
        _event(
            session,
            principal,
            ref,
            "rerouted",
            before,
            now,
            {"from": previous, "target": pharmacy.ods_code, "why": why},
        )
        _flush(session)
        return "rerouted"
    before = _transition(ref, Action.FAIL)
    ref.business_status = Outcome.RETURNED.value
    ref.outcome_note = why
    ref.completed_at = now
    event = _event(session, principal, ref, "returned", before, now, {"why": why})
    _queue_outcome(session, ref, event, "returned")
    _flush(session)
    return "returned"


def reject(
    session: Session,
    principal: Principal,
    ref: Referral,
    reason: str,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> str:
    """The pharmacy declines (e.g. pharmacist unavailable): re-route, or return to the referrer."""
    _require_receiver(principal, ref, expected_version)
    if ref.status not in lc.AWAITING_ACCEPT:
        raise ReferralConflict(f"referral {ref.reference} is already {ref.status}")
    now = now or utcnow()
    return _reroute_or_return(
        session, principal, ref, now, f"declined by {principal.org_code}: {reason}"
    )


@dataclass
class SweepReport:
    scanned: int = 0
    rerouted: int = 0
    returned: int = 0
    conflicts: int = 0


def overdue_ids(session: Session, now: datetime, limit: int | None = None) -> list[int]:
    """Referrals not accepted by their deadline (uses ix_referrals_status_accept_by)."""
    q = (
        select(Referral.id)
        .where(
            Referral.status.in_([s.value for s in lc.AWAITING_ACCEPT]),
            Referral.accept_by < now,
        )
        .order_by(Referral.accept_by)
    )
    if limit:
        q = q.limit(limit)
    return list(session.scalars(q))


def escalate_overdue(
    session: Session, now: datetime | None = None, limit: int | None = None
) -> SweepReport:
    """What the background worker runs: every referral not accepted by its deadline is re-routed
    to the next pharmacy or returned to the referrer. Each referral is handled in a savepoint so
    one that a pharmacist accepts at the same moment is skipped, not lost."""
    now = now or utcnow()
    report = SweepReport()
    pool = pharmacies(session)
    for rid in overdue_ids(session, now, limit):
        report.scanned += 1
        try:
            with session.begin_nested():
                ref = session.get(Referral, rid)
                if ref is None or ref.status not in lc.AWAITING_ACCEPT or ref.accept_by >= now:
                    continue
                what = _reroute_or_return(
                    session,
                    SYSTEM,
                    ref,
                    now,
                    f"not accepted by {ref.target_org_code} before {ref.accept_by:%Y-%m-%d %H:%M}",
                    pool,
                )
        except ReferralConflict:
            report.conflicts += 1
            continue
        if what == "rerouted":
            report.rerouted += 1
        else:
            report.returned += 1
    return report


def record_dms_check(
    session: Session,
    principal: Principal,
    ref: Referral,
    issues: str | None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Referral:
    """The community pharmacist's DMS clinical check of the discharge list (stage 1)."""
    _require_receiver(principal, ref, expected_version)
    if ref.service != ReferralService.DMS:
        raise ReferralError("only Discharge Medicines Service referrals have a discharge check")
    if ref.status not in (Status.ACCEPTED, Status.IN_PROGRESS):
        raise ReferralConflict("accept the referral before recording the discharge check")
    now = now or utcnow()
    before = ref.status
    if ref.status == Status.ACCEPTED:
        ref.status = Status.IN_PROGRESS.value
    ref.dms_checked_at = now
    ref.dms_checked_by = principal.username
    note = (issues or "").strip()
    _event(session, principal, ref, "dms-checked", before, now, {"issues": bool(note)})
    if note:
        ref.outcome_note = note
    _flush(session)
    return ref
