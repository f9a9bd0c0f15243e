"""Small helpers every domain's CLI uses: one-line errors and the configured store."""

from __future__ import annotations

from typing import NoReturn

import typer
from sqlalchemy import Engine

from ipmo.config import get_settings
from ipmo.store import StoreError, create_store_engine, init_store


def fail(message: str, code: int = 2) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def store_engine(migrate: bool = True) -> Engine:
    """The store named by IPMO_DATABASE_URL (default: SQLite in IPMO_DATA_DIR), migrated."""
    try:
        engine = create_store_engine(get_settings().database_url)
        if migrate:
            init_store(engine)
        return engine
    except StoreError as exc:
        fail(str(exc))
