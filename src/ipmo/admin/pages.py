"""Administration pages: /admin (what an administrator can do), user management and the audit
log viewer, in the NHS.UK design (error summaries linked to fields, confirmation panels)."""

from __future__ import annotations

from datetime import date
from functools import partial

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse

from ipmo.admin import actions
from ipmo.admin.actions import AdminError, AuditFilter, NewUser
from ipmo.security import Activity, Principal
from ipmo.security.errors import Forbidden
from ipmo.security.models import AuditEvent
from ipmo.security.roles import ROLES
from ipmo.web.dates import DateInputError, parse_date_input
from ipmo.web.deps import Caller, FormFields, caller, require
from ipmo.web.forms import FormErrors
from ipmo.web.nav import NavItem
from ipmo.web.page_state import PageState
from ipmo.web.paging import page_from, pagination
from ipmo.web.templating import render

router = APIRouter(include_in_schema=False)
NAV = [
    NavItem(
        "Users",
        "/admin/users",
        Activity.USERS_ADMIN,
        "Add users, change their role, disable them, reset passwords and end their sessions",
    ),
    NavItem(
        "Audit log",
        "/admin/audit",
        Activity.AUDIT_VIEW,
        "Who did what, to which patient record and when; check the log has not been altered",
    ),
]
DONE = {
    "created": "User added",
    "role": "Role changed",
    "disabled": "User disabled",
    "enabled": "User enabled",
    "password": "Password reset",
    "revoked": "Sessions and tokens ended",
}


USERS_ADMIN = caller(Activity.USERS_ADMIN)
AUDIT_VIEW = caller(Activity.AUDIT_VIEW)


def _roles() -> list[tuple[str, str]]:
    return [(code, role.title) for code, role in ROLES.items()]


@router.get("/admin")
def index(request: Request, principal: Principal = Depends(require())):
    items = [n for n in NAV if n.offered_to(principal)]
    if not items:
        raise Forbidden("administration is for the system administrator")
    return render(request, "admin/index.html", {"items": items})


@router.get("/admin/users")
def users(c: Caller = USERS_ADMIN):
    ctx = {"users": actions.users(c.session, c.principal), "roles": dict(_roles())}
    return render(c.request, "admin/users.html", ctx)


def _new_page(c: Caller, form: dict, errors: FormErrors | None = None):
    ctx = {
        "form": form,
        "errors": errors,
        "roles": _roles(),
        "orgs": actions.organisations(c.session),
        "back": {"href": "/admin/users", "text": "Users"},
    }
    return render(c.request, "admin/user_new.html", ctx, status_code=422 if errors else 200)


@router.get("/admin/users/new")
def new_user_form(c: Caller = USERS_ADMIN):
    return _new_page(c, {})


@router.post("/admin/users/new")
def create_user(form: FormFields, c: Caller = USERS_ADMIN):
    new = NewUser(
        form.get("username", ""),
        form.get("display_name", ""),
        form.get("role_code", ""),
        form.get("org_code", ""),
    )
    try:
        made, password = actions.create(c.session, c.principal, new)
    except AdminError as exc:
        c.session.rollback()
        return _new_page(c, form, FormErrors.from_exception(exc, "username"))
    return _user_page(c, made.username, PageState(done="created"), password)


def _user_page(
    c: Caller, username: str, shown: PageState = PageState(), password: str | None = None
):
    """The user; ``password`` is a new one, shown this once."""
    target = actions.user(c.session, c.principal, username)
    ctx = {
        "u": target,
        "done": DONE.get(shown.done or ""),
        "password": password,  # shown once, never stored in clear or logged
        "errors": shown.errors,
        "form": shown.form or {"role_code": target.role_code, "org_code": target.org_code},
        "roles": _roles(),
        "role_names": dict(_roles()),
        "orgs": actions.organisations(c.session),
        "back": {"href": "/admin/users", "text": "Users"},
        "is_self": target.username == c.principal.username,
    }
    return render(c.request, "admin/user.html", ctx, status_code=shown.status_code)


@router.get("/admin/users/{username}")
def user_page(username: str, done: str | None = None, c: Caller = USERS_ADMIN):
    return _user_page(c, username, PageState(done=done))


def _act(c: Caller, username: str, fn, done: str, form: dict | None = None):
    """One change to a user, ``fn(session, principal, username)``: refused → the user's page
    with the error (422), nothing written; done → back to the user's page with its notice."""
    try:
        fn(c.session, c.principal, username)
    except AdminError as exc:
        c.session.rollback()
        errors = FormErrors.from_exception(exc, "role_code")
        return _user_page(c, username, PageState(errors=errors, form=form))
    return RedirectResponse(f"/admin/users/{username}?done={done}", status_code=303)


