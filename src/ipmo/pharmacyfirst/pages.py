"""Pharmacy First pages (NHS.UK design): start a consultation (from a referral or a walk-in),
take it through the pathway's gateway, record the outcome (supply under a PGD, advice, onward
referral or no supply), see the Update Record sent to the GP practice; claim readiness."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

import ipmo.referrals as referrals
from ipmo.lookup import banner
from ipmo.organisations.models import Organisation
from ipmo.patients import InvalidNhsNumber
from ipmo.pharmacyfirst import actions
from ipmo.pharmacyfirst import service as svc
from ipmo.pharmacyfirst.claims import CHECKS
from ipmo.pharmacyfirst.pathways import URGENCIES, UnknownPathway, catalogue, cite
from ipmo.pharmacyfirst.urgent import PACK_EXCEPTIONS
from ipmo.security import Activity
from ipmo.security.errors import Forbidden, PatientAccessDenied
from ipmo.web.deps import Caller, FormFields, app_today, caller
from ipmo.web.nav import NavItem
from ipmo.web.templating import render

router = APIRouter(include_in_schema=False)
RECEIVE = caller(Activity.REFERRAL_RECEIVE)
NAV = [
    NavItem(
        "Pharmacy First consultations",
        "/pharmacy-first",
        Activity.REFERRAL_RECEIVE,
        "Take a referral or walk-in through a clinical pathway or an urgent supply",
    ),
    NavItem(
        "Pharmacy First claims",
        "/pharmacy-first/claims",
        Activity.REFERRAL_RECEIVE,
        "Completed consultations checked for what a claim needs, by month",
    ),
]
URGENCY_TEXT = {
    "emergency": "Emergency (A&E or 999)",
    "same-day": "Urgent, the same day",
    "routine": "Routine",
}
CHECK_TEXT = {
    "pathway": "Pathway",
    "gateway": "Gateway result",
    "outcome": "Outcome",
    "supply": "Supply details",
    "consent": "Consent",
    "update-record": "Update Record to the GP",
}
SUPPLY_TYPE_TEXT = {
    "pgd": "patient group direction",
    "protocol": "clinical protocol",
    "emergency-supply": "emergency supply",
}
KIND_TEXT = {"clinical-pathway": "Clinical pathway", "urgent-supply": "Urgent medicine supply"}
CHANNEL_TEXT = {
    "walk-in": "Walk-in",
    "nhs111": "NHS 111 referral",
    "gp": "GP referral",
    "urgent-care": "Urgent care referral",
}


def _field_for(message: str) -> str:
    """Which form field an error sentence is about (the error summary links to it)."""
    text = message.lower()
    for words, field in [
        (("product", "pgd treatment", "cannot be supplied under"), "dmd_code"),
        (("quantity",), "quantity"),
        (("consent",), "consent"),
        (("urgency", "where to"), "referred_to"),
        (("reason",), "reason"),
        (("nhs number", "relationship"), "nhs_number"),
        (("pathway",), "pathway"),
    ]:
        if any(w in text for w in words):
            return field
    return "outcome"


def _names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(Organisation.ods_code, Organisation.name)).all())


def _month(value: str | None, today: date) -> str:
    """``value`` (YYYY-MM) if it is a month, else ``today``'s."""
    if value:
        try:
            year, mon = (int(p) for p in value.split("-"))
            if 2000 <= year <= 2100 and 1 <= mon <= 12:
                return f"{year:04d}-{mon:02d}"
        except ValueError:
            pass
    return today.strftime("%Y-%m")


@router.get("/pharmacy-first")
def index(c: Caller = RECEIVE):
    consultations = actions.list_for_pharmacy(c.session, c.principal)
    return render(
        c.request,
        "pharmacyfirst/index.html",
        {"consultations": consultations, "KIND": KIND_TEXT, "CHANNEL": CHANNEL_TEXT},
    )


def _new_form(request: Request, values: dict, errors: list[tuple[str, str]], status: int = 200):
    today = app_today(request)
    version = catalogue().in_force(today) or catalogue().versions[-1]
    pathways = sorted((p.title, code) for code, p in version.pathways.items())
    return render(
        request,
        "pharmacyfirst/new.html",
        {"values": values, "errors": errors, "pathways": pathways, "today": today},
        status_code=status,
    )


