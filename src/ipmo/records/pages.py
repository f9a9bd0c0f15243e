"""The patient medication record page: one list, a column per source, discrepancies highlighted
with the decisions a pharmacist can record on them, and proposed changes from medication reviews
to accept or reject (NHS.UK design system)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.fhir.versions import FhirInputError
from ipmo.lookup import banner
from ipmo.organisations.models import Organisation
from ipmo.patients.identity import InvalidNhsNumber, normalise_nhs_number
from ipmo.records import actions
from ipmo.records.models import DecisionAction
from ipmo.records.service import (
    Acceptance,
    ProposalNotFound,
    ProposalResolved,
    RecordError,
    RecordView,
    VersionConflict,
)
from ipmo.security import Activity, Principal
from ipmo.web.dates import DateInputError, date_field
from ipmo.web.deps import Caller, app_today, caller, require
from ipmo.web.forms import FormErrors, sentence
from ipmo.web.nav import NavItem
from ipmo.web.page_state import PageState
from ipmo.web.params import RowId, in_date_range
from ipmo.web.templating import render

router = APIRouter(include_in_schema=False)
VIEW = caller(Activity.RECORD_VIEW)
RECONCILE = caller(Activity.RECORD_RECONCILE)
NAV = [
    NavItem(
        "Medication records",
        "/records",
        Activity.RECORD_VIEW,
        "One reconciled medication list from every source, with discrepancies to resolve",
    )
]
ACTIONS = [
    (DecisionAction.CONFIRM_INTENDED, "Confirm intended", "The difference is intended"),
    (
        DecisionAction.CORRECT_SOURCE,
        "Correct a source",
        "One source is wrong and will be corrected",
    ),
    (DecisionAction.STOP, "Stop", "Stop this medicine"),
    (DecisionAction.NEEDS_GP, "Needs GP", "Refer the question to the patient's GP (stays open)"),
]


def _as_of(value: str | None, today: date) -> date:
    """``value`` as a date; missing or bad: ``today`` (the app's)."""
    try:
        day = date.fromisoformat(value) if value else today
    except ValueError:
        return today
    return day if in_date_range(day) else today


def _form_as_of(request: Request, as_of: str = Form("")) -> date:
    """The date the record was shown at, sent back by its form (missing or bad: today)."""
    return _as_of(as_of, app_today(request))


SHOWN_AS_OF = Depends(_form_as_of)  # every write goes back to the record as it was shown


NOTICES = {
    "decided": "Decision recorded.",
    "accepted": "Proposed change accepted: the medication list now shows it.",
    "rejected": "Proposed change rejected. The reviewer can see your reason.",
    "ingested": "Source added to the record.",
    "unchanged": "That source was already on the record; nothing changed.",
}


def _page(
    c: Caller,
    nhs_number: str,
    as_of: date,
    shown: PageState,
    status: int,
    view: RecordView | None = None,
    posted: str | None = None,
):
    """The record page with the notice of ``shown.done`` or why a change was refused; ``view``
    is the record read by this request's use case, else (beside a refused write) the record is
    shown again without a second audit entry. ``posted``: the discrepancy or proposal whose
    form ``shown.errors`` are about."""
    nhs_number = normalise_nhs_number(nhs_number)  # the use case accepted it: a valid number
    if view is None:
        view = actions.record_shown_again(c.session, nhs_number, as_of)
    rec = view.reconciliation
    names = source_names(c.session, rec.sources)
    open_ids = view.open_ids
    flagged: dict[str, list] = {}
    for d in rec.discrepancies:
        if d.id in open_ids:
            flagged.setdefault(d.key, []).append(d)
    return render(
        c.request,
        "records/patient.html",
        {
            "nhs": nhs_number,
            "banner": banner(c.session, nhs_number, app_today(c.request)),
            "source_names": names,
            "details": {d.id: named_detail(d.detail, names) for d in rec.discrepancies},
            "view": view,
            "rec": rec,
            "as_of": as_of.isoformat(),
            "open_ids": open_ids,
            "flagged": flagged,
            "actions": ACTIONS,
            "error": shown.error,
            "errors": shown.errors,
            "form": shown.form or {},
            "posted": posted,
            "notice": NOTICES.get(shown.done or ""),
            "can_edit": c.principal.can(Activity.RECORD_RECONCILE),
        },
        status_code=status,
    )


def _form_refused(c: Caller, nhs_number, index, errors, posted, form=None):
    """The record again with one card's form ``errors`` beside its fields (nothing written)."""
    return _page(c, nhs_number, index, PageState(errors=errors, form=form), 422, posted=posted)


@router.get("/records")
def find(
    request: Request,
    nhs_number: str = "",
    principal: Principal = Depends(require(Activity.RECORD_VIEW)),
):
    if not nhs_number:
        return render(request, "records/find.html", {"error": None, "value": ""})
    try:
        digits = normalise_nhs_number(nhs_number)
    except InvalidNhsNumber as exc:
        return render(request, "records/find.html", {"error": str(exc), "value": nhs_number}, 422)
    return RedirectResponse(f"/records/patients/{digits}", status_code=303)


@router.get("/records/patients/{nhs_number}")
def show(nhs_number: str, as_of: str | None = None, notice: str | None = None, c: Caller = VIEW):
    day, error = _as_of(as_of, app_today(c.request)), None
    try:  # the NHS.UK date input (three fields) wins over ?as_of=YYYY-MM-DD
        day = date_field(c.request.query_params, "as_of") or day
    except DateInputError as exc:
        error = str(exc)
    view = actions.read_record(c.session, c.principal, nhs_number, day)
    shown = PageState(done=notice, error=error)
    return _page(c, nhs_number, day, shown, 422 if error else 200, view)


@router.post("/records/patients/{nhs_number}/decisions")
def post_decision(
    nhs_number: str,
    discrepancy_id: str = Form(...),
    action: str = Form(""),
    reason: str = Form(""),
    source: str = Form(""),
    etag: str = Form(...),
    index: date = SHOWN_AS_OF,
    c: Caller = RECONCILE,
):
    errors = FormErrors()
    if action not in DecisionAction.ALL:
        errors.add(f"a-{discrepancy_id}", "Select a decision")
    if action == DecisionAction.CORRECT_SOURCE and not source:
        errors.add(f"s-{discrepancy_id}", "Select the source to correct")
    if not reason.strip():
        errors.add(f"r-{discrepancy_id}", "Enter the reason for your decision")
    if errors:
        form = {"action": action, "source": source, "reason": reason}
        return _form_refused(c, nhs_number, index, errors, discrepancy_id, form)
    try:
        actions.decide_discrepancy(
            c.session,
            c.principal,
            nhs_number,
            discrepancy_id,
            action=action,
            reason=reason,
            if_match=etag,
            index_date=index,
            source_label=source or None,
        )
    except RecordError as exc:
        status, message = _decision_error(exc)
        return _page(c, nhs_number, index, PageState(error=message), status)
    return _back_to_record(nhs_number, "decided", index)


@router.post("/records/patients/{nhs_number}/sources")
def post_source(
    nhs_number: str,
    file: UploadFile = File(...),
    index: date = SHOWN_AS_OF,
    source_kind: str = Form(""),
    c: Caller = RECONCILE,
):
    # spooled already; a plain def keeps the ORM off the loop
    data = file.file.read(actions.MAX_SOURCE_BYTES + 1)
    try:
        _doc, result = actions.ingest_source(
            c.session,
            c.principal,
            nhs_number,
            data,
            filename=file.filename or "",
            source_kind=source_kind or None,
        )
    except (FhirInputError, RecordError) as exc:
        errors = FormErrors().add("file", f"The file was not added: {exc}")
        return _form_refused(c, nhs_number, index, errors, "source")
    notice = "unchanged" if result.action == "unchanged" else "ingested"
    return _back_to_record(nhs_number, notice, index)


def _back_to_record(nhs_number: str, notice: str, as_of: date | None = None) -> RedirectResponse:
    """After a write: back to the record (as of the date it was shown at) with a notice."""
    number = normalise_nhs_number(nhs_number)  # accepted by the use case
    query = f"as_of={as_of.isoformat()}&notice={notice}" if as_of else f"notice={notice}"
    return RedirectResponse(f"/records/patients/{number}?{query}", status_code=303)


def _decision_error(exc: RecordError) -> tuple[int, str]:
    if isinstance(exc, VersionConflict):
        return 409, (
            "Someone else changed this record while you were looking at it. "
            "Your decision was not saved: check the record below and decide again."
        )
    return 422, f"Your decision was not saved: {sentence(str(exc))}"


def _resolution_error(exc: RecordError, verb: str) -> tuple[int, str]:
    if isinstance(exc, VersionConflict):
        return 409, (
            "Someone else changed this record while you were looking at it. The proposed change "
            f"was not {verb}: check the record below and try again."
        )
    if isinstance(exc, ProposalResolved):
        return 409, f"Nothing was changed: {exc}."
    if isinstance(exc, ProposalNotFound):
        return 404, f"Nothing was changed: {exc}."
    return 422, f"The proposed change was not {verb}: {exc}."


@router.post("/records/patients/{nhs_number}/proposed-changes/{proposal_id}/accept")
def post_accept(
    nhs_number: str,
    proposal_id: RowId,
    etag: str = Form(...),
    dose_text: str = Form(""),
    switch_to: str = Form(""),
    note: str = Form(""),
    index: date = SHOWN_AS_OF,
    c: Caller = RECONCILE,
):
    try:
        how = Acceptance(dose_text=dose_text or None, switch_to=switch_to or None, note=note)
        actions.accept_proposed_change(
            c.session,
            c.principal,
            nhs_number,
            proposal_id,
            how,
            if_match=etag,
            on=app_today(c.request),
        )
    except RecordError as exc:
        status, message = _resolution_error(exc, "accepted")
        return _page(c, nhs_number, index, PageState(error=message), status)
    # the change counts from today (records.amend M1), so show the list as it is today
    return _back_to_record(nhs_number, "accepted")


@router.post("/records/patients/{nhs_number}/proposed-changes/{proposal_id}/reject")
def post_reject(
    nhs_number: str,
    proposal_id: RowId,
    etag: str = Form(...),
    reason: str = Form(""),
    index: date = SHOWN_AS_OF,
    c: Caller = RECONCILE,
):
    if not reason.strip():
        errors = FormErrors().add(f"why-{proposal_id}", "Enter why you are rejecting this change")
        return _form_refused(c, nhs_number, index, errors, f"p-{proposal_id}")
    try:
        actions.reject_proposed_change(
            c.session, c.principal, nhs_number, proposal_id, if_match=etag, reason=reason
        )
    except RecordError as exc:
        status, message = _resolution_error(exc, "rejected")
        return _page(c, nhs_number, index, PageState(error=message), status)
    return _back_to_record(nhs_number, "rejected", index)


SOURCE_KINDS = {
    "gp": "GP record",
    "pharmacy": "Pharmacy record",
    "hospital": "Hospital record",
    "specialist": "Specialist record",
}


def source_names(session: Session, labels: list[str]) -> dict[str, tuple[str, str]]:
    """``"gp:A10001#2"`` → ("Riverside Medical Centre", "GP record (2)"): what a column of the
    record is headed by (the label itself stays on hover and in the FHIR/CSV)."""
    codes = {label.split(":", 1)[-1].split("#", 1)[0] for label in labels}
    names = dict(
        session.execute(
            select(Organisation.ods_code, Organisation.name).where(Organisation.ods_code.in_(codes))
        ).all()
    )
    out = {}
    for label in labels:
        kind, _, rest = label.partition(":")
        code, _, copy = rest.partition("#")
        title = SOURCE_KINDS.get(kind, kind.capitalize() + " record")
        out[label] = (names.get(code, code or label), f"{title} ({copy})" if copy else title)
    return out


def named_detail(text: str, names: dict[str, tuple[str, str]]) -> str:
    """A discrepancy's sentence with each source's label (``gp:A10001#2``) replaced by its
    organisation's name and kind ("Riverside Medical Centre (GP record)"), longest label first
    so ``gp:A10001#2`` is not read as ``gp:A10001``."""
    for label in sorted(names, key=len, reverse=True):
        name, kind = names[label]
        text = text.replace(label, f"{name} ({kind})")
    return text
