"""A write that cannot get SQLite's one write lock in time is answered 503 with Retry-After and
leaves nothing behind — never a 500 (issue 20: "a lock timeout is never a 500")."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import func, select

from ipmo.referrals.models import Referral
from ipmo.security.users import DEMO_PASSWORD


def _referrals(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Referral.__table__))


def test_a_write_that_cannot_get_the_lock_is_a_503_and_writes_nothing(
    client_as, sample_ics, monkeypatch: pytest.MonkeyPatch
):
    client = client_as(None)
    token = client.post(
        "/api/auth/token", data={"username": "nhs111", "password": DEMO_PASSWORD}
    ).json()["access_token"]
    monkeypatch.setenv("IPMO_SQLITE_BUSY_MS", "300")
    sample_ics.dispose()  # new connections take the short busy timeout
    before = _referrals(sample_ics)
    blocker = sqlite3.connect(sample_ics.url.database, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        r = client.post(
            "/api/referrals",
            json={
                "service": "urgent-repeat-supply",
                "nhs_number": "9990000018",
                "summary": "Ran out of regular medicines.",
                "no_relationship_reason": "NHS 111 caller",
            },
            headers={"Authorization": f"Bearer {token}"},
        )
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "2"
    assert "nothing was saved" in r.json()["detail"]
    assert _referrals(sample_ics) == before
    # and once the lock is free the same request goes through
    ok = client.post(
        "/api/referrals",
        json={
            "service": "urgent-repeat-supply",
            "nhs_number": "9990000018",
            "summary": "Ran out of regular medicines.",
            "no_relationship_reason": "NHS 111 caller",
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert ok.status_code == 201, ok.text
    assert _referrals(sample_ics) == before + 1
