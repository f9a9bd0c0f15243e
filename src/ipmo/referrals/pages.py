"""Referral pages (NHS.UK design): the referrer's view (send, track, see the outcome) and the
pharmacy inbox (accept, record the outcome, DMS check)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from ipmo.lookup import banner, referral_banner
from ipmo.organisations.models import Organisation, OrgKind
from ipmo.patients import normalise_nhs_number
from ipmo.referrals import actions
from ipmo.referrals import lifecycle as lc
from ipmo.referrals.actions import is_overdue, page_visible
from ipmo.referrals.catalogue import RULES, ReferralService, rule_for
from ipmo.referrals.discharge_form import (
    CHANGES,
    MAX_BUNDLE_BYTES,
    MAX_ROWS,
    discharge_items_from,
)
from ipmo.referrals.discharge_form import (
    discharge_rows as _discharge_rows,
)
from ipmo.referrals.errors import NotInvolved, ReferralConflict, ReferralError
from ipmo.referrals.labels import LABELS
from ipmo.referrals.models import Referral
from ipmo.referrals.new_referrals import NewReferral
from ipmo.referrals.outcome_details import URGENCIES, OutcomeDetails, ReferralOutcome
from ipmo.security import Activity, Principal
from ipmo.security.errors import Forbidden
from ipmo.web.dates import DateInputError, date_field
from ipmo.web.deps import Caller, FormFields, app_store_now, app_today, caller
from ipmo.web.forms import FormErrors, sentence
from ipmo.web.nav import NavItem
from ipmo.web.page_state import PageState
from ipmo.web.paging import page_from, pagination
from ipmo.web.params import DB_INT_MAX
from ipmo.web.templating import render

router = APIRouter(include_in_schema=False)
NAV = [
    NavItem(
        "Send a referral",
        "/referrals/new",
        Activity.REFERRAL_SEND,
        "Refer a patient to a community pharmacy",
    ),
    NavItem(
        "Track referrals",
        "/referrals",
        Activity.REFERRAL_VIEW,
        "See where your referrals are and their outcomes",
    ),
    NavItem(
        "Referrals without a relationship",
        "/referral-oversight",
        Activity.REFERRAL_OVERSIGHT,
        "Referrals sent for patients the sender had no relationship with, and why",
    ),
    NavItem(
        "Referral inbox",
        "/referrals/inbox",
        Activity.REFERRAL_RECEIVE,
        "Accept referrals sent to you and record outcomes",
    ),
]


VIEW = caller(Activity.REFERRAL_VIEW)
SEND = caller(Activity.REFERRAL_SEND)
RECEIVE = caller(Activity.REFERRAL_RECEIVE)
#: the version of the referral the form was drawn from (optimistic locking)
VERSION = Form(..., ge=0, le=DB_INT_MAX)


def _sender_kind(session: Session, principal: Principal) -> str | None:
    return session.scalar(
        select(Organisation.kind).where(Organisation.ods_code == principal.org_code)
    )


def _services_for(session: Session, principal: Principal) -> list[tuple[str, str]]:
    kind = _sender_kind(session, principal)
    return [
        (r.service.value, r.title)
        for r in RULES.values()
        if kind in r.senders and r.pharmacy_service
    ]


def _org_names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(Organisation.ods_code, Organisation.name)).all())


def _service_title(service: str) -> str:
    try:
        return rule_for(service).title
    except ValueError:
        return service


def _pharmacies(session: Session) -> list[tuple[str, str]]:
    rows = session.execute(
        select(Organisation.ods_code, Organisation.name)
        .where(Organisation.kind == OrgKind.PHARMACY)
        .order_by(Organisation.name)
    )
    return [(c, n) for c, n in rows]


@router.get("/referrals")
def track(page: str = "1", c: Caller = VIEW):
    """Referrals the organisation sent or is involved in as GP practice (not its inbox)."""
    org = c.principal.org_code
    not_inbox = or_(
        Referral.target_org_code.is_(None),
        Referral.target_org_code != org,
        Referral.sender_org_code == org,
    )
    return _list_page(c, page, not_inbox, [Referral.created_at.desc()], False)


@router.get("/referral-oversight")
def oversight(c: Caller = caller(Activity.REFERRAL_OVERSIGHT)):
    rows = actions.stated_reason_referrals(c.session, c.principal)
    return render(c.request, "referrals/oversight.html", {"rows": rows})


@router.get("/referrals/inbox")
def inbox(page: str = "1", c: Caller = RECEIVE):
    """Referrals sent to the organisation: waiting to be accepted first, then open ones, each by
    the time they must be accepted by."""
    order = [
        case((Referral.status.in_([str(s) for s in lc.AWAITING_ACCEPT]), 0), else_=1),
        case((Referral.status.in_([str(s) for s in lc.OPEN]), 0), else_=1),
        Referral.accept_by,
        Referral.id,
    ]
    mine = Referral.target_org_code == c.principal.org_code
    return _list_page(c, page, mine, order, True)


def _list_page(c: Caller, page, where, order, is_inbox: bool):
    at = page_from(page)
    rows, total = page_visible(
        c.session, c.principal, where, order, offset=at.offset, limit=at.per_page
    )
    ctx = _list_context(c, rows, is_inbox)
    ctx["paging"] = pagination(c.request, at, total, len(rows), "referrals")
    return render(c.request, "referrals/list.html", ctx)


def _list_context(c: Caller, rows: list[Referral], is_inbox: bool) -> dict:
    session, principal = c.session, c.principal
    return {
        "title": "Referral inbox" if is_inbox else "Referrals",
        "rows": rows,
        # the name each row shows this user (a sender's own copy: what it sent)
        "patients": {r.id: actions.patient_shown(session, principal, r).name for r in rows},
        "now": app_store_now(c.request),
        "is_overdue": is_overdue,
        "inbox": is_inbox,
        "L": LABELS,
        "names": _org_names(session),
    }


@router.get("/referrals/patients/{nhs_number}")
def for_patient(nhs_number: str, c: Caller = VIEW):
    """One patient's referrals (those the user's organisation is involved in), under the banner."""
    rows = actions.for_patient(c.session, c.principal, nhs_number)
    ctx = _list_context(c, rows, is_inbox=False)
    ctx["banner"] = banner(c.session, normalise_nhs_number(nhs_number), app_today(c.request))
    return render(c.request, "referrals/list.html", ctx)


def _new_page(c: Caller, form: dict, errors: FormErrors | None = None):
    services = _services_for(c.session, c.principal)
    ctx = {
        "services": services,
        "pharmacies": _pharmacies(c.session),
        "errors": errors,
        "form": form,
        "changes": CHANGES,
        "rows": _discharge_rows(form),
        "offers_dms": any(code == ReferralService.DMS for code, _ in services),
    }
    return render(c.request, "referrals/new.html", ctx, status_code=422 if errors else 200)


@router.get("/referrals/new")
def new_form(service: str = "", c: Caller = SEND):
    return _new_page(c, {"service": service})


async def _discharge_bundle(request: Request) -> bytes:
    """The uploaded FHIR discharge bundle (empty when none), read on the event loop."""
    upload = (await request.form()).get("discharge_bundle")
    return await upload.read(MAX_BUNDLE_BYTES + 1) if isinstance(upload, UploadFile) else b""


@router.post("/referrals/new")
def send(fields: FormFields, bundle: bytes = Depends(_discharge_bundle), c: Caller = SEND):
    form = {k: v for k, v in fields.items() if k != "discharge_bundle"}
    return _send(c, form, bundle)


def _send(c: Caller, form: dict, bundle: bytes):
    errors = FormErrors()
    if not form.get("nhs_number", "").strip():
        errors.add("nhs_number", "Enter the patient's NHS number")
    if not form.get("service"):
        errors.add("service", "Select the service")
    birth_date = None
    try:
        birth_date = date_field(form, "birth_date", "Date of birth")
    except DateInputError as exc:
        errors.add(f"birth_date-{exc.field}", str(exc))
    if birth_date is not None and birth_date > app_today(c.request):
        errors.add("birth_date-day", "Date of birth must be today or in the past")
    items: list[dict] = []
    if form.get("service") == "discharge-medicines-service":
        try:
            items = discharge_items_from(form, bundle)
        except ReferralError as exc:
            errors.add_exception(exc, "item-1-name")
    if errors:
        return _new_page(c, form, errors)
    try:
        ref = actions.create(
            c.session,
            c.principal,
            NewReferral(
                service=form.get("service", ""),
                nhs_number=form.get("nhs_number") or None,
                patient_name=" ".join(form.get("patient_name", "").split())[:200],
                birth_date=birth_date,
                patient_choice=form.get("patient_choice") or None,
                summary=form.get("summary") or None,
                no_relationship_reason=form.get("no_relationship_reason") or None,
                discharge_items=items,
                from_form=True,
            ),
        ).referral
    except ReferralError as exc:
        c.session.rollback()
        return _new_page(c, form, FormErrors.from_exception(exc, "service"))
    return RedirectResponse(f"/referrals/{ref.reference}?done=sent", status_code=303)


@router.get("/referrals/{reference}")
def show(reference: str, c: Caller = VIEW, done: str | None = None):
    return _show(c, reference, PageState(done=done))


def _show(c: Caller, reference: str, shown: PageState = PageState()):
    """The referral; after a refused action, with the page-level ``error`` (a conflict: 409)
    or the outcome form's field ``errors`` and what was typed (422)."""
    session, principal = c.session, c.principal
    ref = actions.read(session, principal, reference)  # NotInvolved → 403 page
    dms = None
    if ref.service == "discharge-medicines-service":
        from ipmo.referrals.dms import reconcile_for

        dms = reconcile_for(session, ref)
    org_names = _org_names(session)
    ctx = {
        "r": ref,
        "L": LABELS,
        "done": shown.done if not (shown.error or shown.errors) else None,
        "errors": shown.errors,
        "form": shown.form or {},
        "item_rows": _item_rows(shown.form or {}),
        "urgencies": list(URGENCIES.items()),
        "urgency_names": URGENCIES,
        "details": _outcome_details(ref),
        "banner": referral_banner(
            session,
            principal,
            ref,
            actions.patient_shown(session, principal, ref),
            app_today(c.request),
        ),
        "service_title": _service_title(ref.service),
        "back": {"href": "/referrals/inbox", "text": "Referral inbox"}
        if principal.org_code == ref.target_org_code and principal.can(Activity.REFERRAL_RECEIVE)
        else {"href": "/referrals", "text": "Referrals"},
        "dms": dms,
        "names": org_names,
        "error": shown.error,
        "overdue": is_overdue(ref, app_store_now(c.request)),
        "is_receiver": principal.org_code == ref.target_org_code
        and principal.can(Activity.REFERRAL_RECEIVE),
        "is_sender": principal.org_code in (ref.sender_org_code, ref.submitted_org_code),
        "awaiting": ref.status in lc.AWAITING_ACCEPT,
        "open": ref.status in lc.OPEN,
        "outcomes": lc.CHOSEN_OUTCOMES,
        "reasons": list(lc.NoSupplyReason),
        "targets": list(lc.EscalateTo),
    }
    return render(c.request, "referrals/show.html", ctx, status_code=shown.status_code)


