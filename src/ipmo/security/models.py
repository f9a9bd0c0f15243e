"""Users and the audit log.

The audit table has no foreign keys (as in OpenSAFELY job-server): the log must never block, or be
cascaded away by, changes to live data. It is append-only (database triggers) and MAC-chained with a
key kept outside the database, so that an edited, deleted or truncated log is detected by
``ipmo audit verify``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ipmo.store import Base, IntPk, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[IntPk]
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role_code: Mapped[str] = mapped_column(String(40))
    org_code: Mapped[str] = mapped_column(String(12), ForeignKey("organisations.ods_code"))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    # bumping this invalidates every token and session issued before (sign out everywhere)
    token_generation: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """One audit entry. ``seq`` orders all entries (in the order they were written); the MAC chain
    runs along (``chain``, ``chain_seq``): entries are spread over a few independent chains so
    concurrent writers do not queue on one head row (docs/decisions/0008)."""

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("chain", "chain_seq"),)

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    chain: Mapped[int]
    chain_seq: Mapped[int]
    at: Mapped[datetime]
    username: Mapped[str] = mapped_column(String(64))
    role_code: Mapped[str] = mapped_column(String(40))
    org_code: Mapped[str] = mapped_column(String(12))
    action: Mapped[str] = mapped_column(String(60))
    outcome: Mapped[str] = mapped_column(String(12))  # permitted | refused
    patient_nhs_number: Mapped[str | None] = mapped_column(String(10), index=True)
    reason: Mapped[str | None] = mapped_column(String(60))  # the legitimate relationship used
    detail: Mapped[dict | None] = mapped_column(JSON)
    # HMAC-SHA256 under a key kept outside the database (security/audit.py)
    prev_mac: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """One row per chain: its newest ``seq`` and MAC. Locked while appending to that chain so its
    writers serialise, and compared by ``verify`` so a deleted tail is detected too (a rewound
    head is caught by the signed checkpoints kept outside the database)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # the chain
    seq: Mapped[int]
    mac: Mapped[str] = mapped_column(String(64))


class WebSession(Base):
    """A signed-in browser session, so that signing out ends it on the server: the cookie only
    names the session (``sid``), and a copied cookie stops working once the row is ended.
    Only a SHA-256 of the id is stored, so reading the table does not let anyone sign in."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class SignInFailures(Base):
    """Failed sign-ins counted per key (``user:<name>`` or ``addr:<client address>``) within a
    window, for throttling (``security/sessions.py``)."""

    __tablename__ = "sign_in_failures"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int]
    window_start: Mapped[datetime]
