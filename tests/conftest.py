"""Shared fixtures.

``engine`` is a migrated, empty store on SQLite; ``any_engine`` runs the same test on SQLite and
on PostgreSQL (a database of its own, created and dropped here; skipped only when no server answers
on 127.0.0.1:5432 and CI is not set — in CI a missing server fails the run).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from tests.web_session import sign_in

from ipmo.store import create_store_engine, init_store

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PG_ADMIN_URL = os.environ.get(
    "IPMO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session", autouse=True)
def _plan_cache_in_tmp(tmp_path_factory):
    """The measure-planning cache (analytics/planning/plan_cache.py) in this run's folder."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IPMO_PLAN_CACHE_DIR", str(tmp_path_factory.mktemp("plan-cache")))
        yield


@pytest.fixture(scope="session", autouse=True)
def _audit_key_and_checkpoints_in_tmp(tmp_path_factory):
    """The audit MAC key and checkpoint file of this run (never ./ipmo-data); a test that checks
    checkpoints points ``IPMO_AUDIT_CHECKPOINTS`` at a file of its own."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IPMO_AUDIT_KEY", "test-audit-key")
        mp.setenv("IPMO_AUDIT_CHECKPOINTS", str(tmp_path_factory.mktemp("audit") / "cp.jsonl"))
        yield


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.exists():
        pytest.fail(f"../shared is missing (looked in {SHARED})")
    return SHARED


def _sqlite_engine(tmp_path: Path):
    engine = create_store_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    init_store(engine)
    return engine


def _postgres_engine():
    name = f"ipmo_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"no PostgreSQL server: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = create_store_engine(url)
    init_store(engine)

    def drop() -> None:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return engine, drop


@pytest.fixture
def engine(tmp_path):
    eng = _sqlite_engine(tmp_path)
    yield eng
    eng.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_engine(request, tmp_path):
    if request.param == "sqlite":
        eng = _sqlite_engine(tmp_path)
        yield eng
        eng.dispose()
    else:
        eng, drop = _postgres_engine()
        yield eng
        drop()


def seed_sample(engine):
    """Seed the hand-made sample ICS (organisations, five patients, one admission) and the demo
    users into ``engine``; returns it."""
    from ipmo.security.users import seed_demo_users
    from ipmo.store import session_scope
    from ipmo.synth.sample import seed_sample_ics

    with session_scope(engine) as s:
        seed_sample_ics(s)
        seed_demo_users(s)
    return engine


@pytest.fixture
def sample_ics(engine):
    """The hand-made sample ICS (organisations, five patients, one admission) + demo users."""
    return seed_sample(engine)


@pytest.fixture
def cli_store(tmp_path, monkeypatch):
    """For CLI tests: ``IPMO_DATA_DIR`` = ``tmp_path`` holding the default SQLite store, migrated,
    with the sample ICS and the demo users; yields its engine."""
    from ipmo.security.users import seed_demo_users
    from ipmo.store import session_scope
    from ipmo.synth.sample import seed_sample_ics

    monkeypatch.setenv("IPMO_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("IPMO_DATABASE_URL", raising=False)
    engine = create_store_engine(f"sqlite:///{tmp_path / 'ipmo.sqlite3'}")
    init_store(engine)
    with session_scope(engine) as s:
        seed_sample_ics(s)
        seed_demo_users(s)
    yield engine
    engine.dispose()


@pytest.fixture
def app_settings(tmp_path):
    from ipmo.config import Settings

    return Settings(data_dir=tmp_path, database_url="sqlite://", secret_key="test-secret-key")


@pytest.fixture
def app_clock():
    """The clock of the apps ``client_as`` and the browser tests' ``live_server`` make: ``None``
    keeps the real one. A module whose pages read "today" overrides this fixture with a fixed
    moment (``lambda: NOON``) so that no test depends on the day it runs."""
    return None


@pytest.fixture
def client_as(sample_ics, app_settings, app_clock):
    """``client_as("pcn.pharmacist")`` → a TestClient signed in (cookie session) as that demo user.
    ``client_as(None)`` → an anonymous client. The app's clock is ``app_clock`` if set."""
    from fastapi.testclient import TestClient

    from ipmo.security.users import DEMO_PASSWORD
    from ipmo.web.app import create_app

    app = create_app(sample_ics, app_settings)
    if app_clock is not None:
        app.state.clock = app_clock
    clients = []

    def make(username: str | None):
        client = TestClient(app, base_url="http://testserver")
        clients.append(client)
        if username is not None:
            r = sign_in(client, username, DEMO_PASSWORD)
            assert r.status_code == 303, r.text
        return client

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def open_pharmacies(sample_ics):
    """The sample ICS with every pharmacy open whatever the clock says (page tests route
    referrals at the real time)."""
    from sqlalchemy import update

    from ipmo.organisations.models import Organisation, OrgKind
    from ipmo.store import session_scope

    always = {d: [["00:00", "23:59"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    with session_scope(sample_ics) as s:
        s.execute(
            update(Organisation)
            .where(Organisation.kind == OrgKind.PHARMACY)
            .values(opening_hours=always)
        )
    return sample_ics
