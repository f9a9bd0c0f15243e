"""Issue 20 item 4: online backup of a live SQLite store, restore elsewhere, counts and audit."""

from __future__ import annotations

import json
import threading
from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from ipmo.cli import app
from ipmo.security import audit
from ipmo.security.models import AuditEvent

AT = datetime(2026, 3, 2, 9, 0)


@pytest.fixture
def keys_in_data_folder(monkeypatch):
    """The defaults an install uses: audit.key and audit-checkpoints.jsonl in IPMO_DATA_DIR
    (conftest points both elsewhere for other tests); requested before ``cli_store``."""
    monkeypatch.delenv("IPMO_AUDIT_KEY")
    monkeypatch.delenv("IPMO_AUDIT_CHECKPOINTS")


def _writer(engine, stop: threading.Event, written: list[int]) -> None:
    n = 0
    while not stop.is_set():
        with Session(engine) as s:
            audit.append(
                s,
                username="pcn.pharmacist",
                role_code="pharmacist",
                org_code="U12345",
                action="record.read",
                detail={"n": n},
                at=AT,
            )
            s.commit()
        n += 1
        written.append(n)


def test_backup_of_a_store_under_writes_restores_with_counts_and_a_verifying_audit_chain(
    keys_in_data_folder, cli_store, tmp_path, monkeypatch
):
    src_dir = tmp_path
    (src_dir / "analytics").mkdir()
    (src_dir / "analytics" / "measures.parquet").write_bytes(b"PAR1 not really")
    runner = CliRunner()
    with Session(cli_store) as s:
        audit.append(
            s, username="gp", role_code="gp", org_code="U12345", action="record.read", at=AT
        )
        s.commit()
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0  # a first checkpoint
    assert (src_dir / "audit-checkpoints.jsonl").exists()
    stop, written = threading.Event(), []
    thread = threading.Thread(target=_writer, args=(cli_store, stop, written))
    thread.start()
    try:
        while len(written) < 20:  # the writer is really writing before the backup starts
            threading.Event().wait(0.01)
        dest = tmp_path / "backups" / "b1"
        result = runner.invoke(app, ["db", "backup", str(dest), "--include-keys"])
        during = len(written)
        while len(written) < during + 20:  # and goes on writing after it
            threading.Event().wait(0.01)
    finally:
        stop.set()
        thread.join()
    assert result.exit_code == 0, result.output
    manifest = json.loads((dest / "manifest.json").read_text())
    live = cli_store.connect()
    with live:
        live_count = live.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    # a snapshot mid-stream: more than before the writer started, fewer than at the end
    assert 20 <= manifest["tables"]["audit_events"] < live_count
    assert (dest / "audit.key").exists() and (dest / "analytics" / "measures.parquet").exists()

    other = tmp_path / "elsewhere"
    monkeypatch.setenv("IPMO_DATA_DIR", str(other))
    result = runner.invoke(app, ["db", "restore", str(dest), "--include-keys"])
    assert result.exit_code == 0, result.output
    from ipmo.store.backup import table_counts

    assert table_counts(other / "ipmo.sqlite3") == manifest["tables"]
    assert (other / "audit.key").read_text() == (src_dir / "audit.key").read_text()
    assert (other / "analytics" / "measures.parquet").read_bytes() == b"PAR1 not really"
    assert (other / "audit-checkpoints.jsonl").read_text() == (
        dest / "audit-checkpoints.jsonl"
    ).read_text()
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert f"{manifest['tables']['audit_events']} entries" in verified.output


def test_restore_refuses_to_overwrite_and_a_damaged_backup_changes_nothing(
    keys_in_data_folder, cli_store, tmp_path, monkeypatch
):
    runner = CliRunner()
    dest = tmp_path / "b"
    assert runner.invoke(app, ["db", "backup", str(dest)]).exit_code == 0
    assert not (dest / "audit.key").exists()  # keys only with --include-keys
    refused = runner.invoke(app, ["db", "restore", str(dest)])
    assert refused.exit_code == 2 and "--force" in refused.output

    manifest = json.loads((dest / "manifest.json").read_text())
    manifest["tables"]["audit_events"] += 1
    (dest / "manifest.json").write_text(json.dumps(manifest))
    other = tmp_path / "other"
    monkeypatch.setenv("IPMO_DATA_DIR", str(other))
    damaged = runner.invoke(app, ["db", "restore", str(dest)])
    assert damaged.exit_code == 2 and "damaged" in damaged.output
    assert not (other / "ipmo.sqlite3").exists()


@pytest.fixture
def two_postgres_databases(tmp_path, monkeypatch):
    """A live PostgreSQL store (the source) and an empty database to restore into."""
    import uuid

    from sqlalchemy import create_engine, text
    from tests.conftest import PG_ADMIN_URL

    from ipmo.store import create_store_engine, init_store

    names = [f"ipmo_test_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server
        import os

        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"no PostgreSQL server: {exc}")
    urls = [PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{n}" for n in names]
    source = create_store_engine(urls[0])
    init_store(source)
    monkeypatch.setenv("IPMO_AUDIT_CHECKPOINTS", str(tmp_path / "source-checkpoints.jsonl"))
    yield source, urls
    source.dispose()
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.postgres
def test_postgres_backup_under_writes_restores_elsewhere_with_exact_counts_and_the_audit_chain(
    two_postgres_databases, tmp_path, monkeypatch
):
    """pg_dump of one exported snapshot, the manifest's counts read in that snapshot: exact
    although the writer never stops; pg_restore into another database matches them, and the
    audit chain verifies there with the backed-up checkpoints."""
    source, (source_url, target_url) = two_postgres_databases
    monkeypatch.setenv("IPMO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IPMO_DATABASE_URL", source_url)
    runner = CliRunner()
    with Session(source) as s:
        audit.append(
            s, username="gp", role_code="gp", org_code="U12345", action="record.read", at=AT
        )
        s.commit()
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0  # a first checkpoint
    stop, written = threading.Event(), []
    thread = threading.Thread(target=_writer, args=(source, stop, written))
    thread.start()
    try:
        while len(written) < 20:
            threading.Event().wait(0.01)
        dest = tmp_path / "backups" / "pg1"
        result = runner.invoke(app, ["db", "backup", str(dest)])
        during = len(written)
        while len(written) < during + 20:
            threading.Event().wait(0.01)
    finally:
        stop.set()
        thread.join()
    assert result.exit_code == 0, result.output
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["engine"] == "postgresql" and (dest / "ipmo.dump").exists()
    with source.connect() as live:
        live_count = live.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    assert 20 <= manifest["tables"]["audit_events"] < live_count  # a snapshot mid-stream

    monkeypatch.setenv("IPMO_DATABASE_URL", target_url)
    monkeypatch.setenv("IPMO_DATA_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("IPMO_AUDIT_CHECKPOINTS", str(tmp_path / "target-checkpoints.jsonl"))
    result = runner.invoke(app, ["db", "restore", str(dest)])
    assert result.exit_code == 0, result.output
    from sqlalchemy import create_engine

    from ipmo.store.backup import pg_table_counts

    target = create_engine(target_url)
    with target.connect() as conn:
        assert pg_table_counts(conn) == manifest["tables"]
    target.dispose()
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert f"{manifest['tables']['audit_events']} entries" in verified.output
    # restoring again over data is refused without --force, and changes nothing
    again = runner.invoke(app, ["db", "restore", str(dest)])
    assert again.exit_code != 0 and "--force" in again.output
