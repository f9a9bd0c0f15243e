"""Administration use cases: each checks its activity and writes one audit entry (``admin.*``),
in the caller's unit of work, so the change and its audit entry commit together.

The development identity provider stands in for NHS CIS2 (``ipmo.security.users``): in
production users, roles and passwords are managed in CIS2, and only the session revocation and
the audit log viewer would stay here.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ipmo.organisations.models import Organisation
from ipmo.patients.identity import InvalidNhsNumber, normalise_nhs_number
from ipmo.security.access import audit_event
from ipmo.security.audit import VerifyResult, verify
from ipmo.security.errors import Forbidden
from ipmo.security.models import AuditEvent, User, WebSession
from ipmo.security.passwords import hash_password
from ipmo.security.principal import Principal
from ipmo.security.roles import ROLES, Activity
from ipmo.security.users import UserError, create_user
from ipmo.store import utcnow


class AdminError(ValueError):
    """Bad input for an administrative act (the page shows it beside ``field``)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class UserNotFound(LookupError):
    """No user with that username (HTTP 404)."""


def _need(principal: Principal, activity: Activity) -> None:
    if not principal.can(activity):
        raise Forbidden(f"your role does not allow {activity.value}")


def users(session: Session, principal: Principal) -> list[User]:
    _need(principal, Activity.USERS_ADMIN)
    audit_event(session, principal, "admin.users.list")
    return list(session.scalars(select(User).order_by(User.username)))


def user(session: Session, principal: Principal, username: str) -> User:
    _need(principal, Activity.USERS_ADMIN)
    found = session.scalar(select(User).where(User.username == username))
    if found is None:
        raise UserNotFound(f"no user {username!r}")
    return found


@dataclass(frozen=True)
class NewUser:
    username: str
    display_name: str
    role_code: str
    org_code: str


def create(session: Session, principal: Principal, new: NewUser) -> tuple[User, str]:
    """A new user with a one-time password, shown once to the administrator to pass on."""
    _need(principal, Activity.USERS_ADMIN)
    username = new.username.strip().lower()
    if not username:
        raise AdminError("Enter a username", "username")
    if len(username) > 64 or not all(c.isalnum() or c in "._-" for c in username):
        raise AdminError(
            "Username must be up to 64 letters, numbers, dots, dashes or underscores", "username"
        )
    if not new.display_name.strip():
        raise AdminError("Enter the person's name and job title", "display_name")
    if new.role_code not in ROLES:
        raise AdminError("Select a role", "role_code")
    if not new.org_code:
        raise AdminError("Select an organisation", "org_code")
    password = _one_time_password()
    try:
        made = create_user(
            session,
            username,
            new.display_name.strip()[:120],
            new.role_code,
            new.org_code,
            password,
        )
    except UserError as exc:
        field = "username" if "exists" in str(exc) else "org_code"
        message = (
            f"A user called {username} already exists"
            if field == "username"
            else "Select an organisation from the list"
        )
        raise AdminError(message, field) from None
    _audit(session, principal, "admin.user.create", made, role=made.role_code, org=made.org_code)
    return made, password


def change_role(
    session: Session, principal: Principal, username: str, role_code: str, org_code: str
) -> User:
    target = user(session, principal, username)
    if role_code not in ROLES:
        raise AdminError("Select a role", "role_code")
    if session.scalar(select(Organisation.id).where(Organisation.ods_code == org_code)) is None:
        raise AdminError("Select an organisation from the list", "org_code")
    if target.username == principal.username and role_code != target.role_code:
        raise AdminError("You cannot change your own role: ask another administrator", "role_code")
    before = (target.role_code, target.org_code)
    target.role_code, target.org_code = role_code, org_code
    _revoke(session, target)  # a session keeps no rights of the old role
    _audit(
        session,
        principal,
        "admin.user.role",
        target,
        before={"role": before[0], "org": before[1]},
        after={"role": role_code, "org": org_code},
    )
    return target


