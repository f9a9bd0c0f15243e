"""``ipmo users`` and ``ipmo audit``."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import delete, select

from ipmo.cli_support import fail, store_engine
from ipmo.config import get_settings
from ipmo.security.roles import ROLES
from ipmo.store import session_scope

users = typer.Typer(help="Users, roles and API tokens.", no_args_is_help=True)
audit_app = typer.Typer(
    help="The MAC-chained audit log of patient-data access.", no_args_is_help=True
)


@users.command("token")
def token(username: str) -> None:
    """Print a bearer token for USERNAME (local use: curl -H "Authorization: Bearer …")."""
    from ipmo.security.models import User
    from ipmo.security.tokens import issue_token

    settings = get_settings()
    with session_scope(store_engine()) as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None or not user.active:
            fail(f"no active user {username!r}")
        typer.echo(issue_token(settings.secret_key, user.id, user.token_generation))


@users.command("list")
def list_users() -> None:
    """List users with their role and organisation."""
    from ipmo.security.models import User

    table = Table("username", "name", "role", "organisation", "active")
    with session_scope(store_engine()) as s:
        for u in s.scalars(select(User).order_by(User.username)):
            table.add_row(u.username, u.display_name, u.role_code, u.org_code, str(u.active))
    Console().print(table)


@users.command("create")
def create(
    username: str,
    role: str = typer.Option(..., help=f"one of: {', '.join(ROLES)}"),
    org: str = typer.Option(..., help="ODS code of the user's organisation"),
    name: str = typer.Option(None, help="display name"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Create a user."""
    from ipmo.security.users import UserError, create_user

    try:
        with session_scope(store_engine()) as s:
            create_user(s, username, name or username, role, org, password)
    except (UserError, ValueError) as exc:
        fail(str(exc))
    typer.echo(f"created {username} ({role} at {org})")


@users.command("revoke")
def revoke(username: str) -> None:
    """Invalidate every session and token of USERNAME (their session rows are deleted)."""
    from ipmo.security.models import User, WebSession

    with session_scope(store_engine()) as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            fail(f"no user {username!r}")
        user.token_generation += 1
        s.execute(delete(WebSession).where(WebSession.user_id == user.id))
    typer.echo(f"revoked sessions and tokens of {username}")


@users.command("prune-sessions")
def prune_sessions_cmd() -> None:
    """Delete the rows of browser sessions that have ended or outlived the sign-in lifetime
    (sign-in prunes the user's own; ``ipmo referrals worker`` prunes on every sweep)."""
    from datetime import timedelta

    from ipmo.security.sessions import prune_sessions
    from ipmo.store import utcnow

    lifetime = timedelta(seconds=get_settings().token_ttl_seconds)
    with session_scope(store_engine()) as s:
        gone = prune_sessions(s, utcnow(), lifetime)
    typer.echo(f"{gone} ended or expired session(s) deleted")


@users.command("roles")
def roles() -> None:
    """Show each role and the activities it grants."""
    table = Table("role", "title", "activities", "ICS-wide records")
    for r in ROLES.values():
        table.add_row(
            r.code,
            r.title,
            ", ".join(sorted(r.activities)),
            "yes" if r.ics_wide_patient_access else "",
        )
    Console().print(table)


@audit_app.command("verify")
def verify() -> None:
    """Check the audit log's MAC chains against their heads and the signed checkpoints; exit 1
    naming the first problem. A clean run appends a new signed checkpoint."""
    from ipmo.security.audit import checkpoint, keeping
    from ipmo.security.audit import verify as verify_chain

    engine = store_engine()
    with session_scope(engine) as s:
        result = verify_chain(s)
    if not result.ok:
        fail(f"audit log broken: {result.problem} ({result.entries} entries verified before it)", 1)
    checkpoint(engine)
    if not result.checkpoints and result.entries:
        typer.echo(
            "warning: no earlier checkpoint of this store"
            + (
                f" ({result.other_stores} of other stores: is IPMO_DATABASE_URL the one the "
                "server uses?)"
                if result.other_stores
                else ""
            )
            + "; entries removed before this run could not be detected",
            err=True,
        )
    typer.echo(
        f"audit log intact: {result.entries} entries in {result.chains} chain(s), "
        f"{result.checkpoints} earlier checkpoint(s) matched; checkpoint written to "
        f"{keeping().checkpoints}"
    )


@audit_app.command("checkpoint")
def checkpoint_now() -> None:
    """Append a signed checkpoint of every chain's head (e.g. from cron) without verifying."""
    from ipmo.security.audit import checkpoint, keeping

    heads = checkpoint(store_engine())
    typer.echo(
        f"checkpoint of {len(heads)} chain(s), {sum(s for s, _ in heads.values())} entries, "
        f"written to {keeping().checkpoints}"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(users, name="users")
    app.add_typer(audit_app, name="audit")
