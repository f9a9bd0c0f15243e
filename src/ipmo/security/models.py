"""Users and the audit log.

The audit table has no foreign keys (as in OpenSAFELY job-server): the log must never block, or be
cascaded away by, changes to live data. It is append-only by contract and hash-chained so that an
edited or deleted entry is detected by ``ipmo audit verify``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ipmo.store import Base, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role_code: Mapped[str] = mapped_column(String(40))
    org_code: Mapped[str] = mapped_column(String(12), ForeignKey("organisations.ods_code"))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # bumping this invalidates every token and session issued before (sign out everywhere)
    token_generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AuditEvent(Base):
    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime)
    username: Mapped[str] = mapped_column(String(64))
    role_code: Mapped[str] = mapped_column(String(40))
    org_code: Mapped[str] = mapped_column(String(12))
    action: Mapped[str] = mapped_column(String(60))
    outcome: Mapped[str] = mapped_column(String(12))  # permitted | refused
    patient_nhs_number: Mapped[str | None] = mapped_column(String(10), index=True)
    reason: Mapped[str | None] = mapped_column(String(60))  # the legitimate relationship used
    detail: Mapped[dict | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """One row: the newest sequence number and hash. Locked while appending so concurrent
    writers serialise, and compared by ``verify`` so a deleted tail is detected too."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
