"""EPS prescription store: prescriptions, their line items, the messages received (for
idempotency, per sender) and messages waiting for their prescription (out of order).

NHS numbers are plain strings, not foreign keys: a prescription may be for a patient outside the
ICS and the record of what EPS sent must survive.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.schema import UniqueConstraint

from ipmo.store import Base, utcnow


class Prescription(Base):
    __tablename__ = "eps_prescriptions"
    # the tracker's search by NHS number, newest first and by issue date (migration 0003)
    __table_args__ = (
        Index("ix_eps_prescriptions_nhs_number_authored_on", "nhs_number", "authored_on"),
        # the access policy's "does this organisation prescribe or dispense for anyone" test
        # (migration 0005)
        Index("ix_eps_prescriptions_prescriber_org", "prescriber_org"),
        Index("ix_eps_prescriptions_dispenser_org", "dispenser_org"),
        # a nominated release: what is nominated to a pharmacy and ready (migration 0007)
        Index("ix_eps_prescriptions_nominated_status", "nominated_pharmacy", "status_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prescription_id: Mapped[str] = mapped_column(String(20), unique=True)  # short form
    long_id: Mapped[str | None] = mapped_column(String(64))
    nhs_number: Mapped[str] = mapped_column(String(10))
    status_code: Mapped[str] = mapped_column(String(4))
    course: Mapped[str | None] = mapped_column(String(40))  # acute | continuous-repeat-dispensing
    prescription_type: Mapped[str | None] = mapped_column(String(8))
    authored_on: Mapped[date | None] = mapped_column(Date)
    prescriber_org: Mapped[str | None] = mapped_column(String(12))
    nominated_pharmacy: Mapped[str | None] = mapped_column(String(12))
    dispenser_org: Mapped[str | None] = mapped_column(String(12))
    # urgent (MedicationRequest.priority urgent | asap | stat): watched for the 111 service
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the 111 service sent the patient to another pharmacy (the stuck-prescription clock restarts)
    redirected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expiry_date: Mapped[date | None] = mapped_column(Date)
    # repeat dispensing: issue number of this instance and how many issues are authorised
    repeat_number: Mapped[int | None] = mapped_column(Integer)
    repeats_allowed: Mapped[int | None] = mapped_column(Integer)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # from the claim: prescription-charge-exemption code and whether evidence was seen
    exemption_code: Mapped[str | None] = mapped_column(String(4))
    exemption_evidence: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    items: Mapped[list[PrescriptionItem]] = relationship(
        back_populates="prescription", order_by="PrescriptionItem.id"
    )
    events: Mapped[list[PrescriptionEvent]] = relationship(
        back_populates="prescription", order_by="PrescriptionEvent.id"
    )


class PrescriptionItem(Base):
    __tablename__ = "eps_prescription_items"
    __table_args__ = (UniqueConstraint("prescription_pk", "line_item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prescription_pk: Mapped[int] = mapped_column(ForeignKey("eps_prescriptions.id"))
    line_item_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    code: Mapped[str | None] = mapped_column(String(20))
    quantity: Mapped[str | None] = mapped_column(String(60))
    status_code: Mapped[str] = mapped_column(String(4))
    reason_code: Mapped[str | None] = mapped_column(String(8))
    reason_display: Mapped[str | None] = mapped_column(String(200))
    pending_cancellation: Mapped[bool] = mapped_column(Boolean, default=False)
    # the latest Prescription Status Update (task-businessStatus-nppt), e.g. "Ready to Collect"
    psu_status: Mapped[str | None] = mapped_column(String(40))
    prescription: Mapped[Prescription] = relationship(back_populates="items")


class EpsMessage(Base):
    """One message received: replays of the same (sender, message id) change nothing."""

    __tablename__ = "eps_messages"
    __table_args__ = (
        UniqueConstraint("sender_org", "message_id"),
        Index("ix_eps_messages_prescription_state", "prescription_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender_org: Mapped[str] = mapped_column(String(12))
    message_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(40))
    prescription_id: Mapped[str] = mapped_column(String(20))
    content_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12))  # applied | pending
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # kept only while pending (a dispense or cancellation before its prescription)
    payload: Mapped[dict | None] = mapped_column(JSON)


class PrescriptionEvent(Base):
    """One step of a prescription's timeline (created, released, with pharmacy, ready to collect,
    dispensed, not dispensed, cancelled, pending cancellation, withdrawn, returned, claimed …).
    A dispense notification's event keeps the item statuses it replaced (``before``) so that its
    withdrawal can restore them."""

    __tablename__ = "eps_prescription_events"
    __table_args__ = (Index("ix_eps_prescription_events_prescription", "prescription_pk"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prescription_pk: Mapped[int] = mapped_column(ForeignKey("eps_prescriptions.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(30))
    status_from: Mapped[str | None] = mapped_column(String(4))
    status_to: Mapped[str] = mapped_column(String(4))
    org: Mapped[str | None] = mapped_column(String(12))
    message_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(300))
    before: Mapped[dict | None] = mapped_column(JSON)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    prescription: Mapped[Prescription] = relationship(back_populates="events")


class ExemptionCertificate(Base):
    """An NHS exemption or prepayment certificate a patient holds (as the NHSBSA issued it):
    ``kind`` maternity | medical | ppc | hrt-ppc | war-pension | hc2 | tax-credit; valid from
    ``valid_from`` to ``valid_to`` inclusive."""

    __tablename__ = "eps_exemption_certificates"
    __table_args__ = (Index("ix_eps_exemption_certificates_nhs_number", "nhs_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nhs_number: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str | None] = mapped_column(String(40))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
