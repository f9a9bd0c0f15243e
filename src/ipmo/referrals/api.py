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

import inspect
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ipmo.referrals import actions
from ipmo.referrals.message_receipt import Receipt
from ipmo.referrals.models import Referral
from ipmo.referrals.new_referrals import NewReferral
from ipmo.referrals.outcome_details import ReferralOutcome
from ipmo.referrals.outcome_messages import acknowledgement
from ipmo.referrals.schemas import (
    ActivityFigures,
    DmsReconciliation,
    LeakageRow,
    ReferralDetail,
    ReferralRead,
    StatedReasonRead,
)
from ipmo.security import Activity, Principal
from ipmo.store import utcnow
from ipmo.web.deps import app_store_now, authorise, db_session, require, unit_of_work
from ipmo.web.downloads import csv_download, csv_text
from ipmo.web.params import DB_INT_MAX

router = APIRouter(tags=["referrals"])
FHIR_JSON = "application/fhir+json"


def _ack(receipt: Receipt) -> JSONResponse:
    return JSONResponse(
        acknowledgement(receipt.message_id, receipt.referral, utcnow()),
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
        receipt = actions.receive_message(
            session, principal, body, request.headers.get("content-type")
        )
        return _ack(receipt)


# ---- REST for people's tools -------------------------------------------------------------


def referral_json(session: Session, principal: Principal, ref: Referral, now: datetime) -> dict:
    """The referral as this user may see it (a sender without its own relationship with the
    patient sees the patient as it sent them: ``actions.patient_shown``); overdue at ``now``."""
    shown = actions.patient_shown(session, principal, ref)
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
        "patient_name": shown.name,
        "practice": shown.practice_code,
        "created_at": ref.created_at.isoformat(),
        "accept_by": ref.accept_by.isoformat(),
        "due_by": ref.due_by.isoformat(),
        "accepted_at": ref.accepted_at.isoformat() if ref.accepted_at else None,
        "completed_at": ref.completed_at.isoformat() if ref.completed_at else None,
        "overdue": actions.is_overdue(ref, now),
        "escalations": ref.escalations,
    }


@router.get("/api/referrals", response_model=list[ReferralRead])
def list_referrals(
    status: str | None = None,
    service: str | None = None,
    pharmacy: str | None = None,
    overdue: bool = False,
    limit: int = Query(200, ge=1, le=1000),
    principal: Principal = Depends(require(Activity.REFERRAL_VIEW)),
    session: Session = Depends(db_session, scope="function"),
    now: datetime = Depends(app_store_now),
) -> list[dict]:
    """Referrals your organisation is involved in, newest first (filters combine); overdue by
    the app's clock."""
    rows = actions.list_visible(
        session,
        principal,
        status=status,
        service=service,
        pharmacy=pharmacy,
        overdue=overdue,
        limit=min(limit, 1000),
        now=now,
    )
    return [referral_json(session, principal, r, now) for r in rows]


@router.get("/api/referrals/{reference}", response_model=ReferralDetail)
def read_referral(
    reference: str,
    principal: Principal = Depends(require(Activity.REFERRAL_VIEW)),
    session: Session = Depends(db_session, scope="function"),
    now: datetime = Depends(app_store_now),
):
    ref = actions.read(session, principal, reference)
    out = referral_json(session, principal, ref, now)
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
    response: Response,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
    principal: Principal = Depends(require(Activity.REFERRAL_SEND)),
    session: Session = Depends(db_session, scope="function"),
    now: datetime = Depends(app_store_now),
) -> dict:
    """Refer a patient (routing picks the pharmacy unless the patient chose one). With an
    ``Idempotency-Key`` header (your organisation's own), a resend returns the first referral
    (200, ``X-Idempotent-Replay: true``) and stores nothing new. If your organisation has no
    legitimate relationship with the patient, say why in ``no_relationship_reason``."""
    done = actions.create(session, principal, NewReferral(**body.model_dump()), idempotency_key)
    if done.replay:
        response.status_code = 200
        response.headers["X-Idempotent-Replay"] = "true"
    return referral_json(session, principal, done.referral, now)


def _referral_action(
    name: str,
    activity: Activity,
    body_model: type[VersionIn],
    run: Callable[[Session, Principal, str, Any], Referral],
    doc: str,
    body_required: bool = True,
) -> None:
    """``POST /api/referrals/{reference}/<name>``: one use case of ``actions``, answered with the
    referral as this user may see it (the routes differ only in activity, body and use case)."""

    def handler(
        reference: str, body: Any, principal: Principal, session: Session, now: datetime
    ) -> dict:
        ref = run(session, principal, reference, body or body_model())
        return referral_json(session, principal, ref, now)

    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    handler.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("reference", kind, annotation=str),
            inspect.Parameter(
                "body",
                kind,
                annotation=body_model if body_required else body_model | None,
                default=inspect.Parameter.empty if body_required else None,
            ),
            inspect.Parameter(
                "principal", kind, annotation=Principal, default=Depends(require(activity))
            ),
            inspect.Parameter(
                "session", kind, annotation=Session, default=Depends(db_session, scope="function")
            ),
            inspect.Parameter("now", kind, annotation=datetime, default=Depends(app_store_now)),
        ]
    )
    handler.__name__ = handler.__qualname__ = name.replace("-", "_")
    handler.__doc__ = doc
    router.post(f"/api/referrals/{{reference}}/{name}", response_model=ReferralRead)(handler)


