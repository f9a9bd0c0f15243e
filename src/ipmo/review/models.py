"""Tables of the review domain: the SMR worklist, population rates, reviews and interventions.

The worklist and rates are *derived* (rebuilt by ``ipmo review run``); reviews and interventions
are what pharmacists record. Interventions start as ``proposed`` changes for the One Medication
Record; the records domain accepts (``applied``) or rejects them with a reason and tells this
domain through ``service.proposal_outcome``. Every write is audited via ``security.audit_event``.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ipmo.store import Base, IntPk, PatientRef, utcnow


class InterventionKind(StrEnum):
    STOP = "stop"
    START = "start"
    SWITCH = "switch"
    DOSE_CHANGE = "dose_change"
    MONITORING = "monitoring"
    REFERRAL = "referral"


class InterventionStatus(StrEnum):
    PROPOSED = "proposed"
    APPLIED = "applied"  # the proposed change was accepted onto the medication record
    REJECTED = "rejected"  # not applied; ``Intervention.outcome_reason`` says why


class WorklistEntry(Base):
    """One patient on the SMR worklist with the score and the reasons that produced it."""

    __tablename__ = "review_worklist"
    __table_args__ = (Index("ix_review_worklist_practice_score", "practice_code", "score"),)

    id: Mapped[IntPk]
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), unique=True
    )
    practice_code: Mapped[str | None] = mapped_column(String(12))
    pcn_code: Mapped[str | None] = mapped_column(String(12), index=True)
    care_home_code: Mapped[str | None] = mapped_column(String(12), index=True)
    score: Mapped[int]
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    rule_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    as_of: Mapped[date]
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class IndicatorRate(Base):
    """Numerator/denominator per practice and rule (raw counts; disclosure control is applied
    when shown or exported, never stored)."""

    __tablename__ = "review_indicator_rates"
    __table_args__ = (Index("ix_review_rates_rule", "rule_id", "as_of"),)

    id: Mapped[IntPk]
    practice_code: Mapped[str | None] = mapped_column(String(12), index=True)
    rule_id: Mapped[str] = mapped_column(String(40))
    as_of: Mapped[date]
    denominator: Mapped[int]
    numerator: Mapped[int]


class MedicationReview(Base):
    """A recorded (structured) medication review."""

    __tablename__ = "medication_reviews"
    __table_args__ = (UniqueConstraint("idempotency_org", "idempotency_key"),)

    id: Mapped[IntPk]
    patient_id: Mapped[PatientRef]
    reviewer: Mapped[str] = mapped_column(String(100))
    review_date: Mapped[date]
    review_type: Mapped[str] = mapped_column(String(20), default="SMR")
    findings_addressed: Mapped[list[str]] = mapped_column(JSON, default=list)
    shared_decision: Mapped[str] = mapped_column(Text, default="")
    decision_with: Mapped[str] = mapped_column(String(20), default="patient")  # patient | carer
    follow_up_date: Mapped[date | None]
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # a resend with the same key (per recording organisation) stores nothing new (issue 12)
    idempotency_org: Mapped[str | None] = mapped_column(String(12))
    idempotency_key: Mapped[str | None] = mapped_column(String(100))

    interventions: Mapped[list[Intervention]] = relationship(
        back_populates="review", cascade="all, delete-orphan", order_by="Intervention.id"
    )


class Intervention(Base):
    __tablename__ = "review_interventions"

    id: Mapped[IntPk]
    review_id: Mapped[int] = mapped_column(
        ForeignKey("medication_reviews.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))  # InterventionKind
    rule_id: Mapped[str | None] = mapped_column(String(40))
    dmd_code: Mapped[str | None] = mapped_column(String(20))
    medicine: Mapped[str | None] = mapped_column(String(255))
    detail: Mapped[str] = mapped_column(Text, default="")
    # InterventionStatus: proposed, then applied or rejected when the proposed change on the
    # One Medication Record is accepted or rejected (``service.proposal_outcome``)
    status: Mapped[str] = mapped_column(String(20), default="proposed")
    accepted_by_patient: Mapped[bool] = mapped_column(default=True)
    outcome_reason: Mapped[str | None] = mapped_column(Text)  # why it was rejected
    outcome_by: Mapped[str | None] = mapped_column(String(100))
    outcome_at: Mapped[datetime | None]

    review: Mapped[MedicationReview] = relationship(back_populates="interventions")
