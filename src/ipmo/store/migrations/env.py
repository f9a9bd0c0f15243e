"""Alembic environment: runs on the connection handed over by ``ipmo.store.migrate``."""

from alembic import context

from ipmo.store.registry import load_all_models

target_metadata = load_all_models().metadata
config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only used via ipmo.store.migrate
    raise RuntimeError("run migrations through ipmo.store.migrate (ipmo db upgrade)")

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=True,  # SQLite needs batch mode to alter tables
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
