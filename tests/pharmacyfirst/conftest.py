"""Pharmacy First test helpers: the sample ICS, a fixed consultation day and principals."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select
from tests.conftest import seed_sample

from ipmo.security.models import User
from ipmo.security.principal import Principal

DAY = date(2026, 11, 18)  # a Wednesday; the 2024 pathways are in force
NOW = datetime(2026, 11, 18, 11, 0)
CARA = "9990000034"  # female, born 1985-11-23 (aged 40 on DAY), practice A10002, nominated FA001
DEV = "9990000042"  # male, practice A20001, nominated FB001 (no relationship with FA001)
NITROFURANTOIN_MR = "39108511000001108"  # VMP Nitrofurantoin 100mg modified-release capsules


def principal(session, username: str = "community.pharmacist") -> Principal:
    return Principal.from_user(session.scalar(select(User).where(User.username == username)))


@pytest.fixture
def ics_any(any_engine):
    """The sample ICS on SQLite and PostgreSQL (tests whose guarantee depends on the store)."""
    return seed_sample(any_engine)
