"""Review API: the SMR worklist, one patient's findings, recording a review, population rates.

Patient-level reads and writes go through ``check_patient_access`` (relationship + audit); the
worklist shows only the patients the access policy lets the user see (``security/policy.py``) and
its viewing is audited; rates are aggregates after disclosure control.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ipmo.patients.models import Patient
from ipmo.review import service
from ipmo.review.check import check
from ipmo.review.models import MedicationReview, WorklistEntry
from ipmo.review.schemas import CheckRead, RateRow, ReviewRead, WorklistRow
from ipmo.security import Activity, Principal
from ipmo.security.access import audit_event, check_patient_access
from ipmo.security.policy import visible_patients_filter
from ipmo.web.deps import db_session, require
from ipmo.web.params import DB_INT_MAX, EARLIEST_DATE, LATEST_DATE, in_date_range

router = APIRouter(prefix="/api/review", tags=["review"])


def worklist_rows(
    session: Session,
    principal: Principal,
    *,
    practice: str | None = None,
    pcn: str | None = None,
    care_home: str | None = None,
    rule: str | None = None,
    min_score: int = 0,
    limit: int = 200,
) -> list[dict]:
    return worklist_page(
        session,
        principal,
        practice=practice,
        pcn=pcn,
        care_home=care_home,
        rule=rule,
        min_score=min_score,
        limit=limit,
    )[0]


def worklist_page(
    session: Session,
    principal: Principal,
    *,
    practice: str | None = None,
    pcn: str | None = None,
    care_home: str | None = None,
    rule: str | None = None,
    min_score: int = 0,
    offset: int = 0,
    limit: int = 200,
) -> tuple[list[dict], int]:
    """One page of the worklist (highest score first) and how many rows match in all, so a page
    can say "50 of 1,234" instead of silently stopping."""
    ids = (
        select(WorklistEntry.id, WorklistEntry.rule_ids)
        .join(Patient, Patient.id == WorklistEntry.patient_id)
        .where(visible_patients_filter(principal), WorklistEntry.score >= min_score)
    )
    for col, value in (
        (WorklistEntry.practice_code, practice),
        (WorklistEntry.pcn_code, pcn),
        (WorklistEntry.care_home_code, care_home),
    ):
        if value:
            ids = ids.where(col == value)
    ordered = ids.order_by(WorklistEntry.score.desc(), WorklistEntry.id)
    if rule is None:
        total = session.scalar(select(func.count()).select_from(ids.subquery())) or 0
        window = [i for i, _ in session.execute(ordered.offset(offset).limit(limit))]
    else:  # rule ids are a JSON list: filtered here, reading only ids and rule ids
        total, window = 0, []
        for entry_id, rule_ids in session.execute(ordered):
            if rule not in (rule_ids or []):
                continue
            if offset <= total < offset + limit:
                window.append(entry_id)
            total += 1
    found = {
        e.id: (e, p)
        for e, p in session.execute(
            select(WorklistEntry, Patient)
            .join(Patient, Patient.id == WorklistEntry.patient_id)
            .where(WorklistEntry.id.in_(window))
        )
    }
    rows = []
    for entry_id in window:
        e, p = found[entry_id]
        rows.append(
            {
                "nhs_number": p.nhs_number,
                "name": f"{p.given_name} {p.family_name}",
                "practice_code": e.practice_code,
                "pcn_code": e.pcn_code,
                "care_home_code": e.care_home_code,
                "score": e.score,
                "reasons": e.reasons,
                "rule_ids": e.rule_ids,
                "as_of": e.as_of.isoformat(),
            }
        )
    audit_event(
        session, principal, "review.worklist.view", detail={"rows": len(rows), "total": total}
    )
    return rows, total


@router.get("/worklist", response_model=list[WorklistRow])
def worklist(
    practice: str | None = None,
    pcn: str | None = None,
    care_home: str | None = None,
    rule: str | None = None,
    min_score: int = Query(0, ge=0, le=DB_INT_MAX),
    limit: int = Query(200, ge=1, le=1000),
    principal: Principal = Depends(require(Activity.REVIEW_VIEW)),
    session: Session = Depends(db_session, scope="function"),
) -> list[dict]:
    """The prioritised SMR worklist for the user's organisation, highest score first."""
    return worklist_rows(
        session,
        principal,
        practice=practice,
        pcn=pcn,
        care_home=care_home,
        rule=rule,
        min_score=min_score,
        limit=limit,
    )


