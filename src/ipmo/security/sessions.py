"""Server-side browser sessions and sign-in throttling.

**Sessions.** The session cookie is signed but lives in the browser, so clearing it at sign-out
left a copied cookie working until it expired. Each sign-in now starts a :class:`WebSession` row;
the cookie carries its random id, every request checks the row is live, and sign-out ends it.

**Throttling.** Failed sign-ins are counted per username and per client address in a fixed window
(OWASP Authentication Cheat Sheet, "Protect against automated attacks"; NCSC password guidance,
"throttling" over lock-out): after :data:`MAX_FAILURES_PER_USER` failures for one username, or
:data:`MAX_FAILURES_PER_ADDRESS` from one address (higher: many NHS staff share a site's address),
further attempts are refused until the window ends, without checking the password. Unknown
usernames count the same as known ones, so throttling does not reveal who has an account. The
caller passes ``now`` (tests use a fixed clock).
"""

from __future__ import annotations

import hashlib
import math
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ipmo.security.models import SignInFailures, WebSession

MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20
WINDOW = timedelta(minutes=15)


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def start_session(session: Session, user_id: int, now: datetime) -> str:
    sid = secrets.token_urlsafe(32)
    session.add(WebSession(id_hash=_hash(sid), user_id=user_id, created_at=now))
    session.flush()
    return sid


def session_is_live(session: Session, sid: object, user_id: int) -> bool:
    if not isinstance(sid, str) or not sid:
        return False
    row = session.get(WebSession, _hash(sid))
    return row is not None and row.user_id == user_id and row.ended_at is None


def end_session(session: Session, sid: object, now: datetime) -> None:
    if isinstance(sid, str) and sid:
        row = session.get(WebSession, _hash(sid))
        if row is not None and row.ended_at is None:
            row.ended_at = now


def prune_sessions(
    session: Session, now: datetime, max_age: timedelta, user_id: int | None = None
) -> int:
    """Delete the rows of sessions that can no longer be used: ended (signed out, revoked) or
    older than ``max_age`` (the cookie's own lifetime, after which the browser's cookie is refused
    anyway). Only ``user_id``'s rows when given (what sign-in does, on the indexed column);
    returns how many rows went."""
    dead = or_(WebSession.ended_at.is_not(None), WebSession.created_at < now - max_age)
    query = delete(WebSession).where(dead)
    if user_id is not None:
        query = query.where(WebSession.user_id == user_id)
    return session.execute(query).rowcount or 0  # type: ignore[attr-defined]


class Throttled(Exception):
    """Too many failed sign-ins: refused until ``retry_after_seconds`` have passed."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(retry_after_seconds)
        self.retry_after_seconds = retry_after_seconds

    def __str__(self) -> str:
        minutes = max(1, -(-self.retry_after_seconds // 60))
        return f"too many failed sign-ins; try again in {minutes} minute(s)"


def _keys(username: str, address: str | None) -> list[tuple[str, int]]:
    keys = [(f"user:{username.strip().lower()[:100]}", MAX_FAILURES_PER_USER)]
    if address:
        keys.append((f"addr:{address[:100]}", MAX_FAILURES_PER_ADDRESS))
    return keys


def check_throttle(session: Session, username: str, address: str | None, now: datetime) -> None:
    """Raise :class:`Throttled` if this username or address has failed too often lately."""
    wait = 0
    for key, limit in _keys(username, address):
        row = session.get(SignInFailures, key)
        if row is not None and row.failures >= limit and now < row.window_start + WINDOW:
            wait = max(wait, math.ceil((row.window_start + WINDOW - now).total_seconds()))
    if wait:
        raise Throttled(wait)


def record_failure(session: Session, username: str, address: str | None, now: datetime) -> None:
    for key, _ in _keys(username, address):
        row = session.get(SignInFailures, key)
        if row is None:
            try:
                with session.begin_nested():  # another request may be adding the same key
                    session.add(SignInFailures(key=key, failures=1, window_start=now))
                continue
            except IntegrityError:
                row = session.get(SignInFailures, key, populate_existing=True)
                assert row is not None
        if now >= row.window_start + WINDOW:
            row.failures, row.window_start = 1, now
        else:
            row.failures += 1
    session.flush()


def record_success(session: Session, username: str) -> None:
    """A correct password clears the username's count (not the address's: one valid account must
    not reset the count for guesses at others from the same address)."""
    row = session.get(SignInFailures, _keys(username, None)[0][0])
    if row is not None:
        session.delete(row)


__all__ = [
    "Throttled",
    "check_throttle",
    "end_session",
    "prune_sessions",
    "record_failure",
    "record_success",
    "session_is_live",
    "start_session",
]
