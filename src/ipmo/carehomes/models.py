"""Storage for eMAR administrations (one row per dose event per resident)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ipmo.store import Base, utcnow


class AdministrationRow(Base):
    """One administration as the home's eMAR recorded it.

    ``identifier`` is the eMAR's id for the dose event: unique per resident, so sending the same
    file twice changes nothing. ``not_on_record`` flags a dose of a medicine the resident's GP
    record does not show (kept, never dropped: it may be the record that is wrong).
    """

    __tablename__ = "carehome_administrations"
    __table_args__ = (
        UniqueConstraint("patient_id", "identifier", name="uq_carehome_administrations_ident"),
        Index("ix_carehome_administrations_patient_at", "patient_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    care_home_code: Mapped[str] = mapped_column(String(12), index=True)
    identifier: Mapped[str] = mapped_column(String(100))
    medicine_code: Mapped[str] = mapped_column(String(20))
    medicine_name: Mapped[str] = mapped_column(String(255))
    outcome: Mapped[str] = mapped_column(String(10))  # given|refused|omitted|withheld
    at: Mapped[datetime] = mapped_column(DateTime)  # UTC, naive like every ipmo time
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(String(255))
    dose_value: Mapped[float | None] = mapped_column(Float)
    dose_unit: Mapped[str | None] = mapped_column(String(30))
    route: Mapped[str | None] = mapped_column(String(60))
    prn: Mapped[bool] = mapped_column(Boolean, default=False)
    covert: Mapped[bool] = mapped_column(Boolean, default=False)
    not_on_record: Mapped[bool] = mapped_column(Boolean, default=False)
    source_format: Mapped[str] = mapped_column(String(10))  # fhir | csv
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
