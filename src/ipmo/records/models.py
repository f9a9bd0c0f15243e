"""Storage for the One Medication Record.

A ``SourceList`` is one system's view of a patient's medicines (a GP Connect bundle, a pharmacy's
dispensing record, a hospital's admission list, a CSV from a specialist system). Its items keep
their provenance so a reconciled line can always say where it came from.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ipmo.store import Base, IntPk, PatientRef, utcnow

#: The reconciled record a decision, proposed change or amendment belongs to.
RecordRef = Annotated[int, mapped_column(ForeignKey("reconciled_records.id", ondelete="CASCADE"))]


class SourceKind:
    GP = "gp"
    PHARMACY = "pharmacy"
    HOSPITAL = "hospital"
    SPECIALIST = "specialist"


class SourceList(Base):
    __tablename__ = "source_lists"
    __table_args__ = (
        UniqueConstraint(
            "patient_id", "source_org_code", "source_system", name="uq_source_lists_origin"
        ),
    )

    id: Mapped[IntPk]
    patient_id: Mapped[PatientRef]
    source_kind: Mapped[str] = mapped_column(String(20))  # SourceKind
    source_org_code: Mapped[str] = mapped_column(String(12))
    source_system: Mapped[str] = mapped_column(
        String(60)
    )  # e.g. "gpconnect", "eps-dispensing", "epma"
    resource_id: Mapped[str | None] = mapped_column(String(100))
    resource_version: Mapped[str | None] = mapped_column(String(40))
    content_hash: Mapped[str] = mapped_column(String(64))  # idempotency: same content → no change
    as_of: Mapped[date | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    fhir_version: Mapped[str | None] = mapped_column(String(8))  # R4 | STU3 | None (CSV)
    # why the source is of its kind ("stated by the caller", or what in the content said so)
    kind_reason: Mapped[str | None] = mapped_column(String(200))

    items: Mapped[list[SourceItem]] = relationship(
        back_populates="source_list", cascade="all, delete-orphan", order_by="SourceItem.id"
    )


class SourceItem(Base):
    __tablename__ = "source_items"
    __table_args__ = (Index("ix_source_items_list", "source_list_id"),)

    id: Mapped[IntPk]
    source_list_id: Mapped[int] = mapped_column(ForeignKey("source_lists.id", ondelete="CASCADE"))
    dmd_code: Mapped[str | None] = mapped_column(String(20))
    code_system: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(255))
    vmp_code: Mapped[str | None] = mapped_column(String(20))
    vtm_code: Mapped[str | None] = mapped_column(String(20))
    mapping: Mapped[str] = mapped_column(String(20), default="unmapped")  # exact|amp|name|unmapped
    dose_text: Mapped[str | None] = mapped_column(String(500))
    dosage: Mapped[list | None] = mapped_column(JSON)  # FHIR R4 Dosage[] as JSON
    route: Mapped[str | None] = mapped_column(String(60))
    form: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(
        String(20)
    )  # active|stopped|completed|on-hold|intended|unknown, or "not-used" (reason in status_reason)
    category: Mapped[str | None] = mapped_column(
        String(20)
    )  # acute|repeat|repeat-dispensing|inpatient
    authored_on: Mapped[date | None]
    last_issued: Mapped[date | None]
    end_date: Mapped[date | None]
    prescriber_type: Mapped[str | None] = mapped_column(String(60))
    resource_id: Mapped[str | None] = mapped_column(String(100))
    resource_version: Mapped[str | None] = mapped_column(String(40))
    resource_type: Mapped[str | None] = mapped_column(String(40))  # MedicationStatement|…|csv
    status_reason: Mapped[str | None] = mapped_column(String(255))
    # the element that dated the line (authoredOn, dispenseRequest.validityPeriod.start, …)
    date_source: Mapped[str | None] = mapped_column(String(60))
    # dispenses: days the supply lasts and where that figure came from (records.current D1)
    supply_days: Mapped[float | None] = mapped_column(Float)
    supply_basis: Mapped[str | None] = mapped_column(String(60))

    source_list: Mapped[SourceList] = relationship(back_populates="items")


class ReconciledRecord(Base):
    """The reconciled list's version for one patient: bumped by every source change or decision.

    ``version`` is the optimistic-concurrency token (ETag ``W/"<version>"``): a write names the
    version it read (If-Match) and is refused when someone else has written since.
    """

    __tablename__ = "reconciled_records"

    id: Mapped[IntPk]
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), unique=True
    )
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    decisions: Mapped[list[ReconciliationDecision]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="ReconciliationDecision.id"
    )


class DecisionAction:
    CONFIRM_INTENDED = "confirm_intended"
    CORRECT_SOURCE = "correct_source"
    STOP = "stop"
    NEEDS_GP = "needs_gp"
    ALL = (CONFIRM_INTENDED, CORRECT_SOURCE, STOP, NEEDS_GP)


class ReconciliationDecision(Base):
    """A pharmacist's decision on one discrepancy (the latest per discrepancy counts)."""

    __tablename__ = "reconciliation_decisions"
    __table_args__ = (Index("ix_reconciliation_decisions_record", "record_id", "discrepancy_id"),)

    id: Mapped[IntPk]
    record_id: Mapped[RecordRef]
    discrepancy_id: Mapped[str] = mapped_column(String(24))
    action: Mapped[str] = mapped_column(String(20))  # DecisionAction
    source_label: Mapped[str | None] = mapped_column(String(100))  # for correct_source
    reason: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    record_version: Mapped[int]  # the version this decision created

    record: Mapped[ReconciledRecord] = relationship(back_populates="decisions")


