"""``ipmo db``: schema migrations."""

from __future__ import annotations

import typer

from ipmo.config import get_settings
from ipmo.store import StoreError, create_store_engine, init_store

db = typer.Typer(help="The store: schema migrations.", no_args_is_help=True)


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


def register(app: typer.Typer) -> None:
    app.add_typer(db, name="db")
