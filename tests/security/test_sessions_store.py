"""Server-side sessions and sign-in throttling in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from ipmo.security.models import SignInFailures, User, WebSession
from ipmo.security.sessions import (
    MAX_FAILURES_PER_USER,
    WINDOW,
    Throttled,
    check_throttle,
    end_session,
    record_failure,
    record_success,
    session_is_live,
    start_session,
)
from ipmo.security.users import seed_demo_users
from ipmo.store import session_scope
from ipmo.synth.sample import seed_sample_ics

T0 = datetime(2026, 3, 2, 9, 0)


@pytest.fixture
def store(any_engine):
    with session_scope(any_engine) as s:
        seed_sample_ics(s)
        seed_demo_users(s)
    return any_engine


def test_a_session_is_live_until_it_is_ended(store):
    with session_scope(store) as s:
        uid = s.scalar(select(User.id).where(User.username == "gp"))
        other = s.scalar(select(User.id).where(User.username == "analyst"))
        sid = start_session(s, uid, T0)
    with session_scope(store) as s:
        assert session_is_live(s, sid, uid)
        assert not session_is_live(s, sid, other)  # not someone else's
        assert not session_is_live(s, "made-up", uid) and not session_is_live(s, None, uid)
        assert sid not in {row.id_hash for row in s.scalars(select(WebSession))}  # only a hash
        end_session(s, sid, T0 + timedelta(minutes=5))
    with session_scope(store) as s:
        assert not session_is_live(s, sid, uid)


def test_throttling_counts_per_window(store):
    with session_scope(store) as s:
        for _ in range(MAX_FAILURES_PER_USER):
            check_throttle(s, "gp", "10.0.0.1", T0)
            record_failure(s, "gp", "10.0.0.1", T0)
    with session_scope(store) as s:
        with pytest.raises(Throttled) as refused:
            check_throttle(s, "GP ", "10.0.0.2", T0 + timedelta(minutes=1))  # name normalised
        assert refused.value.retry_after_seconds == 14 * 60
        check_throttle(s, "gp", "10.0.0.1", T0 + WINDOW)  # the window has passed
        record_failure(s, "gp", "10.0.0.1", T0 + WINDOW)  # starts a new window
    with session_scope(store) as s:
        assert s.get(SignInFailures, "user:gp").failures == 1
        record_success(s, "gp")
    with session_scope(store) as s:
        assert s.get(SignInFailures, "user:gp") is None
        assert s.get(SignInFailures, "addr:10.0.0.1") is not None  # the address keeps its count