class ProposedChangeKind:
    """The changes a medication review can propose (issue 6; ``review.models.InterventionKind``
    minus monitoring and referral, which do not change the list)."""

    STOP = "stop"
    START = "start"
    SWITCH = "switch"
    DOSE_CHANGE = "dose_change"
    ALL = (STOP, START, SWITCH, DOSE_CHANGE)


class ProposalStatus:
    PENDING = "pending"
    ACCEPTED = "accepted"  # applied to the reconciled list as amendments
    REJECTED = "rejected"  # not applied; ``resolution_reason`` says why
    ALL = (PENDING, ACCEPTED, REJECTED)


class ProposedChange(Base):
    """A change to a patient's medicines proposed elsewhere (a structured medication review) and
    shown on the One Medication Record as *pending* until someone with ``record.reconcile`` acts
    on it: *accepted* (applied to the reconciled list as :class:`RecordAmendment` rows) or
    *rejected* with a reason. A pending proposal does not alter the reconciled list."""

    __tablename__ = "record_proposed_changes"
    __table_args__ = (Index("ix_record_proposed_changes_record", "record_id", "status"),)

    id: Mapped[IntPk]
    record_id: Mapped[RecordRef]
    kind: Mapped[str] = mapped_column(String(20))  # ProposedChangeKind
    medicine: Mapped[str | None] = mapped_column(String(255))
    dmd_code: Mapped[str | None] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="pending")  # ProposalStatus
    origin: Mapped[str] = mapped_column(String(60))  # e.g. "review-intervention:12"
    proposed_by: Mapped[str] = mapped_column(String(100))
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # set once, when accepted or rejected
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[datetime | None]
    resolution_reason: Mapped[str | None] = mapped_column(Text)  # required when rejected
    resolution_version: Mapped[int | None]  # record version it created


class AmendmentKind:
    """What an amendment does to the reconciled list (a switch is a stop plus a start)."""

    STOP = "stop"
    START = "start"
    DOSE_CHANGE = "dose_change"
    ALL = (STOP, START, DOSE_CHANGE)


class RecordAmendment(Base):
    """A change made to the reconciled list itself (today: by accepting a proposed change),
    applied over the reconciled sources from ``effective_on`` until a source says something newer
    about the same medicine (see ``records.amend``)."""

    __tablename__ = "record_amendments"
    __table_args__ = (Index("ix_record_amendments_record", "record_id"),)

    id: Mapped[IntPk]
    record_id: Mapped[RecordRef]
    kind: Mapped[str] = mapped_column(String(20))  # AmendmentKind
    medicine: Mapped[str | None] = mapped_column(String(255))
    dmd_code: Mapped[str | None] = mapped_column(String(20))
    dose_text: Mapped[str | None] = mapped_column(String(500))  # start / dose_change
    reason: Mapped[str] = mapped_column(Text, default="")
    made_by: Mapped[str] = mapped_column(String(100))
    made_at: Mapped[datetime] = mapped_column(default=utcnow)
    effective_on: Mapped[date]
    record_version: Mapped[int]  # the version this amendment created
    proposal_id: Mapped[int | None] = mapped_column(
        ForeignKey("record_proposed_changes.id", ondelete="SET NULL")
    )
