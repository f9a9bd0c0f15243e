"""Storage for eMAR administrations (one row per dose event per resident)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ipmo.store import Base, utcnow


class AdministrationRow(Base):
    """One administration as the home's eMAR recorded it.

    Idempotent per (resident, ``dose_round``, medicine, outcome): the same dose round sent again
    (a re-sent file, a re-export under new ids, a second eMAR feed) is the same administration.
    ``dose_round`` is the scheduled round's time, or the time given when the source has none
    (PRN, FHIR). ``identifier`` is the eMAR's id for the dose event, kept as the evidence a
    finding cites. A refusal and a later "given" in the same round are two administrations.
    ``not_on_record`` flags a dose of a medicine the resident's GP record does not show (kept,
    never dropped: it may be the record that is wrong).
    """

    __tablename__ = "carehome_administrations"
    __table_args__ = (
        # also serves "this resident's doses since …" (patient_id, dose_round prefix)
        UniqueConstraint(
            "patient_id",
            "dose_round",
            "medicine_code",
            "outcome",
            name="uq_carehome_administrations_round",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    care_home_code: Mapped[str] = mapped_column(String(12))
    identifier: Mapped[str] = mapped_column(String(100))
    medicine_code: Mapped[str] = mapped_column(String(20))
    medicine_name: Mapped[str] = mapped_column(String(255))
    outcome: Mapped[str] = mapped_column(String(10))  # given|refused|omitted|withheld
    at: Mapped[datetime] = mapped_column(DateTime)  # UTC, naive like every ipmo time
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime)
    dose_round: Mapped[datetime] = mapped_column(DateTime)  # scheduled_at, else at
    reason: Mapped[str | None] = mapped_column(String(255))
    dose_value: Mapped[float | None] = mapped_column(Float)
    dose_unit: Mapped[str | None] = mapped_column(String(30))
    route: Mapped[str | None] = mapped_column(String(60))
    prn: Mapped[bool] = mapped_column(Boolean, default=False)
    covert: Mapped[bool] = mapped_column(Boolean, default=False)
    not_on_record: Mapped[bool] = mapped_column(Boolean, default=False)
    import_id: Mapped[int] = mapped_column(ForeignKey("carehome_imports.id"))


class ImportRow(Base):
    """One eMAR batch a home sent: when, in which format, by whom and what became of it (the
    administrations carry its id rather than repeating these on every dose)."""

    __tablename__ = "carehome_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    care_home_code: Mapped[str] = mapped_column(String(12), index=True)
    source_format: Mapped[str] = mapped_column(String(10))  # fhir | csv
    sent_by: Mapped[str] = mapped_column(String(100))  # the principal's username
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    added: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    not_on_record: Mapped[int] = mapped_column(Integer, default=0)


class BestInterestsDecision(Base):
    """A best-interests decision for covert administration, as the home recorded it (NICE SC1
    1.14; Mental Capacity Act 2005): which medicine it covers, when it was made, who took part
    and when it must be reviewed. It covers covert doses of that medicine from ``decided_on``
    until ``review_by`` (after that the covert doses are reported again)."""

    __tablename__ = "carehome_best_interests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    medicine_code: Mapped[str] = mapped_column(String(20))
    medicine_name: Mapped[str] = mapped_column(String(255))
    decided_on: Mapped[date] = mapped_column(Date)
    review_by: Mapped[date] = mapped_column(Date)
    participants: Mapped[str] = mapped_column(String(500))  # e.g. GP, pharmacist, family
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CarehomeStaff(Base):
    """A member of a care home's staff who administers medicines (NICE SC1 1.18: the home keeps
    a record of who is trained and assessed as competent)."""

    __tablename__ = "carehome_staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    care_home_code: Mapped[str] = mapped_column(String(12), index=True)
    name: Mapped[str] = mapped_column(String(200))
    job_title: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class StaffTraining(Base):
    """Training completed or a competency assessment passed, by one member of staff."""

    __tablename__ = "carehome_staff_training"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(
        ForeignKey("carehome_staff.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))  # training | competency
    completed_on: Mapped[date] = mapped_column(Date)
    detail: Mapped[str] = mapped_column(String(255))  # course or assessor
    recorded_by: Mapped[str] = mapped_column(String(100))


class MedicationIncident(Base):
    """A medication incident (error or near miss) a home recorded, with its category and the
    harm it caused (NRLS levels), for the ICS's medicines safety view."""

    __tablename__ = "carehome_incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    care_home_code: Mapped[str] = mapped_column(String(12), index=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="SET NULL"))
    occurred_on: Mapped[date] = mapped_column(Date)
    category: Mapped[str] = mapped_column(String(30))
    harm: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(1000))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class MedicineWaste(Base):
    """Medicines a home returned to the pharmacy or destroyed (issue 17: waste), as the home
    recorded them: which resident's, which medicine (dm+d code and name), how much, when and
    why. ``idempotency_key`` is the home's own reference for the entry: the same key sent again
    with the same content is the same entry (nothing added); with other content it is refused.
    ``not_on_record`` flags a medicine the resident's GP record does not show (kept, never
    dropped, like an eMAR dose)."""

    __tablename__ = "carehome_medicine_waste"
    __table_args__ = (
        UniqueConstraint("care_home_code", "idempotency_key", name="uq_carehome_waste_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    care_home_code: Mapped[str] = mapped_column(String(12), index=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    medicine_code: Mapped[str] = mapped_column(String(20))
    medicine_name: Mapped[str] = mapped_column(String(255))
    quantity: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(30))  # e.g. tablet, mL, patch
    disposal: Mapped[str] = mapped_column(String(10))  # returned | destroyed
    disposed_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(255))
    idempotency_key: Mapped[str] = mapped_column(String(100))
    not_on_record: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Movement(Base):
    """A resident coming to, leaving or dying at a care home (issue 17: admissions, discharges
    and deaths), kept because the registration data holds only where a patient is *now*
    (``patients.care_home_code``) and when they died.

    ``source`` says who told us: ``home`` — the home's staff recorded it, with the real date;
    ``registration`` — ipmo saw the registration data change (``movements.from_registration``):
    the date is the day it was seen (a death: the date of death registered), stated as such on
    the page. One row per (resident, home, kind, date): the same movement again adds nothing."""

    __tablename__ = "carehome_movements"
    __table_args__ = (
        UniqueConstraint(
            "patient_id", "care_home_code", "kind", "moved_on", name="uq_carehome_movements"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    care_home_code: Mapped[str] = mapped_column(String(12), index=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(12))  # admitted | discharged | died
    moved_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(12))  # home | registration
    detail: Mapped[str] = mapped_column(String(255), default="")  # e.g. where to, by whom told
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
