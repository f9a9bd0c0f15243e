"""Review pages (NHS.UK design): the SMR worklist with reasons and filters, one patient's review
(findings with evidence, prompts, record a review) and the population rates."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.lookup import banner
from ipmo.organisations.models import Organisation
from ipmo.patients import Patient, normalise_nhs_number
from ipmo.review import actions, service
from ipmo.review.actions import review_json
from ipmo.review.actions import worklist_page as worklist_page_rows
from ipmo.review.models import InterventionKind, WorklistEntry
from ipmo.review.rules import all_rules
from ipmo.security import Activity, Principal
from ipmo.security.policy import visible_patients_filter
from ipmo.web.dates import parse_date_input
from ipmo.web.deps import db_session, require
from ipmo.web.nav import NavItem
from ipmo.web.paging import page_from, pagination
from ipmo.web.params import DB_INT_MAX
from ipmo.web.templating import render

router = APIRouter(include_in_schema=False)
NAV = [
    NavItem(
        "SMR worklist",
        "/review/worklist",
        Activity.REVIEW_VIEW,
        "Patients to prioritise for a structured medication review, with the reasons",
    ),
    NavItem(
        "Prescribing safety rates",
        "/review/rates",
        Activity.ANALYTICS_VIEW,
        "PINCER, STOPP/START and monitoring rates per practice and PCN",
    ),
]


@router.get("/review/worklist")
def worklist_page(
    request: Request,
    practice: str = "",
    care_home: str = "",
    rule: str = "",
    min_score: int = Query(0, ge=0, le=DB_INT_MAX),
    page: str = "1",
    principal: Principal = Depends(require(Activity.REVIEW_VIEW)),
    session: Session = Depends(db_session, scope="function"),
):
    at = page_from(page)
    rows, total = worklist_page_rows(
        session,
        principal,
        practice=practice or None,
        care_home=care_home or None,
        rule=rule or None,
        min_score=max(min_score, 0),
        offset=at.offset,
        limit=at.per_page,
    )
    return render(
        request,
        "review/worklist.html",
        {
            "rows": rows,
            "paging": pagination(request, at, total, len(rows), "patients"),
            "choices": _worklist_choices(session, principal),
            "names": dict(session.execute(select(Organisation.ods_code, Organisation.name)).all()),
            "filters": {
                "practice": practice,
                "care_home": care_home,
                "rule": rule,
                "min_score": min_score,
            },
        },
    )


@router.get("/review/patients/{nhs_number}")
def patient_page(
    request: Request,
    nhs_number: str,
    saved: int | None = Query(None, ge=1, le=DB_INT_MAX),
    principal: Principal = Depends(require(Activity.REVIEW_VIEW)),
    session: Session = Depends(db_session, scope="function"),
):
    patient, result = actions.findings(session, principal, nhs_number, date.today())
    other = actions.other_findings(session, patient, date.today())
    reviews = [review_json(r) for r in actions.reviews(session, principal, nhs_number)]
    return render(
        request,
        "review/patient.html",
        {
            "patient": patient,
            "banner": banner(session, patient),
            "back": {"href": "/review/worklist", "text": "SMR worklist"},
            # a fresh key per form shown: a double click or a resend records the review once
            "idempotency_key": uuid.uuid4().hex,
            "result": result,
            "other_findings": other,
            "reviews": reviews,
            "saved": saved,
            "kinds": [k.value for k in InterventionKind],
            "today": date.today().isoformat(),
            "can_record": principal.can(Activity.REVIEW_RECORD),
            "error": None,
        },
    )


@router.post("/review/patients/{nhs_number}")
def record_page(
    request: Request,
    nhs_number: str,
    findings_addressed: list[str] = Form([]),
    kind: str = Form(""),
    medicine: str = Form(""),
    detail: str = Form(""),
    shared_decision: str = Form(""),
    decision_with: str = Form("patient"),
    follow_day: str = Form("", alias="follow_up_date[day]"),
    follow_month: str = Form("", alias="follow_up_date[month]"),
    follow_year: str = Form("", alias="follow_up_date[year]"),
    idempotency_key: str = Form(""),
    principal: Principal = Depends(require(Activity.REVIEW_RECORD)),
    session: Session = Depends(db_session, scope="function"),
):
    error = None
    interventions = [{"kind": kind, "medicine": medicine or None, "detail": detail}] if kind else []
    try:
        if not shared_decision.strip():
            raise ValueError("Describe the decision shared with the patient or carer")
        follow = parse_date_input(follow_day, follow_month, follow_year, "Follow-up date")
        review = actions.record(
            session,
            principal,
            nhs_number,
            idempotency_key=idempotency_key or None,
            review_date=date.today(),
            findings_addressed=findings_addressed,
            interventions=interventions,
            shared_decision=shared_decision.strip(),
            decision_with=decision_with,
            follow_up_date=follow,
        ).review
    except ValueError as exc:  # includes actions.ReviewInputError
        error = str(exc) if "isoformat" not in str(exc) else "Enter a real follow-up date"
    if error:
        patient, result = actions.findings(session, principal, nhs_number, date.today())
        return render(
            request,
            "review/patient.html",
            {
                "patient": patient,
                "banner": banner(session, patient),
                "idempotency_key": idempotency_key or uuid.uuid4().hex,
                "result": result,
                "other_findings": actions.other_findings(session, patient, date.today()),
                "reviews": [],
                "saved": None,
                "kinds": [k.value for k in InterventionKind],
                "today": date.today().isoformat(),
                "can_record": True,
                "error": error,
            },
            422,
        )
    return RedirectResponse(
        f"/review/patients/{normalise_nhs_number(nhs_number)}?saved={review.id}", status_code=303
    )


@router.get("/review/rates")
def rates_page(
    request: Request,
    group_by: str = "pcn",
    principal: Principal = Depends(require(Activity.ANALYTICS_VIEW)),
    session: Session = Depends(db_session, scope="function"),
):
    group_by = group_by if group_by in ("practice", "pcn") else "pcn"
    return render(
        request,
        "review/rates.html",
        {"rows": service.rates(session, group_by), "group_by": group_by},
    )


def _worklist_choices(session: Session, principal: Principal) -> dict[str, list[tuple[str, str]]]:
    """The worklist filters offer names, not codes: the practices and care homes on this user's
    worklist, and the findings by title (rule id on hover and in the value)."""
    names = dict(session.execute(select(Organisation.ods_code, Organisation.name)).all())
    seen = (
        select(WorklistEntry.practice_code, WorklistEntry.care_home_code)
        .join(Patient, Patient.id == WorklistEntry.patient_id)
        .where(visible_patients_filter(principal))
        .distinct()
    )
    practices, homes = set(), set()
    for practice, home in session.execute(seen):
        practices.add(practice)
        homes.add(home)

    def named(codes: set) -> list[tuple[str, str]]:
        return sorted(((c, names.get(c, c)) for c in codes if c), key=lambda x: x[1])

    findings = sorted(
        ((r.id, r.title) for r in all_rules() if r.kind == "flag"), key=lambda x: x[1].lower()
    )
    return {"practices": named(practices), "care_homes": named(homes), "findings": findings}
