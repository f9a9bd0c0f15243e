"""The audit log is hash-chained: `verify` finds an edited, deleted or truncated entry."""

from sqlalchemy import delete, select, update

from ipmo.security import audit
from ipmo.security.models import AuditEvent
from ipmo.store import session_scope


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
    with session_scope(any_engine) as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(username="someone-else"))
    with session_scope(any_engine) as s:
        result = audit.verify(s)
    assert not result.ok and result.problem == "entry 3 was altered"


def test_deleted_entry_is_detected(any_engine):
    _fill(any_engine)
    with session_scope(any_engine) as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    with session_scope(any_engine) as s:
        result = audit.verify(s)
    assert not result.ok and "entry 2 is missing" in result.problem


def test_deleted_newest_entries_are_detected(any_engine):
    _fill(any_engine)
    with session_scope(any_engine) as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq >= 4))
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
