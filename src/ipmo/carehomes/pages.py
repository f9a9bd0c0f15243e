"""Care-home pages (NHS.UK design system).

* ``/carehomes`` — the residents the access policy lets the user see, each with their findings:
  care-home staff see their own home's residents and alerts; a PCN (MOCH) pharmacist sees the
  caseload across the homes whose residents the PCN's practices hold.
* ``/carehomes/residents/{nhs}`` — one resident's medicines changed since their last hospital
  discharge or structured medication review, open review actions and referrals, findings and
  best-interests decisions, and the form to record a decision.
* ``/carehomes/movements`` — residents admitted, discharged and died (the home's records and
  the registration data) and their hospital stays, with the form for the home's staff.
* ``/carehomes/waste`` — supplied vs given vs returned or destroyed per medicine per month, the
  cost at dm+d prices and the stop-ordering list (a home's staff: their home, with the form to
  record a return; a MOCH / PCN pharmacist: the caseload across homes).
* ``/carehomes/homes`` — the ICS's per-home figures (aggregates, small numbers withheld).
* ``/carehomes/staff`` — the home's staff register, training and competency (NICE SC1 1.18),
  with the forms to add a member of staff (``/carehomes/staff/new``), record training or a
  competency assessment (``/carehomes/staff/training``) and record a medication incident
  (``/carehomes/incidents/new``): the home's own staff only.
Every read goes through ``actions.py`` (access policy and audit). Forms: CSRF, the NHS.UK error
summary linked to the field, what was typed kept, a confirmation panel after the redirect.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse

from ipmo.carehomes import actions
from ipmo.carehomes.findings import TEXT
from ipmo.carehomes.staff import CATEGORIES, COMPETENCY, HARM, TRAINING
from ipmo.security import Activity
from ipmo.web.dates import DateInputError, date_field
from ipmo.web.deps import Caller, FormFields, app_now, app_today, caller
from ipmo.web.forms import FormErrors, sentence
from ipmo.web.nav import NavItem
from ipmo.web.templating import render

router = APIRouter(include_in_schema=False)
USER = caller(Activity.RECORD_VIEW)  # the actions narrow who sees what
NAV = [
    NavItem(
        "Care-home residents",
        "/carehomes",
        Activity.RECORD_VIEW,
        "Residents of the care homes you look after and what their medicines administration "
        "records show",
        # the home's staff, the PCN's care-home pharmacists (MOCH), the residents' GPs and the
        # ICS safety officer; pharmacies, hospitals and NHS 111 have no care-home caseload
        frozenset({"care-home-staff", "pcn-pharmacist", "gp", "ics-medicines-safety"}),
    ),
    NavItem(
        "Medicines waste",
        "/carehomes/waste",
        Activity.RECORD_VIEW,
        "Care-home medicines supplied, given, returned and destroyed, their cost and what to "
        "stop ordering",
        # the home's own job each month; the PCN pharmacist reaches it from the care-home
        # residents page (a header item more pushed the SMR worklist into "More")
        frozenset({"care-home-staff"}),
    ),
    NavItem(
        "Care homes",
        "/carehomes/homes",
        Activity.ANALYTICS_VIEW,
        "Per care home: residents, doses refused or omitted and findings from eMAR records",
    ),
]
RULE_NAMES = {
    "repeated-refusals-or-omissions": "Repeated refusals or omissions",
    "prn-used-regularly": "When-required medicine used regularly",
    "prn-never-used": "When-required medicine not used",
    "covert-without-best-interests": "Covert administration without a best-interests decision",
    "time-critical-late": "Time-critical medicine late",
    "antipsychotic-in-dementia": "Antipsychotic in dementia: reassess",
}
assert set(RULE_NAMES) == set(TEXT)  # a new rule needs a name people can read


def _now(c: Caller) -> datetime:
    """Now by the app's clock (``app.state.clock``, UTC; tests fix it), with its time zone."""
    return app_now(c.request)


def _errors(exc: Exception, default: str, dates: tuple[str, ...] = ()) -> FormErrors:
    """An action's refusal ("field: message") as the form's error on that field (a date's
    error on its day box, where the summary's link lands)."""
    field, sep, text = str(exc).partition(": ")
    if not sep:
        field, text = default, str(exc)
    return FormErrors().add(f"{field}-day" if field in dates else field, sentence(text))


