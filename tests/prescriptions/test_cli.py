"""``ipmo prescriptions ingest DIR`` over NHS England's example messages: every file is read or
refused with its reason; a second run only finds replays."""

from __future__ import annotations

from sqlalchemy import func, select
from typer.testing import CliRunner

from ipmo.cli import app
from ipmo.prescriptions.models import EpsMessage, Prescription
from ipmo.store import session_scope

runner = CliRunner()


def test_ingest_the_shared_messages_then_replay(cli_store, eps):
    first = runner.invoke(app, ["prescriptions", "ingest", str(eps.MESSAGES)])
    assert first.exit_code == 0, first.output
    files = len(list(eps.MESSAGES.glob("*.json")))
    head = first.output.splitlines()[0]
    # 31 files: 16 applied, 9 waiting for their prescription (8 of them applied when it came),
    # 6 refused: a Claim (not read yet) and 5 that reuse message id 46183abc… with other content
    assert head == (
        "read 25 (applied 16, pending 9, replays 0, pending applied later 8); refused 6"
    )
    assert files == 31
    assert (
        "refused primary-care_acute_nominated-pharmacy_medical-prescriber_2-Claim" in first.output
    )
    with session_scope(cli_store) as s:
        assert s.scalar(select(func.count()).select_from(Prescription)) == 16
        waiting = s.scalars(select(EpsMessage.event).where(EpsMessage.state == "pending")).all()
    assert waiting == ["dispense-notification"]  # its prescription is not among the examples
    again = runner.invoke(app, ["prescriptions", "ingest", str(eps.MESSAGES)])
    assert again.output.splitlines()[0].startswith("read 25 (applied 0, pending 0, replays 25")


def test_ingest_refuses_a_missing_folder(cli_store, tmp_path):
    result = runner.invoke(app, ["prescriptions", "ingest", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "is not a folder" in result.output
