"""Referral use cases: the ONE place in the referrals domain that checks access and writes audit.

Every use case is a function ``(session, principal, …)`` run inside the caller's unit of work
(``api.py`` and ``pages.py`` are thin adapters over these; the web layer commits before it
answers). Access: the referral parties (:mod:`ipmo.referrals.visibility`) for a referral, the
access policy (:mod:`ipmo.security.policy`) for a patient. Refusals — not involved (403), changed
meanwhile (409), no relationship and no reason (422) — are audited with outcome ``refused``; those
entries are durable (kept when the unit of work rolls back, :func:`ipmo.security.audit.append`).
Errors are the domain's exceptions (``errors.py``); their HTTP statuses are in the web app's one
table, ``ipmo.web.errors``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ipmo.patients.models import Patient
from ipmo.referrals import lifecycle as lc
from ipmo.referrals import state_changes as changes
from ipmo.referrals.errors import NoRelationship, NotInvolved, ReferralConflict, ReferralError
from ipmo.referrals.inbound_messages import check_content_type, read_message
from ipmo.referrals.message_receipt import Receipt, already_received, audit_replay, receive
from ipmo.referrals.models import Referral
from ipmo.referrals.new_referrals import NAME_NOT_GIVEN, NewReferral, create_referral
from ipmo.referrals.outcome_details import ReferralOutcome
from ipmo.referrals.trail import patient_stub
from ipmo.referrals.visibility import involvement, referrals_filter, sees_as_sent
from ipmo.security.access import audit_event, check_patient_access
from ipmo.security.errors import Forbidden
from ipmo.security.principal import Principal
from ipmo.security.roles import Activity
from ipmo.store import utcnow

IDEMPOTENCY_PREFIX = "Idempotency-Key:"
MAX_IDEMPOTENCY_KEY = 100 - len(IDEMPOTENCY_PREFIX)


def _refused(
    session: Session,
    principal: Principal,
    action: str,
    about: tuple[str, Patient | None],
    why: str,
    exc: Exception,
) -> None:
    """Audit a refusal of ``about`` (the referral's reference and patient, read before the change
    was tried: a change that lost a race leaves the session unusable until rolled back)."""
    reference, patient = about
    audit_event(
        session,
        principal,
        action,
        patient,
        {"referral": reference, "refused": str(exc)[:200]},
        outcome="refused",
        reason=why,
    )


# ---- reading ---------------------------------------------------------------------------------


def list_visible(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    service: str | None = None,
    pharmacy: str | None = None,
    overdue: bool = False,
    limit: int = 200,
    nhs_number: str | None = None,
    now: datetime | None = None,
) -> list[Referral]:
    """Referrals the principal's organisation is party to (or all, for an ICS-wide role);
    ``overdue``: past their deadline at ``now`` (default the real time)."""
    q = select(Referral).where(referrals_filter(principal))
    if status:
        q = q.where(Referral.status == status)
    if service:
        q = q.where(Referral.service == service)
    if pharmacy:
        q = q.where(Referral.target_org_code == pharmacy)
    if nhs_number:
        q = q.where(Referral.nhs_number == nhs_number)
    if overdue:
        now = now or utcnow()
        q = q.where(
            ((Referral.status.in_(list(lc.AWAITING_ACCEPT))) & (Referral.accept_by < now))
            | ((Referral.status.in_(list(lc.OPEN))) & (Referral.due_by < now))
        )
    rows = list(session.scalars(q.order_by(Referral.created_at.desc()).limit(limit)))
    audit_event(
        session,
        principal,
        "referral.list",
        detail={
            "count": len(rows),
            "status": status,
            "service": service,
            "pharmacy": pharmacy,
            "overdue": overdue,
        },
    )
    return rows


def page_visible(
    session: Session,
    principal: Principal,
    where: ColumnElement[bool],
    order_by: Sequence[Any],
    *,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Referral], int]:
    """One page of the referrals the principal may see that match ``where``, and how many match
    in all (the pages' inbox and list say "Showing 51 to 100 of 1,234")."""
    q = select(Referral).where(referrals_filter(principal), where)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = list(session.scalars(q.order_by(*order_by).offset(offset).limit(limit)))
    audit_event(session, principal, "referral.list", detail={"count": len(rows), "total": total})
    return rows, total


def for_patient(session: Session, principal: Principal, nhs_number: str) -> list[Referral]:
    """One patient's referrals: the patient by the access policy, the referrals by party."""
    patient = check_patient_access(session, principal, nhs_number, action="referral.list-patient")
    return list_visible(session, principal, nhs_number=patient.nhs_number)


def open_referral(session: Session, principal: Principal, reference: str, action: str) -> Referral:
    """A referral the principal's organisation is party to, the access audited; otherwise the
    refusal is audited and :class:`~ipmo.referrals.errors.NotInvolved` raised."""
    ref = changes.get_referral(session, reference)  # ReferralNotFound → 404
    reason = involvement(session, principal, ref)
    if reason is None:
        exc = NotInvolved("your organisation is not involved in this referral")
        _refused(
            session, principal, action, (ref.reference, patient_stub(ref)), "not-involved", exc
        )
        raise exc
    audit_event(
        session, principal, action, patient_stub(ref), {"referral": ref.reference}, reason=reason
    )
    return ref


def read(session: Session, principal: Principal, reference: str) -> Referral:
    """Open a referral; the receiving organisation's first read marks it received."""
    ref = open_referral(session, principal, reference, "referral.read")
    changes.mark_received(session, principal, ref)
    return ref


def dms_reconciliation(session: Session, principal: Principal, reference: str) -> Any:
    from ipmo.referrals.dms import reconcile_for

    return reconcile_for(session, open_referral(session, principal, reference, "referral.dms.read"))


def stated_reason_referrals(
    session: Session, principal: Principal, limit: int = 500
) -> list[Referral]:
    """Referrals sent by an organisation with no relationship with the patient, with the reason
    it stated — for the ICS medicines safety officer (``referral.oversight``)."""
    if not principal.can(Activity.REFERRAL_OVERSIGHT):
        raise Forbidden("this list is for the ICS medicines safety officer")
    rows = list(
        session.scalars(
            select(Referral)
            .where(Referral.no_relationship_reason.is_not(None))
            .order_by(Referral.created_at.desc())
            .limit(limit)
        )
    )
    audit_event(session, principal, "referral.oversight.list", detail={"count": len(rows)})
    return rows


@dataclass(frozen=True)
class PatientShown:
    """The patient as one referral shows them to one user."""

    name: str
    birth_date: date | None
    practice_code: str | None
    as_sent: bool  # the sender's own copy: what the store filled in from the record is withheld


def patient_shown(session: Session, principal: Principal, ref: Referral) -> PatientShown:
    """The referral's patient fields for this user: a sender with no relationship of its own
    sees only what it sent (:func:`~ipmo.referrals.visibility.sees_as_sent`), never the name,
    birth date or practice the store took from the patient's record."""
    if not sees_as_sent(session, principal, ref):
        return PatientShown(ref.patient_name, ref.birth_date, ref.practice_code, as_sent=False)
    filled = set(ref.from_record or ())
    return PatientShown(
        NAME_NOT_GIVEN if "patient_name" in filled else ref.patient_name,
        None if "birth_date" in filled else ref.birth_date,
        None if "practice_code" in filled else ref.practice_code,
        as_sent=True,
    )


# ---- sending ---------------------------------------------------------------------------------


@dataclass
class Created:
    referral: Referral
    replay: bool  # the same Idempotency-Key from the same organisation: nothing new stored


def create(
    session: Session,
    principal: Principal,
    new: NewReferral,
    idempotency_key: str | None = None,
) -> Created:
    """Refer a patient. A sender with no relationship with the patient must state why (refusal
    audited, the same for a number not in this ICS); an ``Idempotency-Key`` makes a resend
    return the first referral — keys are the sending organisation's own."""
    message_id = None
    if idempotency_key is not None:
        key = idempotency_key.strip()
        if not key or len(key) > MAX_IDEMPOTENCY_KEY:
            raise ReferralError(f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters")
        message_id = IDEMPOTENCY_PREFIX + key
        if (ref := already_received(session, principal.org_code, message_id)) is not None:
            audit_replay(session, principal, message_id, ref)
            return Created(ref, replay=True)
        new.message_id = message_id
    try:
        ref = create_referral(session, principal, new)
    except NoRelationship as exc:
        audit_event(
            session,
            principal,
            "referral.create",
            Patient(nhs_number=exc.nhs_number) if exc.nhs_number else None,
            {"service": new.service},
            outcome="refused",
            reason=exc.audit_reason,
        )
        raise
    except IntegrityError:
        if message_id is None:
            raise
        session.rollback()  # the same key raced in on another connection: that one won
        first = already_received(session, principal.org_code, message_id)
        if first is None:
            raise
        audit_replay(session, principal, message_id, first)
        return Created(first, replay=True)
    return Created(ref, replay=False)


def receive_message(
    session: Session, principal: Principal, body: bytes, content_type: str | None
) -> Receipt:
    """One BaRS message (the sender is the token's organisation), committed before the sender
    hears "ok". The same message id from the same sender racing in on another connection is a
    replay (audited)."""
    check_content_type(content_type)
    try:
        receipt = receive(session, principal, body)
        session.commit()
    except IntegrityError:
        session.rollback()
        message_id = str(read_message(body)[0]["id"])
        if (ref := already_received(session, principal.org_code, message_id)) is None:
            raise
        audit_replay(session, principal, message_id, ref)
        session.commit()
        receipt = Receipt(message_id, ref, replay=True)
    return receipt


# ---- acting on a referral --------------------------------------------------------------------

REFUSALS: tuple[tuple[type[Exception], str], ...] = (
    (NotInvolved, "not-involved"),
    (ReferralConflict, "conflict"),
)


def _act(
    session: Session,
    principal: Principal,
    reference: str,
    name: str,
    fn: Callable[..., Any],
    *args: Any,
) -> Referral:
    ref = open_referral(session, principal, reference, "referral.open")
    about = (ref.reference, patient_stub(ref))
    try:
        fn(session, principal, ref, *args)
    except (NotInvolved, ReferralConflict) as exc:
        why = next(w for kind, w in REFUSALS if isinstance(exc, kind))
        _refused(session, principal, f"referral.{name}", about, why, exc)
        raise
    return ref


def accept(
    session: Session, principal: Principal, reference: str, version: int | None = None
) -> Referral:
    return _act(session, principal, reference, "accept", changes.accept, version)


def start(
    session: Session, principal: Principal, reference: str, version: int | None = None
) -> Referral:
    return _act(session, principal, reference, "start", changes.start, version)


def record_outcome(
    session: Session,
    principal: Principal,
    reference: str,
    outcome: ReferralOutcome,
    version: int | None = None,
) -> Referral:
    return _act(session, principal, reference, "outcome", changes.record_outcome, outcome, version)


def reject(
    session: Session,
    principal: Principal,
    reference: str,
    reason: str | None,
    version: int | None = None,
) -> Referral:
    return _act(
        session, principal, reference, "reject", changes.reject, reason or "not given", version
    )


def cancel(
    session: Session,
    principal: Principal,
    reference: str,
    reason: str | None = None,
    version: int | None = None,
) -> Referral:
    return _act(session, principal, reference, "cancel", changes.cancel, reason, version)


def dms_check(
    session: Session,
    principal: Principal,
    reference: str,
    issues: str | None,
    version: int | None = None,
) -> Referral:
    return _act(
        session, principal, reference, "dms-check", changes.record_dms_check, issues, version
    )


def is_overdue(ref: Referral, now: datetime) -> bool:
    if ref.status in lc.AWAITING_ACCEPT:
        return ref.accept_by < now
    return ref.status in lc.OPEN and ref.due_by < now
