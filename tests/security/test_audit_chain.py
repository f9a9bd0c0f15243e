"""The audit log is a keyed MAC chain with signed checkpoints kept outside the database:
`verify` finds an edited, deleted, truncated, rewound or re-MACed log, on SQLite and PostgreSQL.

The four tampering scenarios of issue 12 each have a test named ``test_scenario_…``; the attacker
may write anything in the database (the append-only guard dropped, as with DDL rights) but has
neither the key nor the checkpoint file."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import datetime

import pytest
from sqlalchemy import delete, event, func, select, text, update
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from ipmo.security import audit
from ipmo.security.models import AuditEvent, AuditHead
from ipmo.store import create_store_engine, init_store, session_scope

from .tamper import drop_append_only_guard

AT = datetime(2026, 3, 2, 9, 30)


@pytest.fixture(autouse=True)
def checkpoints(tmp_path, monkeypatch):
    path = tmp_path / "audit-checkpoints.jsonl"
    monkeypatch.setenv("IPMO_AUDIT_CHECKPOINTS", str(path))
    return path


def _tamper(engine, *statements):
    with engine.begin() as conn:
        drop_append_only_guard(conn)
        for statement in statements:
            conn.execute(statement)


def _fill(engine, n=5, start=0):
    """``n`` entries, each in its own transaction (as n requests would write them)."""
    for i in range(start, start + n):
        with session_scope(engine) as s:
            audit.append(
                s,
                username="gp",
                role_code="gp",
                org_code="A10001",
                action="patient.read",
                patient_nhs_number="9990000018",
                detail={"i": i},
                at=AT,
            )


def _verify(engine, **kw):
    with session_scope(engine) as s:
        return audit.verify(s, **kw)


def _rows(engine):
    with session_scope(engine) as s:
        return s.scalars(select(AuditEvent).order_by(AuditEvent.chain, AuditEvent.chain_seq)).all()


def test_intact_chain_verifies_with_and_without_a_checkpoint(any_engine):
    _fill(any_engine)
    result = _verify(any_engine)
    assert result.ok and result.entries == 5 and result.checkpoints == 0
    audit.checkpoint(any_engine)
    _fill(any_engine, 2, start=5)  # entries after the checkpoint are fine too
    result = _verify(any_engine)
    assert result.ok and result.entries == 7 and result.checkpoints == 1, result.problem


def test_the_key_is_not_in_the_database(any_engine):
    _fill(any_engine, 1)
    with any_engine.connect() as conn:
        dump = json.dumps([list(r) for r in conn.execute(select(AuditEvent))], default=str)
        dump += json.dumps([list(r) for r in conn.execute(select(AuditHead))], default=str)
    assert "test-audit-key" not in dump
    # and the MAC is keyed: the same entry under another key does not verify
    assert not _verify(any_engine, key=b"another key").ok


def test_edited_entry_is_detected(any_engine):
    _fill(any_engine)
    _tamper(any_engine, update(AuditEvent).where(AuditEvent.chain_seq == 3).values(username="x"))
    result = _verify(any_engine)
    assert not result.ok and result.problem.startswith("entry 3 was altered")


def test_deleted_entry_is_detected(any_engine):
    _fill(any_engine)
    _tamper(any_engine, delete(AuditEvent).where(AuditEvent.chain_seq == 2))
    result = _verify(any_engine)
    assert not result.ok and "entry 2 is missing" in result.problem


def test_deleted_newest_entries_are_detected_by_the_head(any_engine):
    _fill(any_engine)
    _tamper(any_engine, delete(AuditEvent).where(AuditEvent.chain_seq >= 4))
    result = _verify(any_engine)
    assert not result.ok and "newest entries were removed" in result.problem


def test_scenario_a_newest_rows_deleted_and_head_rewound(any_engine):
    _fill(any_engine)
    audit.checkpoint(any_engine)
    third = next(r for r in _rows(any_engine) if r.chain_seq == 3)
    _tamper(
        any_engine,
        delete(AuditEvent).where(AuditEvent.chain_seq > 3),
        update(AuditHead).where(AuditHead.id == third.chain).values(seq=3, mac=third.mac),
    )
    result = _verify(any_engine)
    assert not result.ok
    assert "entries were removed" in result.problem and "saw entry 5" in result.problem


def test_scenario_b_all_events_and_the_head_deleted(any_engine):
    _fill(any_engine)
    audit.checkpoint(any_engine)
    _tamper(any_engine, delete(AuditEvent), delete(AuditHead))
    result = _verify(any_engine)
    assert not result.ok and result.entries == 0
    assert "ends at entry 0 but the signed checkpoint" in result.problem


@pytest.mark.parametrize("attacker_mac", ["guessed-key", "sha256"])
def test_scenario_c_entry_rewritten_and_every_later_mac_recomputed(any_engine, attacker_mac):
    _fill(any_engine)
    rows = _rows(any_engine)
    assert [r.chain_seq for r in rows] == [1, 2, 3, 4, 5] and len({r.chain for r in rows}) == 1

    def forge(prev, entry):
        if attacker_mac == "sha256":  # the old unkeyed chain's recipe
            return hashlib.sha256((prev + audit._canonical(entry)).encode()).hexdigest()
        return hmac.new(b"guess", (prev + audit._canonical(entry)).encode(), "sha256").hexdigest()

    statements, prev = [], rows[1].mac
    for r in rows[2:]:
        entry = {f: getattr(r, f) for f in audit._MACED}
        if r.chain_seq == 3:
            entry["username"] = "someone.else"
        mac = forge(prev, entry)
        statements.append(
            update(AuditEvent)
            .where(AuditEvent.seq == r.seq)
            .values(username=entry["username"], prev_mac=prev, mac=mac)
        )
        prev = mac
    statements.append(update(AuditHead).where(AuditHead.id == rows[0].chain).values(mac=prev))
    _tamper(any_engine, *statements)
    result = _verify(any_engine)
    assert not result.ok and result.problem.startswith("entry 3 was altered")


def test_scenario_d_truncate_and_head_deleted(any_engine):
    _fill(any_engine)
    audit.checkpoint(any_engine)
    if any_engine.dialect.name == "postgresql":
        wipe = text("TRUNCATE audit_events")
    else:  # SQLite has no TRUNCATE; an unqualified DELETE is its truncate optimisation
        wipe = text("DELETE FROM audit_events")
    _tamper(any_engine, wipe, delete(AuditHead))
    result = _verify(any_engine)
    assert not result.ok and "ends at entry 0 but the signed checkpoint" in result.problem


def test_a_forged_checkpoint_line_is_detected(any_engine, checkpoints):
    _fill(any_engine)
    audit.checkpoint(any_engine)
    line = json.loads(checkpoints.read_text())
    line["chains"] = {c: [2, v[1]] for c, v in line["chains"].items()}  # "only 2 entries"
    checkpoints.write_text(json.dumps(line) + "\n")
    result = _verify(any_engine)
    assert not result.ok and "is not signed with the audit key" in result.problem


def test_checkpoints_are_written_every_n_committed_entries(any_engine, monkeypatch, checkpoints):
    monkeypatch.setenv("IPMO_AUDIT_CHECKPOINT_EVERY", "3")
    _fill(any_engine, 4)
    lines = [json.loads(x) for x in checkpoints.read_text().splitlines()]
    assert len(lines) == 1 and lines[0]["entries"] == 3
    rows = _rows(any_engine)
    _tamper(  # cut back to 2 entries and rewind the head: the periodic checkpoint saw 3
        any_engine,
        delete(AuditEvent).where(AuditEvent.chain_seq > 2),
        update(AuditHead).values(seq=2, mac=rows[1].mac),
    )
    result = _verify(any_engine)
    assert not result.ok and "saw entry 3" in result.problem


def test_a_refusal_is_committed_although_the_business_transaction_rolls_back(any_engine):
    class Refused(Exception):
        pass

    with pytest.raises(Refused), session_scope(any_engine) as s:
        audit.append(s, username="gp", role_code="gp", org_code="A10001", action="read")
        audit.flush(s)  # this transaction holds the chain's head row when it rolls back
        audit.append(
            s,
            username="gp",
            role_code="gp",
            org_code="A10001",
            action="patient.read",
            outcome="refused",
            patient_nhs_number="9990000026",
        )
        raise Refused
    rows = _rows(any_engine)
    assert [(r.action, r.outcome) for r in rows] == [("patient.read", "refused")]
    assert _verify(any_engine).ok


def test_a_session_closed_without_commit_keeps_its_refusals_only(any_engine):
    with Session(any_engine) as s:
        audit.append(s, username="gp", role_code="gp", org_code="A10001", action="read")
        audit.append(
            s, username="gp", role_code="gp", org_code="A10001", action="x", outcome="refused"
        )
    assert [r.action for r in _rows(any_engine)] == ["x"]


def test_append_committed_writes_at_once(any_engine):
    audit.append_committed(
        any_engine, username="gp", role_code="gp", org_code="A10001", action="tried"
    )
    assert [r.action for r in _rows(any_engine)] == ["tried"]


def test_concurrent_appends_keep_every_chain_consecutive(any_engine):
    from concurrent.futures import ThreadPoolExecutor

    def one(i):
        with session_scope(any_engine) as s:
            audit.append(s, username=f"u{i}", role_code="gp", org_code="A10001", action="x")
            time.sleep(0.005)  # the rest of the request

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(40)))
    rows = _rows(any_engine)
    assert sorted(r.username for r in rows) == sorted(f"u{i}" for i in range(40))
    for chain in {r.chain for r in rows}:
        assert [r.chain_seq for r in rows if r.chain == chain] == list(
            range(1, 1 + sum(r.chain == chain for r in rows))
        )
    audit.checkpoint(any_engine)
    assert _verify(any_engine).ok


def test_sqlite_lock_wait_beyond_the_busy_timeout_is_retried_not_an_error(tmp_path):
    engine = create_store_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    init_store(engine)

    @event.listens_for(engine, "connect")
    def short_busy_timeout(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA busy_timeout=100")

    engine.dispose()  # new connections get the short timeout
    locked, release = threading.Event(), threading.Event()

    def hold_the_write_lock():
        with engine.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            locked.set()
            release.wait(5)
            conn.exec_driver_sql("COMMIT")

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    locked.wait(5)
    threading.Timer(0.4, release.set).start()  # four busy timeouts long
    with session_scope(engine) as s:
        audit.append(s, username="gp", role_code="gp", org_code="A10001", action="x")
    holder.join()
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 1
    engine.dispose()


@pytest.mark.parametrize(
    "statement",
    [
        update(AuditEvent).where(AuditEvent.chain_seq == 1).values(outcome="refused"),
        delete(AuditEvent).where(AuditEvent.chain_seq == 1),
        "truncate",
    ],
)
def test_the_database_refuses_to_change_history(any_engine, statement):
    _fill(any_engine, 2)
    if statement == "truncate":
        if any_engine.dialect.name != "postgresql":
            statement = delete(AuditEvent)  # SQLite's nearest: delete everything
        else:
            statement = text("TRUNCATE audit_events")
    with pytest.raises(DatabaseError, match="append-only"), any_engine.begin() as conn:
        conn.execute(statement)
    assert _verify(any_engine).ok


def test_a_process_writes_a_checkpoint_when_it_exits(engine, checkpoints):
    import subprocess
    import sys

    url = str(engine.url)
    script = (
        "from ipmo.security import audit\n"
        "from ipmo.store import create_store_engine, session_scope\n"
        f"engine = create_store_engine({url!r})\n"
        "for i in range(3):\n"
        "    with session_scope(engine) as s:\n"
        "        audit.append(s, username='gp', role_code='gp', org_code='A10001', action='x')\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    lines = [json.loads(x) for x in checkpoints.read_text().splitlines()]
    assert [line["entries"] for line in lines] == [3]
    rows = _rows(engine)
    _tamper(  # cut the newest entry and rewind the head: the exit checkpoint saw it
        engine,
        delete(AuditEvent).where(AuditEvent.chain_seq == 3),
        update(AuditHead).values(seq=2, mac=rows[1].mac),
    )
    result = _verify(engine)
    assert not result.ok and "saw entry 3" in result.problem


def test_entries_queued_inside_savepoints_follow_the_savepoint(any_engine):
    def entry(action, **kw):
        return dict(username="gp", role_code="gp", org_code="A10001", action=action, **kw)

    with Session(any_engine) as s:
        with s.begin_nested():  # released: written at the outer commit
            audit.append(s, **entry("in-released-savepoint"))
        s.commit()
    with Session(any_engine) as s:
        s.begin_nested()
        audit.append(s, **entry("commit-while-nested"))
        s.commit()
    with Session(any_engine) as s:
        audit.append(s, **entry("before-savepoint"))
        audit.flush(s)
        savepoint = s.begin_nested()
        audit.append(s, **entry("in-rolled-back-savepoint"))  # undone with the savepoint's work
        audit.append(s, **entry("refused-in-rolled-back-savepoint", outcome="refused"))
        with pytest.raises(RuntimeError, match="inside a savepoint"):
            audit.flush(s)  # would be undone by the savepoint's rollback
        savepoint.rollback()
        with pytest.raises(ValueError), s.begin_nested():  # the context-manager form
            audit.append(s, **entry("in-failed-savepoint"))
            raise ValueError
        audit.append(s, **entry("after-savepoints"))
        s.commit()
    assert [r.action for r in _rows(any_engine)] == [
        "in-released-savepoint",
        "commit-while-nested",
        "before-savepoint",
        "refused-in-rolled-back-savepoint",
        "after-savepoints",
    ]
    assert _verify(any_engine).ok


def test_a_web_worker_writes_a_checkpoint_at_shutdown(cli_store, checkpoints):
    """uvicorn ends workers with SIGTERM (no atexit): the app's lifespan writes the checkpoint."""
    import asyncio
    import concurrent.futures

    from ipmo.web.server import worker_app

    app = worker_app()
    _fill(cli_store, 2)

    async def serve_then_stop():
        async with app.router.lifespan_context(app):
            pass

    # In a thread of its own: a browser test earlier in the same xdist worker may leave
    # Playwright's event loop running in the main thread, where asyncio.run() refuses to start.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, serve_then_stop()).result()
    lines = [json.loads(x) for x in checkpoints.read_text().splitlines()]
    assert [line["entries"] for line in lines] == [2]
    assert lines[0]["store"] == audit.store_id(cli_store)