def _outcome_details(ref: Referral) -> dict:
    """What the outcome form recorded beyond the outcome (items, consent, advice, urgency)."""
    done = [e for e in ref.events if e.kind == "completed"]
    return dict(done[-1].detail or {}) if done else {}


def _item_rows(form: dict) -> list[dict]:
    """The rows of medicines supplied: what was typed, and empty rows up to three."""
    rows = [
        {
            "n": n,
            "medicine": form.get(f"item-{n}-medicine", ""),
            "quantity": form.get(f"item-{n}-quantity", ""),
        }
        for n in range(1, MAX_ROWS + 1)
    ]
    filled = max((r["n"] for r in rows if r["medicine"] or r["quantity"]), default=0)
    return rows[: max(3, filled)]


def _do(c: Caller, reference: str, fn, *args, done: str, form: dict | None = None):
    """Run one referral action; a conflict shows the referral again with the sentence (409),
    bad input with the error linked to its field and what was typed (422); the refusal is
    already audited by the action."""
    try:
        fn(c.session, c.principal, reference, *args)
    except ReferralError as exc:
        c.session.rollback()
        errors = FormErrors.from_exception(exc, "outcome")
        return _show(c, reference, PageState(errors=errors, form=form))
    except (ReferralConflict, NotInvolved) as exc:
        c.session.rollback()
        return _show(c, reference, PageState(error=sentence(str(exc))))
    return RedirectResponse(f"/referrals/{reference}?done={done}", status_code=303)