@router.get("/patients/{nhs_number}", response_model=CheckRead)
def patient_findings(
    nhs_number: str,
    as_of: date | None = None,
    principal: Principal = Depends(require(Activity.REVIEW_VIEW)),
    session: Session = Depends(db_session, scope="function"),
) -> dict:
    """Every rule for one patient now: findings with evidence and source, prompts, ACB total,
    medicine count and SMR priority with its reasons."""
    if as_of is not None and not in_date_range(as_of):  # date arithmetic overflows near 1 / 9999
        raise HTTPException(422, f"as_of must be between {EARLIEST_DATE} and {LATEST_DATE}")
    patient = check_patient_access(session, principal, nhs_number, action="review.read")
    return check(service.facts_for(session, patient), as_of or date.today()).to_json()


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
    principal: Principal = Depends(require(Activity.REVIEW_RECORD)),
    session: Session = Depends(db_session, scope="function"),
) -> dict:
    """Record a medication review: findings addressed, interventions (proposed changes to the
    medication record), the shared decision and a follow-up date."""
    patient = check_patient_access(session, principal, nhs_number, action="review.record")
    try:
        review = service.record_review(
            session,
            principal,
            patient,
            review_date=body.review_date,
            findings_addressed=body.findings_addressed,
            interventions=[i.model_dump() for i in body.interventions],
            shared_decision=body.shared_decision,
            decision_with=body.decision_with,
            follow_up_date=body.follow_up_date,
            notes=body.notes,
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return review_json(review)


@router.get("/patients/{nhs_number}/reviews", response_model=list[ReviewRead])
def list_reviews(
    nhs_number: str,
    principal: Principal = Depends(require(Activity.REVIEW_VIEW)),
    session: Session = Depends(db_session, scope="function"),
) -> list[dict]:
    patient = check_patient_access(session, principal, nhs_number, action="review.read")
    reviews = session.scalars(
        select(MedicationReview)
        .where(MedicationReview.patient_id == patient.id)
        .order_by(MedicationReview.review_date.desc())
    )
    return [review_json(r) for r in reviews]


def review_json(r: MedicationReview) -> dict:
    return {
        "id": r.id,
        "review_date": r.review_date.isoformat(),
        "reviewer": r.reviewer,
        "findings_addressed": r.findings_addressed,
        "shared_decision": r.shared_decision,
        "decision_with": r.decision_with,
        "follow_up_date": r.follow_up_date.isoformat() if r.follow_up_date else None,
        "interventions": [
            {
                "id": i.id,
                "kind": i.kind,
                "medicine": i.medicine,
                "rule_id": i.rule_id,
                "detail": i.detail,
                "status": i.status,
                "outcome": {
                    "reason": i.outcome_reason,
                    "by": i.outcome_by,
                    "at": i.outcome_at.isoformat() if i.outcome_at else None,
                }
                if i.outcome_at
                else None,
            }
            for i in r.interventions
        ],
    }


@router.get("/rates", response_model=list[RateRow])
def rates(
    group_by: str = Query("practice", pattern="^(practice|pcn)$"),
    principal: Principal = Depends(require(Activity.ANALYTICS_VIEW)),
    session: Session = Depends(db_session, scope="function"),
) -> list[dict]:
    """Indicator rates per practice or PCN (small numbers suppressed, counts rounded)."""
    return service.rates(session, group_by)
