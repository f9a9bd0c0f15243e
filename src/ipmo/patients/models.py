"""Patients and the clinical facts that the case-finding rules and the medication record read.

Identity is the NHS number (Modulus 11 checked on the way in). Facts are kept coded:
conditions and observations in SNOMED CT, medicines as dm+d ids with the BNF code alongside.
The GP issue history (``medication_issues``) is what PINCER and STOPP/START look back over;
per-source medication *lists* belong to ``records``.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ipmo.store import Base, IntPk, OrgRef, PatientRef


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[IntPk]
    nhs_number: Mapped[str] = mapped_column(String(10), unique=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date]
    sex: Mapped[str] = mapped_column(
        String(10)
    )  # FHIR administrative gender: female|male|other|unknown
    postcode: Mapped[str | None] = mapped_column(String(10))
    practice_code: Mapped[OrgRef | None]
    nominated_pharmacy_code: Mapped[OrgRef | None]
    care_home_code: Mapped[OrgRef | None]
    imd_decile: Mapped[int | None]  # 1 = most deprived
    weight_kg: Mapped[float | None] = mapped_column(Float)
    date_of_death: Mapped[date | None]


class Condition(Base):
    __tablename__ = "conditions"

    id: Mapped[IntPk]
    patient_id: Mapped[PatientRef]
    snomed_code: Mapped[str] = mapped_column(String(20), index=True)
    term: Mapped[str] = mapped_column(String(255))
    onset_date: Mapped[date | None]
    resolved_date: Mapped[date | None]


class Observation(Base):
    """A coded measurement or test result (eGFR, potassium, INR, weight …)."""

    __tablename__ = "observations"
    __table_args__ = (Index("ix_observations_patient_kind", "patient_id", "kind"),)

    id: Mapped[IntPk]
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    snomed_code: Mapped[str] = mapped_column(String(20))
    # short stable name of what was measured: egfr, creatinine, potassium, inr, hba1c, fbc, lft,
    # tft, lithium, weight, bp_systolic, smr (a review code), fall, frailty_score …
    kind: Mapped[str] = mapped_column(String(30))
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(30))
    comparator: Mapped[str | None] = mapped_column(String(2))  # "<", ">", "<=", ">="
    effective_date: Mapped[date]


class MedicationIssue(Base):
    """One prescription issued by the GP practice (repeat or acute)."""

    __tablename__ = "medication_issues"
    # by patient and date; with the BNF code, the ICS entitlement finder's one pass over a year
    # of issues reads the index alone, not the table (migration 0004, issue 16)
    __table_args__ = (
        Index("ix_medication_issues_patient_date_bnf", "patient_id", "issue_date", "bnf_code"),
    )

    id: Mapped[IntPk]
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    dmd_code: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(255))
    vmp_code: Mapped[str | None] = mapped_column(String(20))
    vtm_code: Mapped[str | None] = mapped_column(String(20))
    bnf_code: Mapped[str | None] = mapped_column(String(15))
    issue_date: Mapped[date]
    issue_type: Mapped[str] = mapped_column(String(10))  # repeat | acute
    quantity: Mapped[float | None] = mapped_column(Float)
    dose_text: Mapped[str | None] = mapped_column(String(255))
    practice_code: Mapped[str | None] = mapped_column(String(12))


class Admission(Base):
    """A hospital stay; it also gives the trust a legitimate relationship with the patient."""

    __tablename__ = "admissions"

    id: Mapped[IntPk]
    patient_id: Mapped[PatientRef]
    trust_code: Mapped[str] = mapped_column(String(12), ForeignKey("organisations.ods_code"))
    admitted_on: Mapped[date]
    discharged_on: Mapped[date | None]
    reason: Mapped[str | None] = mapped_column(String(255))
    is_fall: Mapped[bool] = mapped_column(default=False)