@router.post("/referrals/{reference}/accept")
def accept(reference: str, version: int = VERSION, c: Caller = RECEIVE):
    return _do(c, reference, actions.accept, version, done="accepted")


@router.post("/referrals/{reference}/outcome")
def outcome(reference: str, form: FormFields, c: Caller = RECEIVE):
    return _outcome(c, reference, form)


def _outcome(c: Caller, reference: str, form: dict):
    version = form.get("version", "")
    if not version.isdigit() or int(version) > DB_INT_MAX:
        raise RequestValidationError(
            [
                {
                    "type": "int_parsing",  # the documented ValidationError shape (web/openapi)
                    "loc": ("body", "version"),
                    "msg": "the version must be a whole number",
                }
            ]
        )
    details = OutcomeDetails(
        items=[
            (form.get(f"item-{n}-medicine", ""), form.get(f"item-{n}-quantity", ""))
            for n in range(1, MAX_ROWS + 1)
        ],
        consent=form.get("consent", ""),
        advice=form.get("advice", ""),
        urgency=form.get("urgency", ""),
    )
    recorded = ReferralOutcome(
        form.get("outcome", ""),
        form.get("reason") or None,
        form.get("note", ""),
        form.get("escalate_to") or None,
        details,
    )
    return _do(
        c, reference, actions.record_outcome, recorded, int(version), done="outcome", form=form
    )


