"""Referral APIs: BaRS-shaped FHIR messaging for systems, REST for people's tools.

``POST /fhir/R4/$process-message`` — a system sender (NHS 111, GP, trust software) authenticates
with a bearer token of a user whose role grants ``referral.send`` (``ipmo users token NAME``).
Replies: 200 with an acknowledgement Bundle (the same reply again for a repeated message id:
retries are safe), or an ``OperationOutcome`` with a 4xx and nothing stored.

``/api/referrals`` — list / read (only the organisations involved, or an ICS-wide role; every read
audited), accept, start, outcome, reject, cancel, escalate, DMS check. State changes take the
``version`` the client last saw; a stale one gets 409 with a message saying what happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ipmo.referrals import lifecycle as lc
from ipmo.referrals import messaging as msg
from ipmo.referrals import service as svc
from ipmo.referrals.models import Referral
from ipmo.referrals.schemas import (
    ActivityFigures,
    DmsReconciliation,
    ReferralDetail,
    ReferralRead,
)
from ipmo.referrals.visibility import involvement, referrals_filter
from ipmo.security import Activity, Principal
from ipmo.security.access import audit_event
from ipmo.store import utcnow
from ipmo.web.deps import authorise, db_session, require, unit_of_work
from ipmo.web.params import DB_INT_MAX

router = APIRouter(tags=["referrals"])
FHIR_JSON = "application/fhir+json"


def _ack(receipt: msg.Receipt) -> JSONResponse:
    return JSONResponse(
        msg.acknowledgement(receipt.message_id, receipt.referral, utcnow()),
        status_code=200,
        media_type=FHIR_JSON,
        headers={"X-Idempotent-Replay": "true"} if receipt.replay else {},
    )


@router.post("/fhir/R4/$process-message", response_class=JSONResponse)
async def process_message(request: Request) -> JSONResponse:
    """Receive a BaRS referral (or cancellation) message."""
    body = await request.body()
    # The whole unit of work (authentication, the message, commit) in one worker-thread hop;
    # sync dependencies would cost one hop each (this is the busiest endpoint, issue 5).
    return await run_in_threadpool(_process_message, request, body)


def _process_message(request: Request, body: bytes) -> JSONResponse:
    with unit_of_work(request) as session:
        principal = authorise(request, session, Activity.REFERRAL_SEND)
        msg.check_content_type(request.headers.get("content-type"))
        try:
            receipt = msg.receive(session, principal, body)
            session.commit()  # durable before the sender hears "ok"
        except IntegrityError:
            session.rollback()  # the same message id raced in on another connection
            message_id = str(msg.read_message(body)[0]["id"])
            if (ref := msg.already_received(session, principal.org_code, message_id)) is None:
                raise
            msg.audit_replay(session, principal, message_id, ref)
            session.commit()
            receipt = msg.Receipt(message_id, ref, replay=True)
        return _ack(receipt)


# ---- REST for people's tools -------------------------------------------------------------


def referral_json(ref: Referral, now: datetime | None = None) -> dict:
    now = now or utcnow()
    return {
        "reference": ref.reference,
        "version": ref.version,
        "service": ref.service,
        "status": ref.status,
        "outcome": ref.business_status,
        "outcome_reason": ref.outcome_reason,
        "outcome_note": ref.outcome_note,
        "escalated_to": ref.escalated_to,
        "sender": ref.sender_org_code,
        "pharmacy": ref.target_org_code,
        "routing_basis": ref.routing_basis,
        "nhs_number": ref.nhs_number,
        "patient_name": ref.patient_name,
        "practice": ref.practice_code,
        "created_at": ref.created_at.isoformat(),
        "accept_by": ref.accept_by.isoformat(),
        "due_by": ref.due_by.isoformat(),
        "accepted_at": ref.accepted_at.isoformat() if ref.accepted_at else None,
        "completed_at": ref.completed_at.isoformat() if ref.completed_at else None,
        "overdue": is_overdue(ref, now),
        "escalations": ref.escalations,
    }


def is_overdue(ref: Referral, now: datetime) -> bool:
    if ref.status in lc.AWAITING_ACCEPT:
        return ref.accept_by < now
    return ref.status in lc.OPEN and ref.due_by < now


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
) -> list[Referral]:
    q = select(Referral)
    q = q.where(referrals_filter(principal))
    if status:
        q = q.where(Referral.status == status)
    if service:
        q = q.where(Referral.service == service)
    if pharmacy:
        q = q.where(Referral.target_org_code == pharmacy)
    if nhs_number:
        q = q.where(Referral.nhs_number == nhs_number)
    if overdue:
        now = utcnow()
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


@router.get("/api/referrals", response_model=list[ReferralRead])
def list_referrals(
    status: str | None = None,
    service: str | None = None,
    pharmacy: str | None = None,
    overdue: bool = False,
    limit: int = Query(200, ge=1, le=1000),
    principal: Principal = Depends(require(Activity.REFERRAL_VIEW)),
    session: Session = Depends(db_session, scope="function"),
) -> list[dict]:
    """Referrals your organisation is involved in, newest first (filters combine)."""
    rows = list_visible(
        session,
        principal,
        status=status,
        service=service,
        pharmacy=pharmacy,
        overdue=overdue,
        limit=min(limit, 1000),
    )
    return [referral_json(r) for r in rows]


def open_referral(
    session: Session, principal: Principal, reference: str, action: str
) -> Referral | JSONResponse:
    """Load a referral the principal's organisation is involved in, auditing the access (or the
    refusal: returned, not raised, so the refusal's audit entry is committed)."""
    try:
        ref = svc.get_referral(session, reference)
    except svc.ReferralNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    reason = involvement(session, principal, ref)
    stub = svc._patient_stub(ref)
    if reason is None:
        audit_event(
            session,
            principal,
            action,
            stub,
            {"referral": ref.reference},
            outcome="refused",
            reason="not-involved",
        )
        return JSONResponse(
            {"detail": "your organisation is not involved in this referral"}, status_code=403
        )
    audit_event(session, principal, action, stub, {"referral": ref.reference}, reason=reason)
    return ref


