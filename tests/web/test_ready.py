"""Issue 20 item 5: liveness (/health) and readiness (/ready: database answers, schema at head)."""

import os

from sqlalchemy import text

from ipmo.store.migrate import head_revision


def test_ready_when_the_store_answers_at_the_newest_migration(client_as):
    anon = client_as(None)
    assert anon.get("/health").status_code == 200
    r = anon.get("/ready")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "status": "ready",
        "store": "ok",
        "revision": head_revision(),
        "head": head_revision(),
        "worker": os.getpid(),  # the process that answered (the test client serves in-process)
    }


def test_not_ready_when_migrations_are_behind(client_as, sample_ics):
    anon = client_as(None)
    with sample_ics.begin() as conn:
        conn.execute(text("update alembic_version set version_num = 'older'"))
    r = anon.get("/ready")
    assert r.status_code == 503 and r.json()["status"] == "not ready"
    assert r.json()["revision"] == "older"
    assert anon.get("/health").status_code == 200  # alive, just not ready


def test_not_ready_when_the_store_was_never_migrated(client_as, sample_ics):
    anon = client_as(None)
    with sample_ics.connect() as conn:  # no alembic_version table: no revision at all
        conn.execute(text("drop table alembic_version"))
        conn.commit()
    r = anon.get("/ready")
    assert r.status_code == 503 and r.json()["status"] == "not ready"
