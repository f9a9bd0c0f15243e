"""FastAPI dependencies: the request's unit of work and the signed-in principal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from ipmo.security.errors import Forbidden, NotAuthenticated
from ipmo.security.principal import Principal
from ipmo.security.roles import Activity
from ipmo.security.sessions import session_is_live
from ipmo.security.users import organisation_name, principal_for_user_id, principal_from_token
from ipmo.store import session_scope


def unit_of_work(request: Request) -> AbstractContextManager[Session]:
    """One transaction on the app's store (``store.session_scope``): committed when the block
    ends, rolled back on error."""
    return session_scope(request.app.state.engine)


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error."""
    with unit_of_work(request) as session:
        yield session


#: A handler's unit of work, as a parameter type: ``session: DbSession`` (committed before the
#: response is sent: ``scope="function"``).
DbSession = Annotated[Session, Depends(db_session, scope="function")]


def app_today(request: Request) -> date:
    """Today for this app: the day of its clock (``app.state.clock``, UTC), which tests set to
    a fixed moment so that a date a form refuses as "in the future" is the same every day."""
    return request.app.state.clock().date()


#: today, as a handler parameter type: ``today: Today``
Today = Annotated[date, Depends(app_today)]


def app_now(request: Request) -> datetime:
    """Now by this app's clock (``app.state.clock``, UTC; tests fix it), with its time zone."""
    now: datetime = request.app.state.clock()
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def app_store_now(request: Request) -> datetime:
    """Now by this app's clock as the store keeps times (UTC without a zone, as ``utcnow``)."""
    return app_now(request).astimezone(UTC).replace(tzinfo=None)


def current_principal(request: Request, session: Session) -> Principal:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    settings = request.app.state.settings
    auth = request.headers.get("authorization", "")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticated("use an Authorization: Bearer token")
        principal = principal_from_token(
            session, settings.secret_key, token.strip(), settings.token_ttl_seconds
        )
    else:
        uid, gen = request.session.get("uid"), request.session.get("gen")
        if uid is None:
            raise NotAuthenticated("sign in first")
        if not _session_int(uid) or not _session_int(gen or 0):
            request.session.clear()
            raise NotAuthenticated("sign in again")
        if not session_is_live(session, request.session.get("sid"), int(uid)):
            request.session.clear()  # signed out (perhaps from another copy of this cookie)
            raise NotAuthenticated("sign in again")
        principal = principal_for_user_id(session, int(uid), int(gen or 0))
        # the page header's account line names the organisation (not its ODS code)
        request.state.org_name = organisation_name(session, principal.org_code)
    request.state.principal = principal
    return principal


def _session_int(value: object) -> bool:
    return type(value) is int and 0 <= value <= 2**63 - 1


def require(*activities: Activity):
    """Authenticate, then authorise on activities (all of them must be granted)."""

    def dependency(
        request: Request, session: Session = Depends(db_session, scope="function")
    ) -> Principal:
        return authorise(request, session, *activities)

    return dependency


def authorise(request: Request, session: Session, *activities: Activity) -> Principal:
    """What :func:`require` does, for a handler that runs its own unit of work."""
    principal = current_principal(request, session)
    missing = [a for a in activities if not principal.can(a)]
    if missing:
        raise Forbidden(
            f"your role ({principal.role.title}) does not include: "
            + ", ".join(str(a) for a in missing)
        )
    return principal


def optional_principal(
    request: Request, session: Session = Depends(db_session, scope="function")
) -> Principal | None:
    try:
        return current_principal(request, session)
    except NotAuthenticated:
        return None


async def request_body(request: Request) -> bytes:
    """The raw request body, for handlers that take CSV or other non-JSON payloads.

    Reading the body needs the event loop, so this dependency is async; the handler using it can
    then be a plain ``def`` that FastAPI runs in its thread pool, and its synchronous database
    work never blocks the loop (an ``async def`` handler calling the ORM would)."""
    return await request.body()


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form's fields as text (the last value of a repeated field), read on the event
    loop so the page handler using this dependency can be a plain ``def``: its database work
    then runs in the thread pool instead of blocking the loop."""
    return {k: str(v) for k, v in (await request.form()).items()}


#: A page handler's posted form, as a parameter type: ``form: FormFields``.
FormFields = Annotated[dict[str, str], Depends(form_fields)]


@dataclass(frozen=True)
class Caller:
    """What a route handler and its helpers share: the request, its unit of work (committed
    before the response is sent) and the principal it is authorised for."""

    request: Request
    session: Session
    principal: Principal


def caller(*activities: Activity) -> Any:
    """A handler's :class:`Caller`, authorised on ``activities`` as :func:`require` does
    (``c: Caller = caller(Activity.X)``)."""
    needs = require(*activities)

    def dependency(
        request: Request,
        session: DbSession,
        principal: Principal = Depends(needs),
    ) -> Caller:
        return Caller(request, session, principal)

    return Depends(dependency)
