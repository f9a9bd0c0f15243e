"""The pharmacy workforce registry: people, posts (ESR "assignments"), sector allocations,
the training plan, and service activity figures imported for services run elsewhere.

Why this shape: NHS Electronic Staff Record keys everything on an *assignment* (one person in one
position for a period); a rotational or split post is one assignment whose whole-time equivalent is
shared between sectors, so it is one :class:`Post` with several :class:`PostAllocation` rows that
sum to its WTE. A vacancy is a post without a person; a training place is a post with a
``training_programme`` (filled or not). Named people sit in :class:`StaffMember`, separate from the
post, so aggregate views never need to read a name.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ipmo.store import Base


class StaffMember(Base):
    """A named person (ESR employee). Visible only to roles with ``workforce.detail``."""

    __tablename__ = "workforce_staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_number: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    gphc_number: Mapped[str | None] = mapped_column(String(10))
    independent_prescriber: Mapped[bool] = mapped_column(Boolean, default=False)
    prescriber_scope: Mapped[str | None] = mapped_column(String(200))


class Post(Base):
    """One assignment: a position at an organisation, held by a person or vacant."""

    __tablename__ = "workforce_posts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_number: Mapped[str] = mapped_column(String(30), unique=True)
    org_code: Mapped[str] = mapped_column(
        String(12), ForeignKey("organisations.ods_code"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40), index=True)  # a workforce.roles.StaffRole
    band: Mapped[str | None] = mapped_column(String(10))  # Agenda for Change band or None
    wte: Mapped[float] = mapped_column(Float)
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("workforce_staff.id"), index=True, default=None
    )
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    reports_to: Mapped[str | None] = mapped_column(String(30))  # manager's assignment_number
    leadership: Mapped[bool] = mapped_column(Boolean, default=False)
    training_programme: Mapped[str | None] = mapped_column(String(40))

    staff: Mapped[StaffMember | None] = relationship(lazy="joined")
    allocations: Mapped[list[PostAllocation]] = relationship(
        back_populates="post", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def vacant(self) -> bool:
        return self.staff_id is None


class PostAllocation(Base):
    """The share of a post's WTE worked in one sector (and at one organisation)."""

    __tablename__ = "workforce_post_allocations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(
        ForeignKey("workforce_posts.id", ondelete="CASCADE"), index=True
    )
    sector: Mapped[str] = mapped_column(String(20))  # a workforce.roles.Sector
    org_code: Mapped[str] = mapped_column(String(12), ForeignKey("organisations.ods_code"))
    wte: Mapped[float] = mapped_column(Float)

    post: Mapped[Post] = relationship(back_populates="allocations")


class TrainingPlanLine(Base):
    """How many training places of one programme the ICS plans to complete in a year."""

    __tablename__ = "workforce_training_plan"
    __table_args__ = (UniqueConstraint("programme", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    planned_places: Mapped[int] = mapped_column(Integer)


class ServiceActivity(Base):
    """Monthly figures for one service at one organisation, imported from elsewhere.

    Times are kept as totals (mean × count) so that sums over pharmacies and months give correct
    means; satisfaction and "would otherwise have gone to" come from the outcome questionnaire.
    """

    __tablename__ = "workforce_service_activity"
    __table_args__ = (UniqueConstraint("service", "org_code", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service: Mapped[str] = mapped_column(String(40), index=True)
    org_code: Mapped[str] = mapped_column(String(12), ForeignKey("organisations.ods_code"))
    month: Mapped[date] = mapped_column(Date, index=True)  # first day of the month
    referrals: Mapped[int] = mapped_column(Integer)
    completed: Mapped[int] = mapped_column(Integer)
    items_supplied: Mapped[int] = mapped_column(Integer)
    no_supply: Mapped[int] = mapped_column(Integer)
    no_supply_reasons: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    accepted: Mapped[int] = mapped_column(Integer)
    hours_to_accept_total: Mapped[float] = mapped_column(Float, default=0.0)
    hours_to_complete_total: Mapped[float] = mapped_column(Float, default=0.0)
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    survey_responses: Mapped[int] = mapped_column(Integer, default=0)
    satisfied: Mapped[int] = mapped_column(Integer, default=0)
    otherwise: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
