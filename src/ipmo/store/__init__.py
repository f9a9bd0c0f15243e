"""The store: SQLAlchemy 2 metadata, engines and units of work (SQLite by default, PostgreSQL in
production). Every domain declares its tables on :class:`Base`; Alembic migrations live in
``store/migrations``."""

from ipmo.store.base import Base, IntPk, OrgRef, PatientRef, utcnow
from ipmo.store.engine import (
    StoreError,
    create_store_engine,
    init_store,
    insert_if_absent,
    pool_capacity,
    session_scope,
)
from ipmo.store.registry import load_all_models

__all__ = [
    "Base",
    "IntPk",
    "OrgRef",
    "PatientRef",
    "utcnow",
    "StoreError",
    "create_store_engine",
    "insert_if_absent",
    "pool_capacity",
    "session_scope",
    "init_store",
    "load_all_models",
]
