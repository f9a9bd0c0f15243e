"""Review use cases: the ONE place in the review domain that checks access and writes audit.

Each use case is a function ``(session, principal, …)`` run in the caller's unit of work (the web
layer commits before it answers); ``api.py`` and ``pages.py`` are thin adapters over these and
never import each other. Patients are reached through the access policy
(:func:`~ipmo.security.access.check_patient_access`, lists through
:func:`~ipmo.security.policy.visible_patients_filter`). Errors are this module's exceptions; their
HTTP statuses are in the web app's one table, ``ipmo.web.errors``.

Recording a review is idempotent with a key (the API's ``Idempotency-Key`` header, the page's
hidden form key): a resend — after a timeout, a restart, a double click — returns the review first
recorded and stores nothing new (issue 12: a resend loop once stored 1,466 duplicates). Keys are
the recording organisation's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import null, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ipmo.patients.models import Patient
from ipmo.review import service
from ipmo.review.check import check
from ipmo.review.fhir_output import TASK_PREFIX, finding_issue, intervention_task
from ipmo.review.models import Intervention, MedicationReview, WorklistEntry
from ipmo.security import Activity
from ipmo.security.access import audit_event, check_patient_access
from ipmo.security.policy import visible_patients_filter
from ipmo.security.principal import Principal

MAX_IDEMPOTENCY_KEY = 100


class ReviewInputError(ValueError):
    """The review as given cannot be recorded (HTTP 422); nothing is written."""


class IdempotencyKeyReused(Exception):
    """The key was already used for another patient's review (HTTP 409); nothing is written."""


@dataclass(frozen=True)
class WorklistFilter:
    """Which worklist rows to show: one practice's, PCN's or care home's, with one finding, from
    a lowest score (unset: all that the user may see)."""

    practice: str | None = None
    pcn: str | None = None
    care_home: str | None = None
    rule: str | None = None
    min_score: int = 0


