"""Moving a referral through its lifecycle: receive, accept, start, the DMS check, record the
outcome (escalating to the GP practice or NHS 111), decline (re-route or return), cancel.

Each change runs inside the caller's unit of work and, in that same transaction, changes the
referral, appends a :class:`ReferralEvent`, writes one audit entry and (for outcomes) queues the
notices in the outbox, so a crash leaves all of it or none of it. Concurrent changes are caught by
the referral's ``version`` column: the loser gets :class:`ReferralConflict` (HTTP 409).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.organisations.models import Organisation, OrgKind
from ipmo.patients.models import Patient
from ipmo.referrals import lifecycle as lc
from ipmo.referrals.catalogue import ReferralService, rule_for
from ipmo.referrals.errors import NotInvolved, ReferralConflict, ReferralError, ReferralNotFound
from ipmo.referrals.lifecycle import Action, EscalateTo, Outcome, Status
from ipmo.referrals.models import OutboxMessage, Referral, ReferralEvent
from ipmo.referrals.new_referrals import NewReferral, create_referral
from ipmo.referrals.organisations import organisation, origin, pharmacies
from ipmo.referrals.outcome_details import ReferralOutcome, check_details
from ipmo.referrals.outcome_messages import outcome_task
from ipmo.referrals.routing import Pharmacy, deadlines, rank
from ipmo.referrals.trail import record_event, save
from ipmo.security.principal import Principal
from ipmo.security.roles import Activity
from ipmo.store import utcnow


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


# the plain lifecycle steps: the transition, the event it records, and its time stamps
STEP_EVENTS = {Action.RECEIVE: "received", Action.ACCEPT: "accepted", Action.START: "started"}


def _step(
    session: Session, principal: Principal, ref: Referral, action: Action, now: datetime | None
) -> Referral:
    now = now or utcnow()
    before = _transition(ref, action)
    if action in (Action.RECEIVE, Action.ACCEPT):
        ref.received_at = ref.received_at or now
    if action is Action.ACCEPT:
        ref.accepted_at, ref.accepted_by = now, principal.username
    record_event(session, principal, ref, STEP_EVENTS[action], before, now)
    save(session)
    return ref


def mark_received(
    session: Session, principal: Principal, ref: Referral, now: datetime | None = None
) -> bool:
    """The receiving organisation has seen the referral (Task.status received)."""
    if ref.status != Status.REQUESTED or principal.org_code != ref.target_org_code:
        return False
    _step(session, principal, ref, Action.RECEIVE, now)
    return True


def _receiver_step(action: Action, doc: str) -> Callable[..., Referral]:
    """``fn(session, principal, ref, expected_version=None, now=None)``: the receiving
    organisation takes this step, on the version its pharmacist saw."""

    def receiver_step(
        session: Session,
        principal: Principal,
        ref: Referral,
        expected_version: int | None = None,
        now: datetime | None = None,
    ) -> Referral:
        _require_receiver(principal, ref, expected_version)
        return _step(session, principal, ref, action, now)

    receiver_step.__doc__ = doc
    return receiver_step


accept = _receiver_step(Action.ACCEPT, "The pharmacy takes the referral on (Task accepted).")
start = _receiver_step(Action.START, "The pharmacist starts the consultation (in-progress).")


def _queue_outcome(session: Session, ref: Referral, event: ReferralEvent, kind: str) -> None:
    """Outbox rows for the referrer and, for GP-registered patients, the practice."""

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
    recorded: ReferralOutcome,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Referral:
    """Complete the referral with its business outcome; a referral on to the GP practice or
    NHS 111 becomes a new escalation referral linked to this one. The outcome form's
    ``details`` are checked against the service's rules and kept with the event."""
    _require_receiver(principal, ref, expected_version)
    try:
        chosen, reason, target = lc.check_outcome(
            recorded.outcome, recorded.reason, recorded.escalate_to
        )
    except lc.OutcomeError as exc:
        raise ReferralError(str(exc), exc.field) from None
    details = recorded.details
    extra = check_details(ref.service, chosen, details) if details is not None else {}
    now = now or utcnow()
    if ref.status in lc.AWAITING_ACCEPT:  # recording an outcome implies accepting it
        accept(session, principal, ref, now=now)
    before = _transition(ref, Action.COMPLETE)
    ref.business_status = chosen.value
    ref.outcome_reason = reason
    ref.outcome_note = (recorded.note or "").strip() or None
    ref.escalated_to = target.value if target else None
    ref.completed_at = now
    detail: dict = {"outcome": chosen.value, "reason": reason, **extra}
    if target in (EscalateTo.GP, EscalateTo.NHS111):
        child = _escalation_child(session, principal, ref, target, now)
        detail["escalation"] = child.reference
    elif target is not None:
        detail["escalated_to"] = target.value
    event = record_event(session, principal, ref, "completed", before, now, detail)
    _queue_outcome(session, ref, event, "outcome")
    save(session)
    return ref


def _escalation_child(
    session: Session, principal: Principal, ref: Referral, target: EscalateTo, now: datetime
) -> Referral:
    if target is EscalateTo.GP:
        code = ref.practice_code
        if not code or organisation(session, code) is None:
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
    event = record_event(session, principal, ref, "cancelled", before, now, {"reason": reason})
    _queue_outcome(session, ref, event, "cancelled")
    save(session)
    return ref


def reroute_or_return(
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
            origin=origin(session, ref.practice_code, ref.sender_org_code),
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
        ref.accept_by, _ = deadlines(rule, pharmacy, now, None)
        ref.accept_by = min(ref.accept_by, ref.due_by)
        record_event(
            session,
            principal,
            ref,
            "rerouted",
            before,
            now,
            {"from": previous, "target": pharmacy.ods_code, "why": why},
        )
        save(session)
        return "rerouted"
    before = _transition(ref, Action.FAIL)
    ref.business_status = Outcome.RETURNED.value
    ref.outcome_note = why
    ref.completed_at = now
    event = record_event(session, principal, ref, "returned", before, now, {"why": why})
    _queue_outcome(session, ref, event, "returned")
    save(session)
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
    return reroute_or_return(
        session, principal, ref, now, f"declined by {principal.org_code}: {reason}"
    )


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
    record_event(session, principal, ref, "dms-checked", before, now, {"issues": bool(note)})
    if note:
        ref.outcome_note = note
    save(session)
    return ref