RECEIVE, SEND = Activity.REFERRAL_RECEIVE, Activity.REFERRAL_SEND
# name, activity, body, use case, what it does, body required
REFERRAL_ACTIONS: list[
    tuple[str, Activity, type[VersionIn], Callable[..., Referral], str, bool]
] = [
    (
        "accept",
        RECEIVE,
        VersionIn,
        lambda s, p, ref, b: actions.accept(s, p, ref, b.version),
        "The receiving pharmacy takes the referral on.",
        False,
    ),
    (
        "start",
        RECEIVE,
        VersionIn,
        lambda s, p, ref, b: actions.start(s, p, ref, b.version),
        "The pharmacist starts the consultation.",
        False,
    ),
    (
        "outcome",
        RECEIVE,
        OutcomeIn,
        lambda s, p, ref, b: actions.record_outcome(
            s, p, ref, ReferralOutcome(b.outcome, b.reason, b.note, b.escalate_to), b.version
        ),
        "Complete the referral with its outcome.",
        True,
    ),
    (
        "escalate",
        RECEIVE,
        EscalateIn,
        lambda s, p, ref, b: actions.record_outcome(
            s, p, ref, ReferralOutcome.referred_on(b.to, b.note), b.version
        ),
        "Refer the patient on (GP practice, NHS 111 or urgent care): completes this referral "
        "with outcome referred-on and, for GP / 111, opens an escalation referral to them.",
        True,
    ),
    (
        "reject",
        RECEIVE,
        ReasonIn,
        lambda s, p, ref, b: actions.reject(s, p, ref, b.reason, b.version),
        "The pharmacy declines: the referral is re-routed or returned to the referrer.",
        True,
    ),
    (
        "cancel",
        SEND,
        ReasonIn,
        lambda s, p, ref, b: actions.cancel(s, p, ref, b.reason, b.version),
        "The referring organisation cancels the referral.",
        False,
    ),
    (
        "dms-check",
        RECEIVE,
        DmsCheckIn,
        lambda s, p, ref, b: actions.dms_check(s, p, ref, b.issues, b.version),
        "The community pharmacist's DMS clinical check of the discharge list.",
        True,
    ),
]
for _action in REFERRAL_ACTIONS:
    _referral_action(*_action)


@router.get("/api/referral-oversight", response_model=list[StatedReasonRead])
def stated_reasons(
    limit: int = Query(500, ge=1, le=5000),
    principal: Principal = Depends(require(Activity.REFERRAL_OVERSIGHT)),
    session: Session = Depends(db_session, scope="function"),
    now: datetime = Depends(app_store_now),
) -> list[dict]:
    """Referrals sent by an organisation with no legitimate relationship with the patient, with
    the reason it gave, newest first (ICS medicines safety officer)."""
    return [
        {
            **referral_json(session, principal, r, now),
            "submitted_by": r.submitted_by,
            "submitted_org": r.submitted_org_code,
            "no_relationship_reason": r.no_relationship_reason,
        }
        for r in actions.stated_reason_referrals(session, principal, limit)
    ]


@router.get("/api/referrals/{reference}/dms", response_model=DmsReconciliation)
def dms_reconciliation(
    reference: str,
    principal: Principal = Depends(require(Activity.REFERRAL_VIEW)),
    session: Session = Depends(db_session, scope="function"),
):
    """The discharge list reconciled against what the GP record shows."""
    return actions.dms_reconciliation(session, principal, reference)


@router.get(
    "/api/referral-leakage",
    response_model=list[LeakageRow],
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def leakage(
    since: date,
    until: date,
    service: str = "pharmacy-first",
    format: str = "json",
    principal: Principal = Depends(require(Activity.ANALYTICS_VIEW)),
    session: Session = Depends(db_session, scope="function"),
):
    """Referral leakage: per practice, GP referrals to ``service`` in [since, until) against its
    list size and the pharmacies offering the service in its place (no patient data)."""
    from ipmo.referrals.figures import referral_leakage

    if until <= since:
        raise HTTPException(422, "until must be after since")
    rows = referral_leakage(session, since, until, service)
    if format == "csv":
        return csv_download(csv_text(rows, list(rows[0]) if rows else ["practice"]), "leakage.csv")
    return rows


@router.get("/api/referral-activity", response_model=list[ActivityFigures])
def figures(
    by: str = "pharmacy",
    month: str | None = None,
    service: str | None = None,
    format: str = "json",
    principal: Principal = Depends(require(Activity.REFERRAL_VIEW)),
    session: Session = Depends(db_session, scope="function"),
):
    """Service figures per pharmacy, PCN, place or ICB (no patient data; one definition,
    ``referrals/figures.py``); ``format=csv`` downloads the same rows."""
    from ipmo.referrals.figures import activity_figures, figures_csv

    try:
        rows = activity_figures(session, by=by, month=month, service=service)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    if format == "csv":
        return csv_download(figures_csv(rows), "service-figures.csv")
    return rows
