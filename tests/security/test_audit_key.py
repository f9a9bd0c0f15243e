"""The audit key lives outside the database: ``IPMO_AUDIT_KEY``, else ``audit.key`` created once in
the data folder (the pattern of ``IPMO_SECRET_KEY``), one key even when workers start at once."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from ipmo.config import audit_key
from ipmo.security import audit
from ipmo.security.models import AuditEvent, AuditHead
from ipmo.store import session_scope


def test_without_the_variable_a_key_file_is_made_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("IPMO_AUDIT_KEY")
    first = audit_key(tmp_path)
    assert len(first) >= 32 and audit_key(tmp_path) == first
    path = tmp_path / "audit.key"
    assert path.read_text() == first and path.stat().st_mode & 0o077 == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.key"]


def test_the_variable_wins_over_the_file(tmp_path, monkeypatch):
    (tmp_path / "audit.key").write_text("from the file")
    monkeypatch.setenv("IPMO_AUDIT_KEY", "from the environment")
    assert audit_key(tmp_path) == "from the environment"


def test_a_worker_that_loses_the_race_takes_the_winners_key(tmp_path, monkeypatch):
    """Workers forked together: another worker creates the file between this one's look and its
    write. Simulated deterministically: the file is there but the look does not see it."""
    monkeypatch.delenv("IPMO_AUDIT_KEY")
    path = tmp_path / "audit.key"
    path.write_text("the winner's key")
    real_exists = Path.exists
    monkeypatch.setattr(Path, "exists", lambda p: False if p == path else real_exists(p))
    assert audit_key(tmp_path) == "the winner's key"
    assert path.read_text() == "the winner's key"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.key"]  # no candidate left over


def test_the_generated_key_is_not_stored_in_the_database(engine, tmp_path, monkeypatch):
    monkeypatch.delenv("IPMO_AUDIT_KEY")
    monkeypatch.delenv("IPMO_AUDIT_CHECKPOINTS")  # the run's file is signed with the run's key
    monkeypatch.setenv("IPMO_DATA_DIR", str(tmp_path))
    with session_scope(engine) as s:
        audit.append(s, username="gp", role_code="gp", org_code="A10001", action="patient.read")
    key = (tmp_path / "audit.key").read_text()
    with engine.connect() as conn:
        stored = repr(conn.execute(select(AuditEvent)).all())
        stored += repr(conn.execute(select(AuditHead)).all())
    assert key not in stored
    with session_scope(engine) as s:
        assert audit.verify(s).ok
