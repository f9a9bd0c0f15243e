"""Only for tests and incident drills: remove the append-only guard, as an attacker with DDL rights
could, to show that the MAC chain and the signed checkpoints still catch what they change."""

from __future__ import annotations

from sqlalchemy import Connection, text


def drop_append_only_guard(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events"))
        conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events"))
    else:
        conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
        conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