@router.get("/pharmacy-first/new")
def new(
    referral: str | None = Query(None, max_length=20),
    nhs_number: str | None = Query(None, max_length=20),
    kind: str | None = Query(None, max_length=30),
    c: Caller = RECEIVE,
):
    values = {"referral": referral or "", "nhs_number": nhs_number or "", "kind": kind or ""}
    return _new_form(c.request, values, [])


@router.post("/pharmacy-first/new")
def create(form: FormFields, c: Caller = RECEIVE):
    errors: list[tuple[str, str]] = []
    choice = form.get("pathway", "")
    kind = "urgent-supply" if choice == "urgent-supply" else "clinical-pathway"
    try:
        day = date(
            int(form.get("day-year", "")),
            int(form.get("day-month", "")),
            int(form.get("day-day", "")),
        )
    except ValueError:
        errors.append(("day-day", "Enter a real date for the consultation, for example 18 11 2026"))
        day = app_today(c.request)
    if not form.get("nhs_number", "").strip():
        errors.append(("nhs_number", "Enter the patient's NHS number"))
    if not choice:
        errors.append(("pathway", "Select a clinical pathway or urgent medicine supply"))
    if not errors:
        referral = form.get("referral", "").strip() or None
        new = svc.NewConsultation(
            kind=kind,
            channel="walk-in",
            consulted_on=day,
            pathway=None if kind == "urgent-supply" else choice,
            referral_reference=referral,
        )
        try:
            started = actions.start(
                c.session,
                c.principal,
                form["nhs_number"],
                new,
                patient_present=form.get("patient_present") == "yes",
                idempotency_key=form.get("form_key") or None,
            )
        except (svc.ConsultationError, svc.ConsultationConflict, UnknownPathway) as exc:
            errors.append((_field_for(str(exc)), str(exc)))
        except InvalidNhsNumber as exc:
            errors.append(("nhs_number", str(exc)))
        except PatientAccessDenied as exc:
            errors.append(
                ("nhs_number", str(exc) + ". For a walk-in, confirm the patient is here.")
            )
        except (Forbidden, LookupError) as exc:
            errors.append(("referral", str(exc)))
        else:
            return RedirectResponse(
                f"/pharmacy-first/{started.reference}?done=started", status_code=303
            )
    c.session.rollback()
    return _new_form(c.request, form, errors, 422)


def _show(
    c: Caller,
    reference: str,
    errors: list[tuple[str, str]] | None = None,
    values: dict | None = None,
    done: str | None = None,
):
    consultation, patient, result, meds = actions.read_with_check(c.session, c.principal, reference)
    pathway = (
        catalogue().pathway(consultation.pathway, consultation.consulted_on)
        if consultation.pathway
        else None
    )
    names = _names(c.session)

    return render(
        c.request,
        "pharmacyfirst/show.html",
        {
            "c": consultation,
            "banner": banner(c.session, patient, app_today(c.request)),
            "pathway": pathway,
            "result": result,
            "medicines": meds,
            "errors": errors or [],
            "values": values or {},
            "done": done,
            "practice": names.get(consultation.practice_code or "", consultation.practice_code),
            "reasons": [
                (r.value, referrals.LABELS["reason"][r.value]) for r in referrals.NoSupplyReason
            ],
            "targets": [
                (e.value, referrals.LABELS["escalate"][e.value]) for e in referrals.EscalateTo
            ],
            "outcome_names": referrals.LABELS["outcome"],
            "reason_names": referrals.LABELS["reason"],
            "urgencies": [(u, URGENCY_TEXT[u]) for u in URGENCIES],
            "packs": PACK_EXCEPTIONS,
            "cite": cite,
            "SUPPLY_TYPE": SUPPLY_TYPE_TEXT,
            "KIND": KIND_TEXT,
            "CHANNEL": CHANNEL_TEXT,
        },
        status_code=422 if errors else 200,
    )


@router.get("/pharmacy-first/claims")
def claims_page(month: str | None = Query(None, max_length=7), c: Caller = caller()):
    chosen = _month(month, app_today(c.request))
    rows = actions.claim_readiness(c.session, c.principal, chosen)
    names = _names(c.session)
    by_pharmacy: dict[str, list] = {}
    for row in rows:
        by_pharmacy.setdefault(row.org_code, []).append(row)
    return render(
        c.request,
        "pharmacyfirst/claims.html",
        {
            "month": chosen,
            "month_start": date(int(chosen[:4]), int(chosen[5:]), 1),
            "by_pharmacy": by_pharmacy,
            "names": names,
            "CHECKS": CHECKS,
            "CHECK_TEXT": CHECK_TEXT,
            "KIND": KIND_TEXT,
            "outcome_names": referrals.LABELS["outcome"],
        },
    )


