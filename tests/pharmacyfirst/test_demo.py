"""``ipmo demo`` seeds Pharmacy First consultations through the same use cases as the pages."""

from __future__ import annotations

from sqlalchemy import func, select

from ipmo.pharmacyfirst.demo import populate
from ipmo.pharmacyfirst.models import Consultation, UpdateRecordMessage
from ipmo.store import session_scope


def test_demo_consultations_are_completed_with_update_records(sample_ics):
    said = populate(sample_ics, seed=3)
    assert said.startswith("pharmacy first:")
    with session_scope(sample_ics) as s:
        completed = s.scalar(
            select(func.count()).select_from(Consultation).where(Consultation.status == "completed")
        )
        assert completed >= 2
        assert s.scalar(select(func.count()).select_from(UpdateRecordMessage)) == completed
