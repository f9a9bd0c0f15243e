"""Plans, objectives (each linked to one metric), PDSA cycles and stakeholders.

Why one metric per objective: the "plan on a page" shows one trend and one RAG status per
objective; an aim with two measures is written as two objectives. The metric is named by id
(``workforce.wte_per_10k``, ``analytics.<measure_id>`` …, see ``plans.metrics``) and checked
against the registry when saved, so a typo cannot hide until the report is printed.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ipmo.store import Base


class Plan(Base):
    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)

    objectives: Mapped[list[Objective]] = relationship(
        back_populates="plan",
        cascade="all, delete-orphan",
        order_by="Objective.id",
        lazy="selectin",
    )
    stakeholders: Mapped[list[Stakeholder]] = relationship(
        cascade="all, delete-orphan", order_by="Stakeholder.id", lazy="selectin"
    )


class Objective(Base):
    __tablename__ = "plan_objectives"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str] = mapped_column(String(200))
    metric_id: Mapped[str] = mapped_column(String(120))
    scope: Mapped[str | None] = mapped_column(
        String(12)
    )  # ODS code the metric is about; None = ICS
    baseline: Mapped[float] = mapped_column(Float)
    baseline_date: Mapped[date] = mapped_column(Date)
    target: Mapped[float] = mapped_column(Float)
    target_date: Mapped[date] = mapped_column(Date)
    direction: Mapped[str] = mapped_column(String(10))  # "up" | "down": which way is better
    # the metric's unit when the objective was set ("%", " WTE", ""): baseline and target are in
    # it, and a metric that changes unit later is not compared with them (objective_view)
    unit: Mapped[str] = mapped_column(String(20), default="", server_default="")

    plan: Mapped[Plan] = relationship(back_populates="objectives")
    cycles: Mapped[list[PdsaCycle]] = relationship(
        cascade="all, delete-orphan", order_by="PdsaCycle.started_on", lazy="selectin"
    )


class PdsaCycle(Base):
    """One Plan-Do-Study-Act cycle (NHS England, "Plan, Do, Study, Act (PDSA) cycles and the
    model for improvement", Online library of Quality, Service Improvement and Redesign tools)."""

    __tablename__ = "plan_pdsa_cycles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    objective_id: Mapped[int] = mapped_column(
        ForeignKey("plan_objectives.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    plan_note: Mapped[str] = mapped_column(Text, default="")
    do_note: Mapped[str] = mapped_column(Text, default="")
    study_note: Mapped[str] = mapped_column(Text, default="")
    act_note: Mapped[str] = mapped_column(Text, default="")


class Stakeholder(Base):
    __tablename__ = "plan_stakeholders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))  # a group or role, e.g. "LPC", "PCN leads"
    organisation: Mapped[str | None] = mapped_column(String(200))
    interest: Mapped[str | None] = mapped_column(String(300))
    # engagement level after the IAP2 spectrum: inform | consult | involve | collaborate | empower
    engagement: Mapped[str] = mapped_column(String(20))
    last_engaged: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