def _resident(form: dict[str, str]) -> str:
    """The resident chosen on a form (their NHS number), required."""
    if not form.get("resident"):
        raise actions.StaffInputError("resident: Select the resident")
    return form["resident"]


def _typed_date(form: dict[str, str], name: str, what: str) -> date:
    """The NHS.UK date input ``name`` (required); a :class:`FieldError`-like refusal naming
    the box to mark."""
    try:
        found = date_field(form, name, what)
    except DateInputError as exc:
        raise actions.StaffInputError(f"{name}-{exc.field}: {exc}") from None
    if found is None:
        raise actions.StaffInputError(f"{name}-day: Enter the {what.lower()}")
    return found


def _page(c: Caller, template: str, ctx: dict[str, Any], errors: FormErrors | None = None):
    """A care-home page: ``own_home`` (the user is the home's staff: its forms show), the
    form's ``errors`` (422 when there are any)."""
    own = c.principal.role.code == "care-home-staff"
    ctx = {"own_home": own, "errors": errors, **ctx}
    return render(c.request, f"carehomes/{template}", ctx, 422 if errors else 200)


@router.get("/carehomes")
def residents(c: Caller = USER):
    rows = actions.residents_overview(c.session, c.principal, _now(c))
    return _page(c, "residents.html", {"residents": rows, "rule_names": RULE_NAMES})


def _resident_page(
    c: Caller,
    nhs_number: str,
    saved: bool = False,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
):
    now = _now(c)
    found = actions.resident_findings(c.session, c.principal, nhs_number, now)
    decisions = actions.best_interests_decisions(c.session, c.principal, nhs_number)
    since = actions.changes_since(c.session, c.principal, nhs_number, now.date())
    return _page(
        c,
        "resident.html",
        {
            "nhs": nhs_number,
            "findings": found,
            "rule_names": RULE_NAMES,
            "decisions": decisions,
            "since": since,
            # PRN by the prescription (else the eMAR), and every disagreement between them
            "prn": [m for m in since.prn if m.prn or m.disagree],
            "covert": sorted(  # (value, text) for the form's list of medicines
                {
                    (f"{f.medicine_code}|{f.medicine_name}", f.medicine_name)
                    for f in found
                    if f.rule.startswith("covert")
                }
            ),
            "saved": saved,
            "form": form or {},
            "as_of": now.date(),
        },
        errors,
    )


@router.get("/carehomes/residents/{nhs_number}")
def resident(nhs_number: str, saved: int | None = Query(None, ge=1, le=1), c: Caller = USER):
    return _resident_page(c, nhs_number, saved=bool(saved))


@router.post("/carehomes/residents/{nhs_number}/best-interests")
def record_best_interests(nhs_number: str, form: FormFields, c: Caller = USER):
    code, _sep, name = form.get("medicine", "").partition("|")
    try:
        actions.record_best_interests(
            c.session,
            c.principal,
            nhs_number,
            medicine_code=code,
            medicine_name=name,
            decided_on=_typed_date(form, "decided_on", "Date of the decision"),
            review_by=_typed_date(form, "review_by", "Review date"),
            participants=form.get("participants", ""),
            today=app_today(c.request),
        )
    except (actions.StaffInputError, actions.BestInterestsError) as exc:
        errors = _errors(exc, "medicine", ("decided_on", "review_by"))
        return _resident_page(c, nhs_number, errors=errors, form=form)
    return RedirectResponse(f"/carehomes/residents/{nhs_number}?saved=1", status_code=303)


@router.get("/carehomes/homes")
def homes(c: Caller = caller(Activity.ANALYTICS_VIEW)):
    figures = actions.homes_figures(c.session, c.principal, _now(c))
    return _page(c, "homes.html", {"homes": figures, "rule_names": RULE_NAMES})


STAFF_SAVED = {
    "staff": ("Member of staff added", "Record their training and competency assessment next."),
    TRAINING: ("Training recorded", "It shows in the register below."),
    COMPETENCY: ("Competency assessment recorded", "The next one is due in 12 months."),
    "incident": ("Medication incident recorded", "It counts in the ICS's safety figures."),
}


