"""Referral storage: the referral (a FHIR Task in spirit), its history, received-message ids, the
discharge list (DMS), and the outcome outbox with the recipients' inbox.

Organisation codes are plain strings, not foreign keys: a referral may name a sender or a GP
practice outside this ICS (a 111 provider elsewhere, a visitor's practice), and the record of what
happened must survive changes to the organisation list.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ipmo.store import Base, utcnow
from ipmo.store.outbox import OutboxColumns


class Referral(Base):
    __tablename__ = "referrals"
    __table_args__ = (
        # the overdue scan: open referrals by accept deadline
        Index("ix_referrals_status_accept_by", "status", "accept_by"),
        Index("ix_referrals_target_status", "target_org_code", "status"),
        Index("ix_referrals_sender_created", "sender_org_code", "created_at"),
        # message ids (and Idempotency-Keys) are the sender's: unique per submitting organisation
        UniqueConstraint("submitted_org_code", "message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)  # human-readable
    message_id: Mapped[str | None] = mapped_column(String(100))  # unique per submitter
    service: Mapped[str] = mapped_column(String(40), index=True)  # ReferralService
    status: Mapped[str] = mapped_column(String(20))  # FHIR Task.status
    business_status: Mapped[str | None] = mapped_column(String(30))  # Outcome
    outcome_reason: Mapped[str | None] = mapped_column(String(60))  # e.g. no-supply reason
    outcome_note: Mapped[str | None] = mapped_column(Text)
    escalated_to: Mapped[str | None] = mapped_column(String(20))  # gp | nhs111 | urgent-care
    sender_kind: Mapped[str] = mapped_column(String(20))  # OrgKind of the sender
    sender_org_code: Mapped[str] = mapped_column(String(12))
    submitted_by: Mapped[str] = mapped_column(String(64))  # username (person or system sender)
    submitted_org_code: Mapped[str] = mapped_column(String(12))  # the sending user's organisation
    target_org_code: Mapped[str | None] = mapped_column(String(12))
    routing_basis: Mapped[str | None] = mapped_column(String(20))  # RoutingBasis
    tried_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("patients.id", ondelete="SET NULL"), index=True
    )
    nhs_number: Mapped[str | None] = mapped_column(String(10), index=True)
    patient_name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date | None] = mapped_column(Date)
    practice_code: Mapped[str | None] = mapped_column(String(12), index=True)
    summary: Mapped[str | None] = mapped_column(Text)  # the sender's clinical narrative
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    accept_by: Mapped[datetime] = mapped_column(DateTime)
    due_by: Mapped[datetime] = mapped_column(DateTime)
    received_at: Mapped[datetime | None] = mapped_column(DateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    accepted_by: Mapped[str | None] = mapped_column(String(64))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"), index=True)
    dms_checked_at: Mapped[datetime | None] = mapped_column(DateTime)
    dms_checked_by: Mapped[str | None] = mapped_column(String(64))
    # the sender had no legitimate relationship with the patient and said why (issue 12): listed
    # for the ICS medicines safety officer
    no_relationship_reason: Mapped[str | None] = mapped_column(String(200))
    # the patient fields the store filled in from the patient's record because the sender left
    # them out (patient_name, birth_date, practice_code): the receiver needs them, the sender
    # sees the referral as it sent it (issue 12, ``visibility.sees_as_sent``)
    from_record: Mapped[list[str] | None] = mapped_column(JSON)
    # optimistic concurrency: every UPDATE says "WHERE version = <what I read>"
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}

    events: Mapped[list[ReferralEvent]] = relationship(
        back_populates="referral", order_by="ReferralEvent.id", cascade="all, delete-orphan"
    )
    discharge_items: Mapped[list[DischargeItem]] = relationship(
        back_populates="referral", order_by="DischargeItem.id", cascade="all, delete-orphan"
    )


class ReferralEvent(Base):
    """One state change (or other recorded act) on a referral: its history and time-to-X."""

    __tablename__ = "referral_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(30))  # created, accepted, rerouted, outcome …
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    org_code: Mapped[str] = mapped_column(String(12))
    username: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict | None] = mapped_column(JSON)

    referral: Mapped[Referral] = relationship(back_populates="events")


class DischargeItem(Base):
    """One line of a DMS discharge medication list, with its change marker."""

    __tablename__ = "referral_discharge_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    dmd_code: Mapped[str | None] = mapped_column(String(20))
    change: Mapped[str] = mapped_column(String(12))  # started | stopped | changed | unchanged
    dose_text: Mapped[str | None] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(String(500))

    referral: Mapped[Referral] = relationship(back_populates="discharge_items")


class ReceivedMessage(Base):
    """Every FHIR message id (or Idempotency-Key) accepted once per sender (idempotency for
    senders' retries)."""

    __tablename__ = "referral_received_messages"

    # ids are unique per sender only: two systems may both call a message "1"
    sender_org_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # new | cancel
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class OutboxMessage(OutboxColumns, Base):
    """An outcome notice waiting to reach a referrer or GP practice (transactional outbox; its
    delivery state is the shared :class:`~ipmo.store.outbox.OutboxColumns`)."""

    __tablename__ = "referral_outbox"
    __table_args__ = (Index("ix_referral_outbox_pending", "delivered_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    referral_id: Mapped[int] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    recipient_org_code: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(30))
    payload: Mapped[dict] = mapped_column(JSON)


class OutcomeNotice(Base):
    """The recipient's side: each notice recorded once, however often it is delivered."""

    __tablename__ = "referral_notices"
    __table_args__ = (Index("ix_referral_notices_recipient", "recipient_org_code", "received_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    recipient_org_code: Mapped[str] = mapped_column(String(12))
    referral_id: Mapped[int] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30))
    payload: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
