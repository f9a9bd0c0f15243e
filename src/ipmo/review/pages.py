"""Review pages (NHS.UK design): the SMR worklist with reasons and filters, one patient's review
(findings with evidence, prompts, record a review) and the population rates."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.lookup import banner
from ipmo.organisations.models import Organisation
from ipmo.patients import Patient, normalise_nhs_number
from ipmo.review import actions, service
from ipmo.review.actions import WorklistFilter, review_json
from ipmo.review.actions import worklist_page as worklist_page_rows
from ipmo.review.models import InterventionKind, WorklistEntry
from ipmo.review.rules import all_rules
from ipmo.security import Activity, Principal
from ipmo.security.policy import visible_patients_filter
from ipmo.web.dates import DateInputError, parse_date_input
from ipmo.web.deps import Caller, app_today, caller
from ipmo.web.forms import FormErrors
from ipmo.web.nav import NavItem
from ipmo.web.page_state import PageState
from ipmo.web.paging import RatesFilter, page_from, pagination, rates_view
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
    practice: str = "",
    care_home: str = "",
    rule: str = "",
    min_score: int = Query(0, ge=0, le=DB_INT_MAX),
    page: str = "1",
    c: Caller = caller(Activity.REVIEW_VIEW),
):
    at = page_from(page)
    filters = WorklistFilter(
        practice=practice or None,
        care_home=care_home or None,
        rule=rule or None,
        min_score=max(min_score, 0),
    )
    rows, total = worklist_page_rows(
        c.session, c.principal, filters, offset=at.offset, limit=at.per_page
    )
    names = dict(c.session.execute(select(Organisation.ods_code, Organisation.name)).all())
    return render(
        c.request,
        "review/worklist.html",
        {
            "rows": rows,
            "paging": pagination(c.request, at, total, len(rows), "patients"),
            "choices": _worklist_choices(c.session, c.principal),
            "today": app_today(c.request),
            "names": names,
            "filters": {
                "practice": practice,
                "care_home": care_home,
                "rule": rule,
                "min_score": min_score,
            },
        },
    )


KIND_NAMES = {
    InterventionKind.STOP: "Stop a medicine",
    InterventionKind.START: "Start a medicine",
    InterventionKind.SWITCH: "Switch a medicine",
    InterventionKind.DOSE_CHANGE: "Change a dose",
    InterventionKind.MONITORING: "Arrange monitoring",
    InterventionKind.REFERRAL: "Refer",
}
NEEDS_MEDICINE = (
    InterventionKind.STOP,
    InterventionKind.START,
    InterventionKind.SWITCH,
    InterventionKind.DOSE_CHANGE,
)


def _patient_page(c: Caller, nhs_number: str, shown: PageState = PageState()):
    """The patient's findings and reviews, with the form to record one: ``done="saved"`` after
    a review was recorded; a refused form again with its errors, what was typed and its key."""
    form = shown.form or {"decision_with": "patient", "findings_addressed": []}
    today = app_today(c.request)
    patient, result = actions.findings(c.session, c.principal, nhs_number, today)
    other = actions.other_findings(c.session, patient, today)
    reviews = [review_json(r) for r in actions.reviews(c.session, c.principal, nhs_number)]
    return render(
        c.request,
        "review/patient.html",
        {
            "patient": patient,
            "banner": banner(c.session, patient, today),
            "back": {"href": "/review/worklist", "text": "SMR worklist"},
            # a fresh key per form shown: a double click or a resend records the review once
            "idempotency_key": form.get("idempotency_key") or uuid.uuid4().hex,
            "result": result,
            "other_findings": other,
            "reviews": reviews,
            "saved": shown.done == "saved",
            "kinds": [(k.value, KIND_NAMES[k]) for k in InterventionKind],
            "kind_names": {k.value: v for k, v in KIND_NAMES.items()},
            "can_record": c.principal.can(Activity.REVIEW_RECORD),
            "errors": shown.errors,
            "form": form,
        },
        shown.status_code,
    )


@router.get("/review/patients/{nhs_number}")
def patient_page(
    nhs_number: str,
    saved: int | None = Query(None, ge=1, le=DB_INT_MAX),
    c: Caller = caller(Activity.REVIEW_VIEW),
):
    return _patient_page(c, nhs_number, PageState(done="saved" if saved else None))


@router.post("/review/patients/{nhs_number}")
def record_page(
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
    c: Caller = caller(Activity.REVIEW_RECORD),
):
    form = {
        "findings_addressed": findings_addressed,
        "kind": kind,
        "medicine": medicine,
        "detail": detail,
        "shared_decision": shared_decision,
        "decision_with": decision_with,
        "follow_day": follow_day,
        "follow_month": follow_month,
        "follow_year": follow_year,
        "idempotency_key": idempotency_key,  # the same key again: a resend records it once
    }
    errors = FormErrors()
    today = app_today(c.request)
    if kind and kind not in {k.value for k in InterventionKind}:
        errors.add("kind", "Select an intervention from the list")
    if kind in NEEDS_MEDICINE and not medicine.strip():
        errors.add(
            "medicine",
            f"Enter the medicine to {KIND_NAMES[InterventionKind(kind)].split()[0].lower()}",
        )
    if not shared_decision.strip():
        errors.add("shared_decision", "Describe the decision shared with the patient or carer")
    if decision_with not in ("patient", "carer"):
        errors.add(
            "decision_with", "Select whether the decision was made with the patient or a carer"
        )
    follow = None
    try:
        follow = parse_date_input(follow_day, follow_month, follow_year, "Follow-up date")
    except DateInputError as exc:
        errors.add(f"follow_up_date-{exc.field}", str(exc))
    if follow is not None and follow < today:
        errors.add("follow_up_date-day", "Follow-up date must be today or in the future")
    review = None
    if not errors:
        interventions = (
            [{"kind": kind, "medicine": medicine.strip() or None, "detail": detail}] if kind else []
        )
        try:
            review = actions.record(
                c.session,
                c.principal,
                nhs_number,
                idempotency_key=idempotency_key or None,
                review_date=today,
                findings_addressed=findings_addressed,
                interventions=interventions,
                shared_decision=shared_decision.strip(),
                decision_with=decision_with,
                follow_up_date=follow,
            ).review
        except ValueError as exc:  # includes actions.ReviewInputError
            c.session.rollback()
            errors.add_exception(exc, "shared_decision")
    if review is None:
        return _patient_page(c, nhs_number, PageState(errors=errors, form=form))
    return RedirectResponse(
        f"/review/patients/{normalise_nhs_number(nhs_number)}?saved={review.id}", status_code=303
    )


@router.get("/review/rates")
def rates_page(
    group_by: str = "pcn",
    asked: RatesFilter = Depends(),
    c: Caller = caller(Activity.ANALYTICS_VIEW),
):
    """The rates by PCN or practice, 50 to a page, filtered by indicator and name, with the
    organisations' and indicators' names (a 37,000 px table of codes before)."""
    group_by = group_by if group_by in ("practice", "pcn") else "pcn"
    rows = service.rates(c.session, group_by)
    names = dict(c.session.execute(select(Organisation.ods_code, Organisation.name)).all())
    titles = {r.id: r.title for r in all_rules()}
    view = rates_view(
        c.request,
        [
            r | {"org_name": names.get(r["org"] or "", r["org"] or "no PCN"),
                 "rule_title": titles.get(r["rule_id"], r["rule_id"]), "rate": r["rate_percent"]}
            for r in rows
        ],
        asked,
    )  # fmt: skip
    return render(
        c.request,
        "review/rates.html",
        {"view": view, "any": bool(rows), "group_by": group_by},
    )


def _worklist_choices(session: Session, principal: Principal) -> dict[str, list[tuple[str, str]]]:
    """The worklist filters offer names, not codes: the practices and care homes on this user's
    worklist, and the findings by title (with the rule id, which is the value)."""
    names = dict(session.execute(select(Organisation.ods_code, Organisation.name)).all())
    seen = (
        select(WorklistEntry.practice_code, WorklistEntry.care_home_code)
        .join(Patient, Patient.id == WorklistEntry.patient_id)
        .where(visible_patients_filter(principal, session))
        .distinct()
    )
    practices, homes = set(), set()
    for practice, home in session.execute(seen):
        practices.add(practice)
        homes.add(home)

    def named(codes: set) -> list[tuple[str, str]]:
        return sorted(((c, names.get(c, c)) for c in codes if c), key=lambda x: x[1])

    findings = [
        (r.id, f"{r.title} ({r.id})")
        for r in sorted(all_rules(), key=lambda r: r.title.lower())
        if r.kind == "flag"
    ]
    return {"practices": named(practices), "care_homes": named(homes), "findings": findings}
