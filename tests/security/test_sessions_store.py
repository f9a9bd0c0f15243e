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
    prune_sessions,
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


def _rows(s, uid: int) -> int:
    return len(list(s.scalars(select(WebSession).where(WebSession.user_id == uid))))


def test_pruning_deletes_ended_and_expired_sessions_and_keeps_live_ones(store):
    max_age = timedelta(hours=8)
    with session_scope(store) as s:
        gp = s.scalar(select(User.id).where(User.username == "gp"))
        analyst = s.scalar(select(User.id).where(User.username == "analyst"))
        ended = start_session(s, gp, T0)
        end_session(s, ended, T0 + timedelta(minutes=5))  # signed out
        start_session(s, gp, T0 - max_age - timedelta(minutes=1))  # outlived the cookie
        live = start_session(s, gp, T0)
        other_ended = start_session(s, analyst, T0)
        end_session(s, other_ended, T0)
    with session_scope(store) as s:
        # one user's rows only (what sign-in does)
        assert prune_sessions(s, T0 + timedelta(hours=1), max_age, user_id=gp) == 2
    with session_scope(store) as s:
        assert _rows(s, gp) == 1 and session_is_live(s, live, gp)
        assert _rows(s, analyst) == 1  # not gp's: untouched
        assert prune_sessions(s, T0 + timedelta(hours=1), max_age) == 1  # everyone's (the sweep)
    with session_scope(store) as s:
        assert _rows(s, analyst) == 0 and session_is_live(s, live, gp)
        assert prune_sessions(s, T0 + max_age + timedelta(seconds=1), max_age) == 1  # now expired
    with session_scope(store) as s:
        assert _rows(s, gp) == 0


def test_the_cli_prunes_dead_sessions_and_revoke_deletes_a_users_sessions(cli_store):
    from typer.testing import CliRunner

    from ipmo.cli import app
    from ipmo.store import utcnow

    now = utcnow()  # the CLI prunes against the real clock: rows are placed relative to it
    with session_scope(cli_store) as s:
        gp = s.scalar(select(User.id).where(User.username == "gp"))
        analyst = s.scalar(select(User.id).where(User.username == "analyst"))
        end_session(s, start_session(s, gp, now), now)
        start_session(s, gp, now - timedelta(days=2))  # older than the sign-in lifetime
        live = start_session(s, gp, now)
        start_session(s, analyst, now)  # live
    runner = CliRunner()
    pruned = runner.invoke(app, ["users", "prune-sessions"])
    assert pruned.exit_code == 0 and "2 ended or expired session(s) deleted" in pruned.output
    with session_scope(cli_store) as s:
        assert _rows(s, gp) == 1 and _rows(s, analyst) == 1
    assert runner.invoke(app, ["users", "revoke", "analyst"]).exit_code == 0
    with session_scope(cli_store) as s:
        assert _rows(s, analyst) == 0 and _rows(s, gp) == 1
    with session_scope(cli_store) as s:
        end_session(s, live, now)  # gp signs out
    swept = runner.invoke(app, ["referrals", "worker", "--once"])
    assert swept.exit_code == 0 and "sessions: 1 ended or expired deleted" in swept.output
    with session_scope(cli_store) as s:
        assert _rows(s, gp) == 0
