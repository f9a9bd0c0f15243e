"""Declarative base shared by every domain's tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, ClassVar

from sqlalchemy import ForeignKey, Integer, MetaData, String, Table
from sqlalchemy.orm import DeclarativeBase, mapped_column

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    # Every model here is mapped to one Table (no joins, no imperative mappings), so say so:
    # `Model.__table__.insert()` and `insert(Model.__table__)` then type-check.
    __table__: ClassVar[Table]


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# Column types that many tables share (SQLAlchemy's "whole column declarations" in ``Annotated``):
# ``id: Mapped[IntPk]`` reads as what the column is, and every table declares it the same way.

#: An integer surrogate primary key.
IntPk = Annotated[int, mapped_column(Integer, primary_key=True)]
#: The patient a row is about, indexed; the row goes when the patient does.
PatientRef = Annotated[
    int, mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
]
#: An organisation by ODS code (``Mapped[OrgRef | None]`` where it may be unknown), indexed.
OrgRef = Annotated[str, mapped_column(String(12), ForeignKey("organisations.ods_code"), index=True)]