@router.get("/api/referrals/{reference}", response_model=ReferralDetail)
def read_referral(
    reference: str,
    principal: Principal = Depends(require(Activity.REFERRAL_VIEW)),
    session: Session = Depends(db_session, scope="function"),
):
    ref = open_referral(session, principal, reference, "referral.read")
    if isinstance(ref, JSONResponse):
        return ref
    svc.mark_received(session, principal, ref)
    out = referral_json(ref)
    out["summary"] = ref.summary
    out["events"] = [
        {
            "at": e.at.isoformat(),
            "kind": e.kind,
            "status": e.to_status,
            "org": e.org_code,
            "by": e.username,
        }
        for e in ref.events
    ]
    out["discharge_items"] = [
        {"name": d.name, "change": d.change, "dose_text": d.dose_text, "note": d.note}
        for d in ref.discharge_items
    ]
    return out


@contextmanager
def http_errors():
    """Service exceptions → HTTP statuses with the service's own sentence."""
    try:
        yield
    except svc.ReferralError as exc:
        raise HTTPException(422, str(exc)) from None
    except svc.ReferralConflict as exc:
        raise HTTPException(409, str(exc)) from None
    except svc.NotInvolved as exc:
        raise HTTPException(403, str(exc)) from None
    except svc.ReferralNotFound as exc:
        raise HTTPException(404, str(exc)) from None


class DischargeItemIn(BaseModel):
    """One line of a DMS discharge medication list (the columns of ``DischargeItem``)."""

    name: str = Field(min_length=1, max_length=255)
    change: Literal["started", "stopped", "changed", "unchanged"]
    dmd_code: str | None = Field(None, max_length=20)
    dose_text: str | None = Field(None, max_length=500)
    note: str | None = Field(None, max_length=500)


class NewReferralIn(BaseModel):
    service: str
    nhs_number: str | None = None
    patient_name: str = Field("", max_length=200)  # the column's width
    birth_date: date | None = None
    patient_choice: str | None = None
    summary: str | None = None
    discharge_items: list[DischargeItemIn] = []
    # required when your organisation has no legitimate relationship with the patient (e.g.
    # "NHS 111 caller"): audited and listed for the ICS medicines safety officer
    no_relationship_reason: str | None = Field(None, max_length=200)


class VersionIn(BaseModel):
    version: int | None = Field(None, ge=0, le=DB_INT_MAX)


class OutcomeIn(VersionIn):
    outcome: str
    reason: str | None = None
    note: str | None = None
    escalate_to: str | None = None


class ReasonIn(VersionIn):
    reason: str | None = None


class EscalateIn(VersionIn):
    to: str
    note: str | None = None


class DmsCheckIn(VersionIn):
    issues: str | None = None