def worklist_page(
    session: Session,
    principal: Principal,
    filters: WorklistFilter,
    *,
    offset: int = 0,
    limit: int = 200,
) -> tuple[list[dict], int]:
    """One page of the worklist (highest score first) and how many rows match in all, so a page
    can say "50 of 1,234" instead of silently stopping."""
    rule = filters.rule
    ids = (
        select(WorklistEntry.id, WorklistEntry.rule_ids if rule is not None else null())
        .join(Patient, Patient.id == WorklistEntry.patient_id)
        .where(
            visible_patients_filter(principal, session), WorklistEntry.score >= filters.min_score
        )
    )
    for col, value in (
        (WorklistEntry.practice_code, filters.practice),
        (WorklistEntry.pcn_code, filters.pcn),
        (WorklistEntry.care_home_code, filters.care_home),
    ):
        if value:
            ids = ids.where(col == value)
    ordered = ids.order_by(WorklistEntry.score.desc(), WorklistEntry.id)
    # one pass over the visible entries (ids and rule ids only) gives both the count and the
    # window: the access policy's filter is evaluated once per entry, not once for a COUNT and
    # again for the page (issue 20's load profile: the worklist took a quarter of the workers)
    total, window = 0, []
    for entry_id, rule_ids in session.execute(ordered):
        if rule is not None and rule not in (rule_ids or []):  # rule ids are a JSON list
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
    latest = _latest_reviews(session, [p.id for _, p in found.values()])
    rows = []
    for entry_id in window:
        e, p = found[entry_id]
        last = latest.get(p.id)
        rows.append(
            {
                "last_review": last.review_date if last else None,
                "next_due": next_due(last) if last else None,
                # reviewed after the worklist was built: its "no SMR" reason no longer holds
                "reviewed_since": bool(last and last.review_date >= e.as_of),
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


# A structured medication review is repeated at least once a year for the DES cohorts (NHS
# England, "Network Contract DES: Structured medication reviews and medicines optimisation",
# guidance 2020/21 onwards, section 4: "offer ... at least annually"); the reviewer's own
# follow-up date, when set, comes first.
REVIEW_INTERVAL = timedelta(days=365)


def next_due(review: MedicationReview) -> date:
    """When the patient's next review is due: the follow-up date set at the review, else a year
    after it."""
    return review.follow_up_date or (review.review_date + REVIEW_INTERVAL)


def _latest_reviews(session: Session, patient_ids: list[int]) -> dict[int, MedicationReview]:
    """Each patient's most recent review (one query for the page's patients)."""
    if not patient_ids:
        return {}
    latest: dict[int, MedicationReview] = {}
    query = (
        select(MedicationReview)
        .where(MedicationReview.patient_id.in_(patient_ids))
        .order_by(MedicationReview.review_date, MedicationReview.id)
    )
    for review in session.scalars(query):
        latest[review.patient_id] = review
    return latest


def findings(
    session: Session, principal: Principal, nhs_number: str, as_of: date
) -> tuple[Patient, Any]:
    """The patient and every rule for them on ``as_of`` (the check result)."""
    patient = check_patient_access(session, principal, nhs_number, action="review.read")
    return patient, check(service.facts_for(session, patient), as_of)


def other_findings(session: Session, patient: Patient, as_of: date) -> list[tuple[str, str]]:
    """Other domains' findings for a patient whose access :func:`findings` has just checked
    and audited (e.g. a care home's eMAR findings): (rule id, reason)."""
    return service.other_findings(session, as_of, [patient.id]).get(patient.id, [])


def reviews(session: Session, principal: Principal, nhs_number: str) -> list[MedicationReview]:
    patient = check_patient_access(session, principal, nhs_number, action="review.read")
    return list(
        session.scalars(
            select(MedicationReview)
            .where(MedicationReview.patient_id == patient.id)
            .order_by(MedicationReview.review_date.desc())
        )
    )


@dataclass
class Recorded:
    review: MedicationReview
    replay: bool  # the same key again: the first review, nothing new stored


def _already(session: Session, principal: Principal, key: str) -> MedicationReview | None:
    return session.scalar(
        select(MedicationReview).where(
            MedicationReview.idempotency_org == principal.org_code,
            MedicationReview.idempotency_key == key,
        )
    )


def _replay(
    session: Session, principal: Principal, patient: Patient, first: MedicationReview, key: str
) -> Recorded:
    if first.patient_id != patient.id:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used for another patient's review; use a new key "
            "for each review"
        )
    audit_event(
        session, principal, "review.record.replay", patient, {"review": first.id, "key": key}
    )
    return Recorded(first, replay=True)


def record(
    session: Session,
    principal: Principal,
    nhs_number: str,
    *,
    idempotency_key: str | None = None,
    **fields: Any,
) -> Recorded:
    """Record a review (``fields``: see :func:`ipmo.review.service.record_review`)."""
    patient = check_patient_access(session, principal, nhs_number, action="review.record")
    key = None
    if idempotency_key is not None:
        key = idempotency_key.strip()
        if not key or len(key) > MAX_IDEMPOTENCY_KEY:
            raise ReviewInputError(f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters")
        if (first := _already(session, principal, key)) is not None:
            return _replay(session, principal, patient, first, key)
    try:
        review = service.record_review(session, principal, patient, **fields)
    except ValueError as exc:
        raise ReviewInputError(str(exc)) from None
    if key is not None:
        review.idempotency_org, review.idempotency_key = principal.org_code, key
        try:
            session.flush()
        except IntegrityError:
            # the same key raced in on another connection and won: that review is the answer
            session.rollback()
            patient = check_patient_access(session, principal, nhs_number, "review.record")
            first = _already(session, principal, key)
            if first is None:
                raise
            return _replay(session, principal, patient, first, key)
    return Recorded(review, replay=False)


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


# ---- FHIR (offered to the records and referrals FHIR routes through hooks.py) ---------------
# Only for a principal whose role may see reviews; each one reaches the patient through the
# access policy and is audited like the review API's reads.


def fhir_findings(
    session: Session, principal: Principal, nhs_number: str, as_of: date
) -> list[dict[str, Any]]:
    """The patient's findings on ``as_of`` as DetectedIssues (none for a role without
    ``review.view``)."""
    if not principal.can(Activity.REVIEW_VIEW):
        return []
    patient, result = findings(session, principal, nhs_number, as_of)
    return [finding_issue(f, patient.nhs_number, as_of) for f in result.findings]


def fhir_intervention_tasks(
    session: Session, principal: Principal, nhs_number: str
) -> list[dict[str, Any]]:
    """The interventions of the patient's reviews as Tasks, newest review first."""
    if not principal.can(Activity.REVIEW_VIEW):
        return []
    return [
        intervention_task(item, r, nhs_number)
        for r in reviews(session, principal, nhs_number)
        for item in r.interventions
    ]


def fhir_intervention_task(
    session: Session, principal: Principal, task_id: str
) -> dict[str, Any] | None:
    """One intervention as a Task by its id (``None``: no such intervention, or a role without
    ``review.view``); the patient is reached through the access policy (refusal raised)."""
    number = task_id.removeprefix(TASK_PREFIX)
    if not principal.can(Activity.REVIEW_VIEW) or not number.isdigit():
        return None
    item = session.get(Intervention, int(number))
    if item is None:
        return None
    patient = session.get(Patient, item.review.patient_id)
    assert patient is not None  # a review's patient (foreign key)
    check_patient_access(session, principal, patient, action="review.read")
    return intervention_task(item, item.review, patient.nhs_number)
