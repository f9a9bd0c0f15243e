"""FastAPI dependencies: the request's unit of work and the signed-in principal."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from ipmo.security.errors import Forbidden, NotAuthenticated
from ipmo.security.principal import Principal
from ipmo.security.roles import Activity
from ipmo.security.users import principal_for_user_id, principal_from_token


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error."""
    session = Session(request.app.state.engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


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
        principal = principal_for_user_id(session, int(uid), int(gen or 0))
    request.state.principal = principal
    return principal


def require(*activities: Activity):
    """Authenticate, then authorise on activities (all of them must be granted)."""

    def dependency(request: Request, session: Session = Depends(db_session)) -> Principal:
        principal = current_principal(request, session)
        missing = [a for a in activities if not principal.can(a)]
        if missing:
            raise Forbidden(
                f"your role ({principal.role.title}) does not include: "
                + ", ".join(str(a) for a in missing)
            )
        return principal

    return dependency


def optional_principal(
    request: Request, session: Session = Depends(db_session)
) -> Principal | None:
    try:
        return current_principal(request, session)
    except NotAuthenticated:
        return None
