"""Review API: the SMR worklist, one patient's findings, recording a review, population rates.

A thin adapter over ``actions.py`` (access checks and audit live there: patients through the
access policy, the worklist filtered by it); rates are aggregates after disclosure control.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Response
from pydantic import BaseModel, Field

from ipmo.review import actions, service
from ipmo.review.schemas import CheckRead, RateRow, ReviewRead, WorklistRow
from ipmo.security import Activity, Principal
from ipmo.web.deps import DbSession, Today, require
from ipmo.web.params import DB_INT_MAX, EARLIEST_DATE, LATEST_DATE, in_date_range

router = APIRouter(prefix="/api/review", tags=["review"])


@router.get("/worklist", response_model=list[WorklistRow])
def worklist(
    session: DbSession,
    practice: str | None = None,
    pcn: str | None = None,
    care_home: str | None = None,
    rule: str | None = None,
    min_score: int = Query(0, ge=0, le=DB_INT_MAX),
    limit: int = Query(200, ge=1, le=1000),
    principal: Principal = Depends(require(Activity.REVIEW_VIEW)),
) -> list[dict]:
    """The prioritised SMR worklist for the user's organisation, highest score first."""
    filters = actions.WorklistFilter(practice, pcn, care_home, rule, min_score)
    rows, _total = actions.worklist_page(session, principal, filters, limit=limit)
    return rows


@router.get("/patients/{nhs_number}", response_model=CheckRead)
def patient_findings(
    nhs_number: str,
    session: DbSession,
    today: Today,
    as_of: date | None = None,
    principal: Principal = Depends(require(Activity.REVIEW_VIEW)),
) -> dict:
    """Every rule for one patient now: findings with evidence and source, prompts, ACB total,
    medicine count and SMR priority with its reasons."""
    if as_of is not None and not in_date_range(as_of):  # date arithmetic overflows near 1 / 9999
        raise HTTPException(422, f"as_of must be between {EARLIEST_DATE} and {LATEST_DATE}")
    _, result = actions.findings(session, principal, nhs_number, as_of or today)
    return result.to_json()


class InterventionIn(BaseModel):
    kind: str = Field(pattern="^(stop|start|switch|dose_change|monitoring|referral)$")
    medicine: str | None = None
    dmd_code: str | None = None
    rule_id: str | None = None
    detail: str = ""
    accepted_by_patient: bool = True


class ReviewIn(BaseModel):
    review_date: date
    findings_addressed: list[str] = []
    interventions: list[InterventionIn] = []
    shared_decision: str = Field(min_length=1)
    decision_with: str = Field("patient", pattern="^(patient|carer)$")
    follow_up_date: date | None = None
    notes: str = ""


@router.post("/patients/{nhs_number}/reviews", status_code=201, response_model=ReviewRead)
def record(
    nhs_number: str,
    body: ReviewIn,
    response: Response,
    session: DbSession,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
    principal: Principal = Depends(require(Activity.REVIEW_RECORD)),
) -> dict:
    """Record a medication review: findings addressed, interventions (proposed changes to the
    medication record), the shared decision and a follow-up date. With an ``Idempotency-Key``
    header, a resend returns the review first recorded (200, ``X-Idempotent-Replay: true``) and
    stores nothing new; the same key for another patient is refused (409)."""
    done = actions.record(
        session,
        principal,
        nhs_number,
        idempotency_key=idempotency_key,
        review_date=body.review_date,
        findings_addressed=body.findings_addressed,
        interventions=[i.model_dump() for i in body.interventions],
        shared_decision=body.shared_decision,
        decision_with=body.decision_with,
        follow_up_date=body.follow_up_date,
        notes=body.notes,
    )
    if done.replay:
        response.status_code = 200
        response.headers["X-Idempotent-Replay"] = "true"
    return actions.review_json(done.review)


@router.get("/patients/{nhs_number}/reviews", response_model=list[ReviewRead])
def list_reviews(
    nhs_number: str,
    session: DbSession,
    principal: Principal = Depends(require(Activity.REVIEW_VIEW)),
) -> list[dict]:
    return [actions.review_json(r) for r in actions.reviews(session, principal, nhs_number)]


@router.get("/rates", response_model=list[RateRow])
def rates(
    session: DbSession,
    group_by: str = Query("practice", pattern="^(practice|pcn)$"),
    principal: Principal = Depends(require(Activity.ANALYTICS_VIEW)),
) -> list[dict]:
    """Indicator rates per practice or PCN (small numbers suppressed, counts rounded)."""
    return service.rates(session, group_by)
