"""``ipmo db``: schema migrations, backup and restore."""

from __future__ import annotations

from pathlib import Path

import typer

from ipmo.config import get_settings
from ipmo.store import StoreError, create_store_engine, init_store

db = typer.Typer(help="The store: schema migrations, backup and restore.", no_args_is_help=True)


@db.command("upgrade")
def upgrade() -> None:
    """Migrate the store to the newest schema (creates it if empty)."""
    from ipmo.store.migrate import current_revision

    # Not ipmo.cli_support.store_engine: that helper sits above the store (it imports it).
    try:
        engine = create_store_engine(get_settings().database_url)
        init_store(engine)
    except StoreError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    typer.echo(f"store at revision {current_revision(engine)}")


def _err(message: str) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(2)


_KEYS_HELP = (
    "also copy audit.key and secret.key; by default they are NOT in the backup: keep them in a "
    "secret store apart from backups (whoever holds a backup and the audit key can re-forge the "
    "audit log), and restore them (or IPMO_AUDIT_KEY / IPMO_SECRET_KEY) before serving"
)


@db.command("backup")
def backup(
    dest: Path = typer.Argument(..., help="a new (or empty) folder to write the backup to"),
    include_keys: bool = typer.Option(False, "--include-keys", help=_KEYS_HELP),
) -> None:
    """Back up the store while it serves, with the analytics Parquet folder and the audit
    checkpoint file and a manifest (table counts, time): SQLite via its online backup API,
    PostgreSQL with pg_dump of one snapshot (the counts read in the same snapshot). Keys are not
    copied unless --include-keys."""
    from ipmo.config import audit_checkpoints
    from ipmo.store import backup as backups

    settings = get_settings()
    checkpoints = audit_checkpoints(settings.data_dir)
    try:
        manifest = backups.backup(
            settings.database_url, settings.data_dir, checkpoints, dest, include_keys=include_keys
        )
    except backups.BackupError as exc:
        _err(str(exc))
    typer.echo(
        f"backup written to {dest}: {sum(manifest['tables'].values())} rows in "
        f"{len(manifest['tables'])} tables, files {', '.join(manifest['files'])}"
        + ("" if include_keys else " (keys not included)")
    )


@db.command("restore")
def restore(
    src: Path = typer.Argument(..., help="a folder written by ipmo db backup"),
    force: bool = typer.Option(False, "--force", help="replace an existing store"),
    include_keys: bool = typer.Option(
        False, "--include-keys", help="also restore keys found in the backup"
    ),
) -> None:
    """Restore a backup into IPMO_DATABASE_URL / IPMO_DATA_DIR and check the table counts against
    its manifest (PostgreSQL: pg_restore in one transaction). The checkpoint file and analytics
    folder it replaces are kept beside (*.before-restore-TIME)."""
    from ipmo.config import audit_checkpoints
    from ipmo.store import backup as backups

    settings = get_settings()
    checkpoints = audit_checkpoints(settings.data_dir)
    try:
        manifest = backups.restore(
            src,
            settings.database_url,
            settings.data_dir,
            checkpoints,
            force=force,
            include_keys=include_keys,
        )
    except backups.BackupError as exc:
        _err(str(exc))
    target = backups.sqlite_path(settings.database_url) or _shown([settings.database_url])
    typer.echo(
        f"restored backup of {manifest['created']} to {target}: "
        f"{sum(manifest['tables'].values())} rows match the manifest; "
        "run `ipmo audit verify` with the same audit key"
    )


def _shown(cmd: list[str]) -> str:
    from sqlalchemy.engine import make_url

    # never echo a password: the URL is the -d argument
    return " ".join(
        make_url(a).render_as_string(hide_password=True) if a.startswith("postgresql") else a
        for a in cmd
    )


def register(app: typer.Typer) -> None:
    app.add_typer(db, name="db")