@router.post("/referrals/{reference}/dms-check")
def dms_check(reference: str, version: int = VERSION, issues: str = Form(""), c: Caller = RECEIVE):
    return _do(c, reference, actions.dms_check, issues, version, done="dms-checked")


@router.post("/referrals/{reference}/cancel")
def cancel(reference: str, version: int = VERSION, reason: str = Form(""), c: Caller = SEND):
    if not reason.strip():
        ref = actions.open_referral(c.session, c.principal, reference, "referral.open")
        error = "Enter why you are cancelling this referral"
        return _cancel_page(c, ref, error, reason)
    return _do(c, reference, actions.cancel, reason.strip(), version, done="cancelled")


@router.get("/referrals/{reference}/cancel")
def confirm_cancel(reference: str, c: Caller = SEND):
    """The confirmation step: cancelling tells the pharmacy to stop, so it asks first and
    needs a reason (the pharmacy and the GP practice see it)."""
    ref = actions.open_referral(c.session, c.principal, reference, "referral.read")
    return _cancel_page(c, ref, None, "")


def _cancel_page(c: Caller, ref, error: str | None, reason: str):
    session, principal = c.session, c.principal
    if principal.org_code not in (ref.sender_org_code, ref.submitted_org_code):
        raise Forbidden("only the organisation that sent a referral can cancel it")
    ctx = {
        "r": ref,
        "L": LABELS,
        "names": _org_names(session),
        "banner": referral_banner(
            session,
            principal,
            ref,
            actions.patient_shown(session, principal, ref),
            app_today(c.request),
        ),
        "back": {"href": f"/referrals/{ref.reference}", "text": "Back to the referral"},
        "error": error,
        "reason": reason,
        "open": ref.status in lc.OPEN,
    }
    return render(c.request, "referrals/cancel.html", ctx, status_code=422 if error else 200)