@router.post("/api/referrals", status_code=201, response_model=ReferralRead)
def create(
    body: NewReferralIn,
    principal: Principal = Depends(require(Activity.REFERRAL_SEND)),
    session: Session = Depends(db_session, scope="function"),
) -> dict:
    """Refer a patient (routing picks the pharmacy unless the patient chose one)."""
    with http_errors():
        ref = svc.create_referral(session, principal, svc.NewReferral(**body.model_dump()))
    session.commit()
    return referral_json(ref)


def _act(session: Session, principal: Principal, reference: str, fn, *args, **kwargs):
    ref = open_referral(session, principal, reference, "referral.open")
    if isinstance(ref, JSONResponse):
        return ref
    with http_errors():
        fn(session, principal, ref, *args, **kwargs)
    session.commit()
    return referral_json(ref)


@router.post("/api/referrals/{reference}/accept", response_model=ReferralRead)
def accept(
    reference: str,
    body: VersionIn | None = None,
    principal: Principal = Depends(require(Activity.REFERRAL_RECEIVE)),
    session: Session = Depends(db_session, scope="function"),
):
    return _act(session, principal, reference, svc.accept, (body or VersionIn()).version)


@router.post("/api/referrals/{reference}/start", response_model=ReferralRead)
def start(
    reference: str,
    body: VersionIn | None = None,
    principal: Principal = Depends(require(Activity.REFERRAL_RECEIVE)),
    session: Session = Depends(db_session, scope="function"),
):
    return _act(session, principal, reference, svc.start, (body or VersionIn()).version)


@router.post("/api/referrals/{reference}/outcome", response_model=ReferralRead)
def outcome(
    reference: str,
    body: OutcomeIn,
    principal: Principal = Depends(require(Activity.REFERRAL_RECEIVE)),
    session: Session = Depends(db_session, scope="function"),
):
    return _act(
        session,
        principal,
        reference,
        svc.record_outcome,
        body.outcome,
        body.reason,
        body.note,
        body.escalate_to,
        body.version,
    )


@router.post("/api/referrals/{reference}/escalate", response_model=ReferralRead)
def escalate(
    reference: str,
    body: EscalateIn,
    principal: Principal = Depends(require(Activity.REFERRAL_RECEIVE)),
    session: Session = Depends(db_session, scope="function"),
):
    """Refer the patient on (GP practice, NHS 111 or urgent care): completes this referral with
    outcome referred-on and, for GP / 111, opens an escalation referral to them."""
    return _act(
        session,
        principal,
        reference,
        svc.record_outcome,
        lc.Outcome.REFERRED_ON.value,
        None,
        body.note,
        body.to,
        body.version,
    )


@router.post("/api/referrals/{reference}/reject", response_model=ReferralRead)
def reject(
    reference: str,
    body: ReasonIn,
    principal: Principal = Depends(require(Activity.REFERRAL_RECEIVE)),
    session: Session = Depends(db_session, scope="function"),
):
    return _act(session, principal, reference, svc.reject, body.reason or "not given", body.version)


@router.post("/api/referrals/{reference}/cancel", response_model=ReferralRead)
def cancel(
    reference: str,
    body: ReasonIn | None = None,
    principal: Principal = Depends(require(Activity.REFERRAL_SEND)),
    session: Session = Depends(db_session, scope="function"),
):
    b = body or ReasonIn()
    return _act(session, principal, reference, svc.cancel, b.reason, b.version)


@router.post("/api/referrals/{reference}/dms-check", response_model=ReferralRead)
def dms_check(
    reference: str,
    body: DmsCheckIn,
    principal: Principal = Depends(require(Activity.REFERRAL_RECEIVE)),
    session: Session = Depends(db_session, scope="function"),
):
    return _act(session, principal, reference, svc.record_dms_check, body.issues, body.version)


@router.get("/api/referrals/{reference}/dms", response_model=DmsReconciliation)
def dms_reconciliation(
    reference: str,
    principal: Principal = Depends(require(Activity.REFERRAL_VIEW)),
    session: Session = Depends(db_session, scope="function"),
):
    """The discharge list reconciled against what the GP record shows."""
    from ipmo.referrals.dms import reconcile_for

    ref = open_referral(session, principal, reference, "referral.dms.read")
    if isinstance(ref, JSONResponse):
        return ref
    return reconcile_for(session, ref)


@router.get("/api/referral-activity", response_model=list[ActivityFigures])
def figures(
    by: str = "pharmacy",
    month: str | None = None,
    principal: Principal = Depends(require(Activity.REFERRAL_VIEW)),
    session: Session = Depends(db_session, scope="function"),
) -> list[dict]:
    """Service activity figures (no patient data)."""
    from ipmo.referrals.figures import activity_figures

    try:
        return activity_figures(session, by=by, month=month)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
