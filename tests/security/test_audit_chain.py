"""The audit log is hash-chained: `verify` finds an edited, deleted or truncated entry."""

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DatabaseError

from ipmo.security import audit
from ipmo.security.models import AuditEvent
from ipmo.security.tamper import drop_append_only_guard
from ipmo.store import session_scope


def _tamper(engine, statement):
    with engine.begin() as conn:
        drop_append_only_guard(conn)
        conn.execute(statement)


def _fill(engine, n=5):
    with session_scope(engine) as s:
        for i in range(n):
            audit.append(
                s,
                username="gp",
                role_code="gp",
                org_code="A10001",
                action="patient.read",
                patient_nhs_number="9990000018",
                detail={"i": i},
            )


def test_intact_chain_verifies(any_engine):
    _fill(any_engine)
    with session_scope(any_engine) as s:
        result = audit.verify(s)
    assert result.ok and result.entries == 5


def test_edited_entry_is_detected(any_engine):
    _fill(any_engine)
    _tamper(any_engine, update(AuditEvent).where(AuditEvent.seq == 3).values(username="x"))
    with session_scope(any_engine) as s:
        result = audit.verify(s)
    assert not result.ok and result.problem == "entry 3 was altered"


def test_deleted_entry_is_detected(any_engine):
    _fill(any_engine)
    _tamper(any_engine, delete(AuditEvent).where(AuditEvent.seq == 2))
    with session_scope(any_engine) as s:
        result = audit.verify(s)
    assert not result.ok and "entry 2 is missing" in result.problem


def test_deleted_newest_entries_are_detected(any_engine):
    _fill(any_engine)
    _tamper(any_engine, delete(AuditEvent).where(AuditEvent.seq >= 4))
    with session_scope(any_engine) as s:
        result = audit.verify(s)
    assert not result.ok and "newest entries were removed" in result.problem


def test_concurrent_appends_get_consecutive_sequence_numbers(any_engine):
    from concurrent.futures import ThreadPoolExecutor

    def one(i):
        with session_scope(any_engine) as s:
            audit.append(s, username=f"u{i}", role_code="gp", org_code="A10001", action="x")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(20)))
    with session_scope(any_engine) as s:
        seqs = s.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
        assert seqs == list(range(1, 21))
        assert audit.verify(s).ok


@pytest.mark.parametrize(
    "statement",
    [
        update(AuditEvent).where(AuditEvent.seq == 1).values(outcome="refused"),
        delete(AuditEvent).where(AuditEvent.seq == 1),
    ],
)
def test_the_database_refuses_to_change_history(any_engine, statement):
    _fill(any_engine, 2)
    with pytest.raises(DatabaseError, match="append-only"), any_engine.begin() as conn:
        conn.execute(statement)
    with session_scope(any_engine) as s:
        assert audit.verify(s).ok
