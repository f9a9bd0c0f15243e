"""Engines and sessions.

SQLite runs in WAL mode with foreign keys on (so readers never block the writer and the two
engines enforce the same constraints). A bad URL or an unreachable server becomes a
:class:`StoreError` with one readable line, never a traceback on the CLI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool


class StoreError(RuntimeError):
    """The store cannot be reached or used; the message is safe to show a user."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    # one writer at a time: wait this long for the lock before giving up (then the web app answers
    # 503, never 500); IPMO_SQLITE_BUSY_MS, default 30 s
    cur.execute(f"PRAGMA busy_timeout={_busy_ms()}")
    cur.close()


def _busy_ms() -> int:
    return _whole_number_setting("IPMO_SQLITE_BUSY_MS", 30_000)


def _whole_number_setting(name: str, default: int) -> int:
    value = int(os.environ.get(name, default))
    if value < 0:
        raise StoreError(f"{name} must be a whole number, 0 or more")
    return value


def pool_capacity(engine: Engine) -> int | None:
    """How many connections the engine's pool hands out at once (None: not a bounded pool)."""
    pool = engine.pool
    if isinstance(pool, QueuePool):
        return pool.size() + max(0, pool._max_overflow)
    return None


def create_store_engine(url: str, *, check: bool = True) -> Engine:
    """The store's engine. Connections per process: ``IPMO_DB_POOL_SIZE`` (default 10) kept open
    plus ``IPMO_DB_MAX_OVERFLOW`` (default 20) opened under load; the web app runs no more
    request threads than that (``ipmo.web.app``), so a request waits for a thread, not for a
    connection, and never times out on the pool (issue 20: "QueuePool limit … reached")."""
    pool = {
        "pool_size": _whole_number_setting("IPMO_DB_POOL_SIZE", 10),
        "max_overflow": _whole_number_setting("IPMO_DB_MAX_OVERFLOW", 20),
    }
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        if url.startswith("sqlite"):
            database = make_url(url).database
            in_memory = not database or database == ":memory:" or "mode=memory" in url
            if not in_memory:
                Path(database or "").parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(
                url,
                connect_args={"check_same_thread": False, "timeout": 30},
                **({} if in_memory else pool),
                hide_parameters=True,  # SQL errors must not carry patient data into logs
            )
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True, hide_parameters=True, **pool)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise StoreError(f"IPMO_DATABASE_URL is not a usable database URL ({exc})") from None
    if check:
        try:
            with engine.connect() as conn:
                conn.execute(text("select 1"))
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise StoreError(f"cannot connect to the database: {reason}") from None
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any error."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def init_store(engine: Engine) -> None:
    """Bring the schema to the newest migration (Alembic), creating it on an empty database."""
    from ipmo.store.migrate import upgrade

    upgrade(engine)


def insert_if_absent(dialect_name: str, table: Any, **values: Any) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for the store's dialect (SQLite or PostgreSQL): the
    row is made unless another writer made it first, never a unique-key error to a racing
    writer. Run it, then read the row."""
    insert = pg_insert if dialect_name == "postgresql" else sqlite_insert
    return insert(table).values(**values).on_conflict_do_nothing()
