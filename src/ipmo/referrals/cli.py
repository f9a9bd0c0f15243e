"""``ipmo referrals …``: send a message file, list, the overdue sweep and the worker loop."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import typer

from ipmo.cli_support import fail, store_engine

app = typer.Typer(
    help="Referrals into community pharmacy and their outcomes.", no_args_is_help=True
)


def _principal(session, username: str):
    from sqlalchemy import select

    from ipmo.security.models import User
    from ipmo.security.principal import Principal
    from ipmo.security.roles import Activity

    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        fail(f"no active user {username!r}")
    principal = Principal.from_user(user)
    if not principal.can(Activity.REFERRAL_SEND):
        fail(f"{username}'s role ({principal.role.title}) cannot send referrals")
    return principal


@app.command("send")
def send(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="a BaRS message Bundle"),
    as_user: str = typer.Option(..., "--as", help="the sending user (role with referral.send)"),
) -> None:
    """Receive a referral message from FILE, exactly as POST /fhir/R4/$process-message would."""
    from ipmo.fhir.outcome import FhirError
    from ipmo.referrals.message_receipt import receive
    from ipmo.store import session_scope

    engine = store_engine()
    try:
        with session_scope(engine) as s:
            receipt = receive(s, _principal(s, as_user), file.read_bytes())
            ref = receipt.referral
            if receipt.replay:
                line = f"already received: {ref.reference} ({ref.status})"
            else:
                line = f"{ref.reference} {ref.service} → {ref.target_org_code} ({ref.status})"
    except FhirError as exc:
        fail(f"{exc.status} {exc.code}: {exc.diagnostics}")
    typer.echo(line)


@app.command("list")
def list_(
    status: str = typer.Option(None, help="Task status, e.g. requested, accepted, completed"),
    pharmacy: str = typer.Option(None, help="ODS code of the receiving pharmacy"),
    limit: int = typer.Option(50, min=1),
) -> None:
    """List referrals (operator view: no patient identifiers are printed)."""
    from rich.console import Console
    from rich.table import Table
    from sqlalchemy import select

    from ipmo.referrals.lifecycle import Status
    from ipmo.referrals.models import Referral
    from ipmo.store import session_scope

    if status and status not in {s.value for s in Status}:
        fail(f"unknown status {status!r}; use one of: {', '.join(s.value for s in Status)}")
    table = Table("reference", "service", "status", "outcome", "from", "to", "created", "accept by")
    with session_scope(store_engine()) as s:
        q = select(Referral).order_by(Referral.created_at.desc()).limit(limit)
        if status:
            q = q.where(Referral.status == status)
        if pharmacy:
            q = q.where(Referral.target_org_code == pharmacy)
        for r in s.scalars(q):
            table.add_row(
                r.reference,
                r.service,
                r.status,
                r.business_status or "",
                r.sender_org_code,
                r.target_org_code or "",
                f"{r.created_at:%Y-%m-%d %H:%M}",
                f"{r.accept_by:%Y-%m-%d %H:%M}",
            )
    Console(width=140).print(table)


ITK_OUTBOX = typer.Option(
    None,
    envvar="IPMO_ITK_OUTBOX",
    help="also write GP Connect Update Record (ITK3) messages for GP practices into this MESH "
    "client outbox folder (<DIR>/<practice ODS>/out/)",
)


def sweep_once(engine, itk_outbox: Path | None = None) -> str:
    from ipmo.config import get_settings
    from ipmo.hooks import offered_map
    from ipmo.referrals.outbox import deliver_pending, local_inbox
    from ipmo.referrals.overdue import escalate_overdue
    from ipmo.referrals.update_record import itk_folder_transport
    from ipmo.security.sessions import prune_sessions
    from ipmo.store import session_scope, utcnow

    with session_scope(engine) as s:
        report = escalate_overdue(s)
    with session_scope(engine) as s:  # the worker also clears dead browser-session rows
        lifetime = timedelta(seconds=get_settings().token_ttl_seconds)
        pruned = prune_sessions(s, utcnow(), lifetime)
    transport = itk_folder_transport(itk_outbox) if itk_outbox else local_inbox
    sent = deliver_pending(engine, transport)
    line = (
        f"overdue: {report.scanned} scanned, {report.rerouted} re-routed, {report.returned} "
        f"returned to referrer, {report.conflicts} skipped (changed meanwhile); outcomes: "
        f"{sent.delivered} delivered, {sent.failed} to retry; sessions: {pruned} ended or "
        "expired deleted"
    )
    if itk_outbox:  # other domains' queued MESH messages (e.g. Pharmacy First Update Records)
        for name, deliver in sorted(offered_map("OUTBOX_DELIVERIES").items()):
            done = deliver(engine, itk_outbox)
            line += f"; {name}: {done.delivered} delivered, {done.failed} to retry"
    return line


@app.command("escalate-overdue")
def escalate_overdue_cmd(itk_outbox: Path | None = ITK_OUTBOX) -> None:
    """Re-route or return every referral not accepted by its deadline, then deliver outcomes."""
    typer.echo(sweep_once(store_engine(), itk_outbox))


@app.command("worker")
def worker(
    interval: int = typer.Option(60, min=1, help="seconds between sweeps"),
    once: bool = typer.Option(False, help="run one sweep and stop"),
    itk_outbox: Path | None = ITK_OUTBOX,
) -> None:
    """The background worker: the overdue sweep and outbox delivery every INTERVAL seconds."""
    engine = store_engine()
    while True:
        typer.echo(sweep_once(engine, itk_outbox))
        if once:
            return
        time.sleep(interval)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="referrals")