@router.post("/admin/users/{username}/role")
def change_role(username: str, form: FormFields, c: Caller = USERS_ADMIN):
    role, org = form.get("role_code", ""), form.get("org_code", "")
    change = partial(actions.change_role, role_code=role, org_code=org)
    return _act(c, username, change, "role", form)


# Disabling a user and resetting their password sign them out everywhere, so each asks first
# (NHS.UK service manual, "Confirmation" and "Check answers" patterns: a question page with the
# action as a warning button and a Cancel link; the act itself is a POST with the CSRF token).
CONFIRM = {
    "disable": (
        "Are you sure you want to disable {name}?",
        "{name} will be signed out everywhere and will not be able to sign in until enabled.",
        "Disable user",
        "active",
        {"active": "no"},
    ),
    "password": (
        "Are you sure you want to reset the password for {name}?",
        "Their current password stops working and they are signed out everywhere. "
        "You will be shown a one-time password to give them.",
        "Reset password",
        "password",
        {},
    ),
}


def _confirm_page(c: Caller, username: str, what: str):
    target = actions.user(c.session, c.principal, username)
    question, consequence, button, path, hidden = CONFIRM[what]
    ctx = {
        "u": target,
        "question": question.format(name=target.display_name),
        "consequence": consequence.format(name=target.display_name),
        "button": button,
        "action": f"/admin/users/{target.username}/{path}",
        "hidden": hidden,
        "back": {"href": f"/admin/users/{target.username}", "text": target.display_name},
    }
    return render(c.request, "admin/confirm.html", ctx)


@router.get("/admin/users/{username}/{what}")
def confirm(username: str, what: str, c: Caller = USERS_ADMIN):
    """The question page before disabling (``/disable``) or resetting a password (``/password``)."""
    if what not in CONFIRM:
        raise HTTPException(404)
    return _confirm_page(c, username, what)


@router.post("/admin/users/{username}/active")
def set_active(username: str, form: FormFields, c: Caller = USERS_ADMIN):
    active = form.get("active") == "yes"
    if not active and form.get("confirm") != "yes":  # not confirmed: ask, change nothing
        return _confirm_page(c, username, "disable")
    change = partial(actions.set_active, active=active)
    return _act(c, username, change, "enabled" if active else "disabled")


@router.post("/admin/users/{username}/password")
def reset_password(username: str, form: FormFields, c: Caller = USERS_ADMIN):
    if form.get("confirm") != "yes":  # not confirmed: ask, change nothing
        return _confirm_page(c, username, "password")
    target, password = actions.reset_password(c.session, c.principal, username)
    return _user_page(c, target.username, PageState(done="password"), password)


@router.post("/admin/users/{username}/revoke")
def revoke(username: str, c: Caller = USERS_ADMIN):
    return _act(c, username, actions.revoke, "revoked")


def _audit_page(c: Caller, verified=None):
    q = c.request.query_params
    errors = FormErrors()
    form = {k: q.get(k, "") for k in ("nhs_number", "username", "action")}
    dates: dict[str, date | None] = {}
    for name in ("since", "until"):
        day, month, year = (q.get(f"{name}[{p}]", "") for p in ("day", "month", "year"))
        form.update({f"{name}_day": day, f"{name}_month": month, f"{name}_year": year})
        what = "From date" if name == "since" else "To date"
        try:
            dates[name] = parse_date_input(day, month, year, what)
        except DateInputError as exc:
            errors.add(f"{name}-{exc.field}", str(exc))
            dates[name] = None
    at = page_from(q.get("page", "1"))
    rows: list[AuditEvent] = []
    total = 0
    if not errors:
        try:
            rows, total = actions.audit_entries(
                c.session,
                c.principal,
                AuditFilter(form["nhs_number"], form["username"], form["action"], **dates),
                at.offset,
                at.per_page,
            )
        except AdminError as exc:
            errors.add_exception(exc, "nhs_number")
    ctx = {
        "rows": rows,
        "paging": pagination(c.request, at, total, len(rows), "entries"),
        "form": form,
        "errors": errors,
        "actions": actions.audit_actions(c.session, c.principal),
        "verified": verified,
    }
    return render(c.request, "admin/audit.html", ctx, status_code=422 if errors else 200)


@router.get("/admin/audit")
def audit_log(c: Caller = AUDIT_VIEW):
    return _audit_page(c)


@router.post("/admin/audit/verify")
def verify(c: Caller = AUDIT_VIEW):
    return _audit_page(c, verified=actions.verify_log(c.session, c.principal))