@router.get("/pharmacy-first/{reference}")
def show(reference: str, done: str | None = Query(None, max_length=20), c: Caller = RECEIVE):
    return _show(c, reference, done=done)


def _answers(form: dict[str, str], pathway: Any) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    answers: dict[str, Any] = {}
    errors = []
    for qid, q in [("pregnant", None), *pathway.questions.items()]:
        raw = form.get(f"q-{qid}", "").strip()
        if not raw:
            continue
        if q is not None and q.kind == "number":
            if not raw.isdigit():
                errors.append((f"q-{qid}", f"{q.text} Enter a whole number"))
                continue
            answers[qid] = int(raw)
        else:
            answers[qid] = raw == "yes"
    return answers, errors


@router.post("/pharmacy-first/{reference}/assess")
def assess(reference: str, form: FormFields, c: Caller = RECEIVE):
    consultation = actions.read(c.session, c.principal, reference)
    pathway = catalogue().pathway(consultation.pathway or "", consultation.consulted_on)
    answers, errors = _answers(form, pathway)
    flags = [f.id for f in pathway.red_flags if form.get(f"flag-{f.id}") == "yes"]
    if not errors:
        try:
            version = int(form.get("version", "")) if form.get("version", "").isdigit() else None
            actions.assess(c.session, c.principal, reference, answers, flags, version)
        except (svc.ConsultationError, svc.ConsultationConflict) as exc:
            errors.append(("outcome", str(exc)))
        else:
            return RedirectResponse(f"/pharmacy-first/{reference}?done=assessed#outcome", 303)
    c.session.rollback()
    return _show(c, reference, errors, form)


def _items(form: dict[str, str], kind: str) -> list[svc.ItemInput]:
    def num(value: str, cast=float):
        try:
            return cast(value) if value.strip() else None
        except ValueError:
            return None

    if kind == "clinical-pathway":
        code = form.get("dmd_code", "").strip()
        if not code:
            return []
        return [svc.ItemInput(dmd_code=code, quantity=num(form.get("quantity", "")))]
    items = []
    for n in range(3):
        name = form.get(f"item-{n}-name", "").strip()
        if not name:
            continue
        items.append(
            svc.ItemInput(
                dmd_code=form.get(f"item-{n}-code", "").strip() or None,
                name=name,
                quantity=num(form.get(f"item-{n}-quantity", "")),
                unit=form.get(f"item-{n}-unit", "").strip() or None,
                days=num(form.get(f"item-{n}-days", ""), int),
                outcome=form.get(f"item-{n}-outcome", "supplied"),
                reason=form.get(f"item-{n}-reason", "") or None,
                pack_exception=form.get(f"item-{n}-pack", "") or None,
                epilepsy=form.get(f"item-{n}-epilepsy") == "yes",
                immediate_need=form.get(f"item-{n}-need") == "yes",
            )
        )
    return items


@router.post("/pharmacy-first/{reference}/outcome")
def outcome(reference: str, form: FormFields, c: Caller = RECEIVE):
    kind = actions.read(c.session, c.principal, reference).kind
    chosen = form.get("outcome", "")
    errors: list[tuple[str, str]] = []
    if not chosen:
        errors.append(("outcome", "Select the outcome of the consultation"))
    else:
        o = svc.OutcomeInput(
            outcome=chosen,
            consent=form.get("consent") == "yes",
            reason=(form.get("reason") or None) if chosen == "no-supply" else None,
            referred_to=(form.get("referred_to") or None) if chosen == "referred-on" else None,
            urgency=(form.get("urgency") or None) if chosen == "referred-on" else None,
            advice=form.get("advice"),
            items=_items(form, kind) if chosen == "supplied" or kind == "urgent-supply" else [],
        )
        try:
            version = int(form.get("version", "")) if form.get("version", "").isdigit() else None
            actions.complete(c.session, c.principal, reference, o, version)
        except (svc.ConsultationError, svc.ConsultationConflict) as exc:
            errors.append((_field_for(str(exc)), str(exc)))
        else:
            return RedirectResponse(f"/pharmacy-first/{reference}?done=completed", 303)
    c.session.rollback()
    return _show(c, reference, errors, form)
