"""Referral test helpers: the sample ICS on any engine, a fixed clock and principals."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from tests.web_session import sign_in

from ipmo.security.models import User
from ipmo.security.principal import Principal
from ipmo.store import session_scope

# Wednesday 18 November 2026, 10:00 UTC (= 10:00 in London, GMT): every sample pharmacy is open.
WED_10AM = datetime(2026, 11, 18, 10, 0)
ADA = "9990000018"  # A10001, nominated FA001 (all services, long hours)
BERT = "9990000026"  # A10001, nominated FA002 (Pharmacy First + DMS, weekdays)
DEV = "9990000042"  # A20001, nominated FB001, admitted to RXX
EVE = "9990000050"  # A20001, no nomination


def _seed(engine):
    from ipmo.security.users import seed_demo_users
    from ipmo.synth.sample import seed_sample_ics

    with session_scope(engine) as s:
        seed_sample_ics(s)
        seed_demo_users(s)
    return engine


@pytest.fixture(scope="module")
def _ics_store(tmp_path_factory):
    from ipmo.store import create_store_engine, init_store

    engine = create_store_engine(f"sqlite:///{tmp_path_factory.mktemp('ics') / 'store.sqlite3'}")
    init_store(engine)
    yield _seed(engine)
    engine.dispose()


@pytest.fixture
def ics(_ics_store):
    """The sample ICS on SQLite (logic tests): one store per module, referrals removed and the
    organisations put back after each test. The audit log is append-only, so it keeps growing."""
    yield _ics_store
    from sqlalchemy import delete, update

    from ipmo.organisations.models import Organisation
    from ipmo.referrals.models import (
        DischargeItem,
        OutboxMessage,
        OutcomeNotice,
        ReceivedMessage,
        Referral,
        ReferralEvent,
    )

    with session_scope(_ics_store) as s:
        for model in (OutcomeNotice, OutboxMessage, ReceivedMessage, ReferralEvent, DischargeItem):
            s.execute(delete(model))
        s.execute(delete(Referral).where(Referral.parent_id.is_not(None)))
        s.execute(delete(Referral))
        s.execute(
            update(Organisation)
            .where(Organisation.kind == "practice")
            .values(latitude=None, longitude=None)
        )


@pytest.fixture
def ics_any(any_engine):
    """The sample ICS on SQLite and PostgreSQL (tests whose guarantee depends on the store)."""
    return _seed(any_engine)


def principal(session, username: str) -> Principal:
    return Principal.from_user(session.scalar(select(User).where(User.username == username)))


class ModuleApp:
    """One migrated store + app per test module, signed-in clients cached per user."""

    def __init__(self, tmp):
        from fastapi.testclient import TestClient  # noqa: F401

        from ipmo.config import Settings
        from ipmo.security.users import seed_demo_users
        from ipmo.store import create_store_engine, init_store
        from ipmo.synth.sample import seed_sample_ics
        from ipmo.web.app import create_app

        self.engine = create_store_engine(f"sqlite:///{tmp / 'store.sqlite3'}")
        init_store(self.engine)
        with session_scope(self.engine) as s:
            seed_sample_ics(s)
            seed_demo_users(s)
        from .apihelpers import always_open

        always_open(self.engine, "FA001", "FB001")
        self.app = create_app(
            self.engine, Settings(data_dir=tmp, database_url="sqlite://", secret_key="k")
        )
        self._clients: dict = {}

    def client(self, username: str):
        from fastapi.testclient import TestClient

        from ipmo.security.users import DEMO_PASSWORD

        if username not in self._clients:
            c = TestClient(self.app)
            r = sign_in(c, username, DEMO_PASSWORD)
            assert r.status_code == 303
            self._clients[username] = c
        return self._clients[username]

    def reset(self) -> None:
        from sqlalchemy import delete

        from ipmo.referrals.models import (
            OutboxMessage,
            OutcomeNotice,
            ReceivedMessage,
            Referral,
            ReferralEvent,
        )

        with session_scope(self.engine) as s:
            for model in (OutcomeNotice, OutboxMessage, ReceivedMessage, ReferralEvent):
                s.execute(delete(model))
            s.execute(delete(Referral).where(Referral.parent_id.is_not(None)))
            s.execute(delete(Referral))


@pytest.fixture(scope="module")
def mod(tmp_path_factory):
    app = ModuleApp(tmp_path_factory.mktemp("referrals"))
    yield app
    for c in app._clients.values():
        c.close()
    app.engine.dispose()


@pytest.fixture
def sample_ics(mod):
    """Overrides the global fixture in this folder: the module's store, emptied after each test
    (the audit log is append-only, so tests read entries after ``mod.audit_mark``)."""
    from sqlalchemy import func

    from ipmo.security.models import AuditEvent

    with session_scope(mod.engine) as s:
        mod.audit_mark = s.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0)))
    yield mod.engine
    mod.reset()