@router.get("/carehomes/staff")
def staff(saved: str | None = Query(None, max_length=20), c: Caller = USER):
    """The home's staff who administer medicines: training and annual competency (NICE SC1
    1.18), due soon and overdue marked. The home's own staff only (403 for anyone else)."""
    found = actions.staff_competency(c.session, c.principal, app_today(c.request))
    return _page(c, "staff.html", {"staff": found, "saved": STAFF_SAVED.get(saved or "")})


def _form_page(
    c: Caller, template: str, form: dict[str, str], errors: FormErrors | None = None, **extra: Any
):
    return _page(c, template, {"form": form, "today": app_today(c.request), **extra}, errors)


def _recorded(
    c: Caller,
    form: dict[str, str],
    record: Callable[[], str],
    again: Callable[[FormErrors], Any],
    default: str,
    dates: tuple[str, ...] = (),
):
    """Run one staff-register write; its refusal back on the form (nothing written), else the
    register with the confirmation panel named by what ``record`` returns."""
    try:
        saved = record()
    except actions.StaffInputError as exc:
        c.session.rollback()
        return again(_errors(exc, default, dates))
    return RedirectResponse(f"/carehomes/staff?saved={saved}", status_code=303)


@router.get("/carehomes/staff/new")
def new_staff(c: Caller = USER):
    actions.staff_competency(c.session, c.principal, app_today(c.request))  # its own staff only
    return _form_page(c, "staff_new.html", {})


@router.post("/carehomes/staff/new")
def add_staff(form: FormFields, c: Caller = USER):
    def record() -> str:
        name, title = form.get("name", ""), form.get("job_title", "")
        actions.register_staff(c.session, c.principal, name, title)
        return "staff"

    return _recorded(c, form, record, lambda e: _form_page(c, "staff_new.html", form, e), "name")


def _training_page(c: Caller, form: dict[str, str], errors: FormErrors | None = None):
    members = actions.staff_competency(c.session, c.principal, app_today(c.request))
    options = [(str(m.staff_id), f"{m.name}, {m.job_title}") for m in members]
    return _form_page(c, "training_new.html", form, errors, members=options)


@router.get("/carehomes/staff/training")
def new_training(staff_id: int | None = Query(None, ge=1, le=2**31 - 1), c: Caller = USER):
    return _training_page(c, {"staff_id": str(staff_id or "")})


@router.post("/carehomes/staff/training")
def add_training(form: FormFields, c: Caller = USER):
    def record() -> str:
        sid = form.get("staff_id", "")
        if not sid.isdigit() or len(sid) > 9:
            raise actions.StaffInputError("staff_id: Select the member of staff")
        when = _typed_date(form, "completed_on", "Date completed")
        kind = form.get("kind", "")
        today = app_today(c.request)
        actions.record_training(
            c.session, c.principal, int(sid), kind, when, form.get("detail", ""), today
        )
        return kind

    again = lambda e: _training_page(c, form, e)  # noqa: E731 - the form shown again
    return _recorded(c, form, record, again, "staff_id", ("completed_on",))


def _incident_page(c: Caller, form: dict[str, str], errors: FormErrors | None = None):
    residents = [(r.nhs_number, r.name) for r in actions.own_residents(c.session, c.principal)]
    return _form_page(
        c,
        "incident_new.html",
        form,
        errors,
        residents=residents,
        categories=[(v, v.capitalize()) for v in CATEGORIES],
        harms=[(v, v.capitalize()) for v in HARM],
    )


@router.get("/carehomes/incidents/new")
def new_incident(c: Caller = USER):
    return _incident_page(c, {})


@router.post("/carehomes/incidents/new")
def add_incident(form: FormFields, c: Caller = USER):
    def record() -> str:
        actions.record_incident(
            c.session,
            c.principal,
            occurred_on=_typed_date(form, "occurred_on", "Date of the incident"),
            category=form.get("category", ""),
            harm=form.get("harm", ""),
            description=form.get("description", ""),
            today=app_today(c.request),
            nhs_number=form.get("resident") or None,
        )
        return "incident"

    again = lambda e: _incident_page(c, form, e)  # noqa: E731 - the form shown again
    return _recorded(c, form, record, again, "category", ("occurred_on",))


