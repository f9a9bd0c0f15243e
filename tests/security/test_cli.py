"""The CLI's security commands against a real store in a temporary data folder."""

from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from ipmo.cli import app
from ipmo.security.models import AuditEvent
from ipmo.store import session_scope

runner = CliRunner()


def test_users_token_prints_a_working_token(cli_store):
    from fastapi.testclient import TestClient

    from ipmo.config import get_settings
    from ipmo.web.app import create_app

    result = runner.invoke(app, ["users", "token", "gp"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    client = TestClient(create_app(cli_store, get_settings()))
    assert (
        client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()["username"]
        == "gp"
    )


def test_unknown_user_is_one_line_error(cli_store):
    result = runner.invoke(app, ["users", "token", "nobody"])
    assert result.exit_code == 2 and "no active user 'nobody'" in result.output


def test_create_user_with_unknown_organisation_is_refused(cli_store):
    result = runner.invoke(
        app,
        [
            "users",
            "create",
            "x",
            "--role",
            "gp",
            "--org",
            "ZZZ99",
            "--name",
            "X",
            "--password",
            "pw",
        ],
    )
    assert result.exit_code == 2 and "unknown organisation code 'ZZZ99'" in result.output


def test_audit_verify_passes_then_detects_tampering(cli_store):
    from ipmo.security import audit

    from .tamper import drop_append_only_guard

    for _ in range(3):
        with session_scope(cli_store) as s:
            audit.append(s, username="gp", role_code="gp", org_code="A10001", action="patient.read")
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "3 entries" in ok.output and "0 earlier checkpoint" in ok.output
    again = runner.invoke(app, ["audit", "verify"])
    assert again.exit_code == 0 and "1 earlier checkpoint(s) matched" in again.output

    with cli_store.begin() as conn:
        drop_append_only_guard(conn)
        conn.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(action="patient.write"))
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1 and "entry 2 was altered" in bad.output


def test_audit_verify_catches_a_rewound_log_by_its_checkpoint(cli_store):
    from ipmo.security import audit
    from ipmo.security.models import AuditHead

    from .tamper import drop_append_only_guard

    for _ in range(3):
        with session_scope(cli_store) as s:
            audit.append(s, username="gp", role_code="gp", org_code="A10001", action="patient.read")
    first = runner.invoke(app, ["audit", "verify"])  # writes a checkpoint
    assert first.exit_code == 0 and "warning: no earlier checkpoint of this store" in first.output
    cron = runner.invoke(app, ["audit", "checkpoint"])
    assert cron.exit_code == 0 and "1 chain(s), 3 entries" in cron.output
    with cli_store.begin() as conn:
        drop_append_only_guard(conn)
        conn.execute(delete(AuditEvent).where(AuditEvent.chain_seq == 3))
        second = conn.execute(select(AuditEvent.mac).where(AuditEvent.chain_seq == 2)).scalar()
        conn.execute(update(AuditHead).values(seq=2, mac=second))
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1 and "saw entry 3" in bad.output


def test_wrong_database_url_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("IPMO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("IPMO_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 2
    assert result.output.startswith("error: cannot connect to the database")
    assert len(result.output.strip().splitlines()) == 1