def set_active(session: Session, principal: Principal, username: str, active: bool) -> User:
    target = user(session, principal, username)
    if target.username == principal.username and not active:
        raise AdminError("You cannot disable your own account", "active")
    target.active = active
    if not active:
        _revoke(session, target)
    _audit(session, principal, "admin.user.enable" if active else "admin.user.disable", target)
    return target


def reset_password(session: Session, principal: Principal, username: str) -> tuple[User, str]:
    """A new one-time password (shown once); every session and token of the user ends."""
    target = user(session, principal, username)
    password = _one_time_password()
    target.password_hash = hash_password(password)
    _revoke(session, target)
    _audit(session, principal, "admin.user.reset-password", target)
    return target, password


def revoke(session: Session, principal: Principal, username: str) -> User:
    target = user(session, principal, username)
    _revoke(session, target)
    _audit(session, principal, "admin.user.revoke", target)
    return target


def _revoke(session: Session, target: User) -> None:
    target.token_generation = (target.token_generation or 0) + 1  # every bearer token
    session.execute(
        update(WebSession)
        .where(WebSession.user_id == target.id, WebSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


def _audit(session: Session, principal: Principal, action: str, target: User, **detail) -> None:
    audit_event(session, principal, action, detail={"user": target.username, **detail})


def _one_time_password() -> str:
    return secrets.token_urlsafe(12)


# ------------------------------------------------------------------ the audit log


@dataclass(frozen=True)
class AuditFilter:
    nhs_number: str = ""
    username: str = ""
    action: str = ""  # a prefix: "referral." finds every referral act
    since: date | None = None
    until: date | None = None


def audit_entries(
    session: Session, principal: Principal, f: AuditFilter, offset: int, limit: int
) -> tuple[list[AuditEvent], int]:
    """One page of the audit log, newest first, and how many entries match. Reading the log is
    itself audited, with the filters used."""
    _need(principal, Activity.AUDIT_VIEW)
    query = select(AuditEvent)
    if f.nhs_number:
        try:
            query = query.where(AuditEvent.patient_nhs_number == normalise_nhs_number(f.nhs_number))
        except InvalidNhsNumber as exc:
            raise AdminError(f"{exc}, for example 999 000 0018", "nhs_number") from None
    if f.username:
        query = query.where(AuditEvent.username == f.username.strip())
    if f.action:
        query = query.where(AuditEvent.action.startswith(f.action.strip(), autoescape=True))
    if f.since:
        query = query.where(AuditEvent.at >= datetime.combine(f.since, datetime.min.time()))
    if f.until:
        end = datetime.combine(f.until + timedelta(days=1), datetime.min.time())
        query = query.where(AuditEvent.at < end)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(session.scalars(query.order_by(AuditEvent.seq.desc()).offset(offset).limit(limit)))
    audit_event(
        session,
        principal,
        "admin.audit.view",
        detail={
            "nhs_number_filter": bool(f.nhs_number),
            "user": f.username or None,
            "action": f.action or None,
            "since": f.since,
            "until": f.until,
        },
    )
    return rows, total


def audit_actions(session: Session, principal: Principal) -> list[str]:
    _need(principal, Activity.AUDIT_VIEW)
    return list(session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


def verify_log(session: Session, principal: Principal) -> VerifyResult:
    """Walk the MAC chains (as ``ipmo audit verify`` does, without writing a checkpoint)."""
    _need(principal, Activity.AUDIT_VIEW)
    result = verify(session)
    audit_event(
        session,
        principal,
        "admin.audit.verify",
        detail={"ok": result.ok, "entries": result.entries, "problem": result.problem},
    )
    return result


def organisations(session: Session) -> list[tuple[str, str]]:
    rows = session.execute(
        select(Organisation.ods_code, Organisation.name, Organisation.kind).order_by(
            Organisation.name
        )
    )
    return [(code, f"{name} ({kind})") for code, name, kind in rows]