MOVED = {"admitted": "Admitted", "discharged": "Discharged", "died": "Died"}


def _movements_page(c: Caller, form: dict[str, str], errors: FormErrors | None = None, saved=False):
    today = app_today(c.request)
    rows = actions.movements_view(c.session, c.principal, today)
    own = c.principal.role.code == "care-home-staff"
    residents = (
        [(r.nhs_number, r.name) for r in actions.own_residents(c.session, c.principal)]
        if own
        else []
    )
    ctx = {
        "rows": rows,
        "form": form,
        "today": today,
        "days": actions.MOVEMENTS_DAYS,
        "residents": residents,
        "kinds": list(MOVED.items()),
        "saved": saved,
    }
    return _page(c, "movements.html", ctx, errors)


@router.get("/carehomes/movements")
def movements(saved: int | None = Query(None, ge=1, le=1), c: Caller = USER):
    """Admissions, discharges and deaths at the home (or the caseload's homes) and the
    residents' hospital stays; for the home's staff, the form to record one."""
    return _movements_page(c, {}, saved=bool(saved))


@router.post("/carehomes/movements")
def record_movement(form: FormFields, c: Caller = USER):
    try:
        resident = _resident(form)
        if form.get("kind") not in MOVED:  # the fields in the order the form asks them
            raise actions.StaffInputError("kind: Select admitted, discharged or died")
        actions.record_movement(
            c.session,
            c.principal,
            resident,
            kind=form.get("kind", ""),
            moved_on=_typed_date(form, "moved_on", "Date"),
            detail=form.get("detail", ""),
            today=app_today(c.request),
        )
    except actions.StaffInputError as exc:
        c.session.rollback()
        return _movements_page(c, form, _errors(exc, "resident", ("moved_on",)))
    return RedirectResponse("/carehomes/movements?saved=1", status_code=303)


WASTE_RULES = {
    "supplied-mostly-unused": "Supplied but mostly not given",
    "prn-not-given-resupplied": "When-required medicine re-supplied but not used",
}


def _waste_page(
    c: Caller,
    saved: bool = False,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
):
    today = app_today(c.request)
    view = actions.waste_view(c.session, c.principal, today)
    return _page(
        c,
        "waste.html",
        {
            "view": view,
            "rule_names": WASTE_RULES,
            "names": {r.nhs_number: r.name for r in view.residents},
            "saved": saved,
            # the field marked and its message (the form's hand-written fields read these)
            "error_field": errors.items[0][0] if errors else None,
            "error": errors.items[0][1] if errors else None,
            "form": form or {},
            "key": form.get("key") if form else uuid.uuid4().hex,
            "today": today,
        },
        errors,
    )


@router.get("/carehomes/waste")
def waste(saved: int | None = Query(None, ge=1, le=1), c: Caller = USER):
    """The home's (or the MOCH caseload's) medicines waste and stop-ordering list; for the
    home's staff, the form to record medicines returned or destroyed."""
    return _waste_page(c, saved=bool(saved))


@router.post("/carehomes/waste")
def record_waste(form: FormFields, c: Caller = USER):
    try:
        text = form.get("quantity", "").strip()
        try:
            quantity = float(text)
        except ValueError:
            raise actions.WasteInputError(
                "quantity: Enter the quantity as a number, for example 14"
            ) from None
        actions.record_waste(
            c.session,
            c.principal,
            _resident(form),
            medicine_code=form.get("medicine_code", ""),
            medicine_name=form.get("medicine_name", ""),
            quantity=quantity,
            unit=form.get("unit", ""),
            disposal=form.get("disposal", ""),
            disposed_on=_typed_date(form, "disposed_on", "Date returned or destroyed"),
            reason=form.get("reason", ""),
            key=form.get("key", ""),
            today=app_today(c.request),
        )
    except (actions.StaffInputError, actions.WasteInputError, actions.WasteConflict) as exc:
        errors = _errors(exc, "resident", ("disposed_on",))
        if "key" in errors:  # the hidden reference: the summary links to the first field
            errors = FormErrors().add("resident", errors.get("key") or "")
        return _waste_page(c, errors=errors, form=form)
    return RedirectResponse("/carehomes/waste?saved=1", status_code=303)
