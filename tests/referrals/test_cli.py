"""``ipmo referrals send | list | escalate-overdue | worker`` against a real store."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from ipmo.cli import app
from ipmo.referrals.models import Referral
from ipmo.referrals.new_referrals import NewReferral, create_referral
from ipmo.referrals.outcome_details import ReferralOutcome
from ipmo.referrals.state_changes import record_outcome
from ipmo.store import session_scope, utcnow

from .apihelpers import always_open, message

runner = CliRunner()


@pytest.fixture
def store(cli_store):
    always_open(cli_store, "FA001", "FB001")
    return cli_store


def test_send_twice_list_and_sweep(store, tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(message(receiver="FA001")))
    first = runner.invoke(app, ["referrals", "send", str(path), "--as", "nhs111"])
    assert first.exit_code == 0, first.output
    reference = first.output.split()[0]
    again = runner.invoke(app, ["referrals", "send", str(path), "--as", "nhs111"])
    assert again.exit_code == 0 and f"already received: {reference}" in again.output
    listed = runner.invoke(app, ["referrals", "list", "--pharmacy", "FA001"])
    assert reference in listed.output and "9990000018" not in listed.output  # no identifiers
    assert (
        reference not in runner.invoke(app, ["referrals", "list", "--status", "completed"]).output
    )
    with session_scope(store) as s:  # make it overdue
        s.execute(update(Referral).values(accept_by=utcnow() - timedelta(minutes=1)))
    swept = runner.invoke(app, ["referrals", "escalate-overdue"])
    assert swept.exit_code == 0 and "1 scanned, 1 re-routed" in swept.output
    with session_scope(store) as s:
        assert s.scalar(select(Referral.target_org_code)) == "FB001"
    once = runner.invoke(app, ["referrals", "worker", "--once"])
    assert once.exit_code == 0 and "0 scanned" in once.output


@pytest.mark.parametrize(
    "args, text",
    [
        (["list", "--status", "bogus"], "unknown status"),
        (["send", "{file}", "--as", "analyst"], "cannot send referrals"),
        (["send", "{file}", "--as", "nobody"], "no active user"),
        (["send", "{bad}", "--as", "nhs111"], "422 not-supported: unknown service"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(store, tmp_path, args, text):
    (tmp_path / "m.json").write_text(json.dumps(message()))
    (tmp_path / "bad.json").write_text(json.dumps(message(service="hair-cut")))
    argv = [a.format(file=tmp_path / "m.json", bad=tmp_path / "bad.json") for a in args]
    result = runner.invoke(app, ["referrals", *argv])
    assert result.exit_code == 2 and text in result.output
    with session_scope(store) as s:
        assert s.scalar(select(Referral.id)) is None


def test_worker_writes_update_record_messages_for_the_gp_into_the_itk_outbox(store, tmp_path):
    from ipmo.security.models import User
    from ipmo.security.principal import Principal

    with session_scope(store) as s:
        who = {
            u.username: Principal.from_user(u)
            for u in s.scalars(
                select(User).where(User.username.in_(["nhs111", "community.pharmacist"]))
            )
        }
        ref = create_referral(
            s,
            who["nhs111"],
            NewReferral(
                service="pharmacy-first",
                nhs_number="9990000018",
                patient_choice="FA001",
                no_relationship_reason="NHS 111 caller",
            ),
        )
        record_outcome(
            s, who["community.pharmacist"], ref, ReferralOutcome("advice-given", note="Rest")
        )
    outbox = tmp_path / "mesh"
    once = runner.invoke(app, ["referrals", "worker", "--once", "--itk-outbox", str(outbox)])
    assert once.exit_code == 0 and "2 delivered" in once.output, once.output
    written = list(outbox.glob("*/out/*.json"))
    assert [p.parent.parent.name for p in written] == ["A10001"]  # Ada's practice, not NHS 111
    assert "ITK014M" in written[0].read_text()
