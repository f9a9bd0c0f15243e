"""``ipmo db``: schema migrations."""

from __future__ import annotations

import typer

from ipmo.cli_support import store_engine

db = typer.Typer(help="The store: schema migrations.", no_args_is_help=True)


@db.command("upgrade")
def upgrade() -> None:
    """Migrate the store to the newest schema (creates it if empty)."""
    from ipmo.store.migrate import current_revision

    engine = store_engine(migrate=True)
    typer.echo(f"store at revision {current_revision(engine)}")


def register(app: typer.Typer) -> None:
    app.add_typer(db, name="db")
