"""Pharmacy First storage: the pharmacist's consultation (clinical pathway or urgent medicine
supply), its supplied / not supplied items, and the Update Record sent to the GP practice.

A consultation is judged by the pathway version in force on its date (``pathway_version`` keeps
which one). Organisation codes are plain strings (as in referrals): the record must survive
changes to the organisation list. Outcomes and no-supply reasons use the referrals vocabulary
(:mod:`ipmo.referrals` publishes it), so every figure counts the same words.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ipmo.store import Base, IntPk, utcnow
from ipmo.store.outbox import OutboxColumns


class Consultation(Base):
    __tablename__ = "pf_consultations"
    __table_args__ = (
        Index("ix_pf_consultations_org_day", "org_code", "consulted_on"),
        # an Idempotency-Key is the sending pharmacy's: unique per organisation
        UniqueConstraint("org_code", "idempotency_key"),
    )

    id: Mapped[IntPk]
    reference: Mapped[str] = mapped_column(String(20), unique=True)  # "PF-000123"
    kind: Mapped[str] = mapped_column(String(20))  # clinical-pathway | urgent-supply
    channel: Mapped[str] = mapped_column(String(20))  # walk-in | nhs111 | gp | urgent-care
    referral_reference: Mapped[str | None] = mapped_column(String(20), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    org_code: Mapped[str] = mapped_column(String(12))  # the pharmacy
    pharmacist: Mapped[str] = mapped_column(String(64))  # username
    patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("patients.id", ondelete="SET NULL"), index=True
    )
    nhs_number: Mapped[str] = mapped_column(String(10), index=True)
    practice_code: Mapped[str | None] = mapped_column(String(12))
    consulted_on: Mapped[date] = mapped_column(Date)  # the rules of this day apply
    pathway: Mapped[str | None] = mapped_column(String(40))  # None for urgent supply
    pathway_version: Mapped[str | None] = mapped_column(String(20))  # its effective-from date
    # the pharmacist's answers to the pathway questions, and what ipmo found in the record
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    findings: Mapped[list] = mapped_column(JSON, default=list)
    gateway_passed: Mapped[bool | None] = mapped_column(Boolean)
    gateway_failed: Mapped[str | None] = mapped_column(String(60))  # first criterion id not met
    gateway_reason: Mapped[str | None] = mapped_column(String(300))
    red_flags: Mapped[list] = mapped_column(JSON, default=list)  # red flag ids present
    status: Mapped[str] = mapped_column(String(20), default="in-progress")  # | completed
    outcome: Mapped[str | None] = mapped_column(String(30))  # referrals' Outcome values
    no_supply_reason: Mapped[str | None] = mapped_column(String(60))  # NoSupplyReason
    referred_to: Mapped[str | None] = mapped_column(String(20))  # EscalateTo
    referral_urgency: Mapped[str | None] = mapped_column(String(20))  # emergency | same-day | …
    advice: Mapped[str | None] = mapped_column(Text)
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    update_record_key: Mapped[str | None] = mapped_column(String(120))
    update_record_sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}

    items: Mapped[list[ConsultationItem]] = relationship(
        back_populates="consultation", order_by="ConsultationItem.id", cascade="all, delete-orphan"
    )


class ConsultationItem(Base):
    """One medicine of a consultation: a PGD / protocol supply, or one urgent-supply item with
    its own outcome (supplied, or not supplied with a reason)."""

    __tablename__ = "pf_consultation_items"

    id: Mapped[IntPk]
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("pf_consultations.id", ondelete="CASCADE"), index=True
    )
    dmd_code: Mapped[str | None] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(255))
    supply_type: Mapped[str] = mapped_column(String(30))  # pgd | protocol | emergency-supply
    outcome: Mapped[str] = mapped_column(String(30))  # supplied | no-supply
    no_supply_reason: Mapped[str | None] = mapped_column(String(60))
    quantity: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(30))
    days: Mapped[int | None] = mapped_column(Integer)
    dose_text: Mapped[str | None] = mapped_column(String(255))

    consultation: Mapped[Consultation] = relationship(back_populates="items")


class UpdateRecordMessage(OutboxColumns, Base):
    """The GP Connect Update Record (ITK3) a completed consultation sends to the patient's GP
    practice: queued with the completion (same transaction), written to the MESH outbox folder by
    the referrals worker or ``ipmo pharmacyfirst deliver`` — at least once, retried with backoff
    (:mod:`ipmo.store.outbox`), one file per key."""

    __tablename__ = "pf_update_records"

    id: Mapped[IntPk]
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("pf_consultations.id", ondelete="CASCADE"), unique=True
    )
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    recipient_org_code: Mapped[str] = mapped_column(String(12))
    body: Mapped[dict] = mapped_column(JSON)
