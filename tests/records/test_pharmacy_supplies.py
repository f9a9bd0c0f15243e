"""A medicine a community pharmacy supplied joins the One Medication Record as a pharmacy source
(issue 15): one list per pharmacy, a line per supply, recorded once however often it is sent."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from ipmo.patients import Patient
from ipmo.records import PharmacySupply, current_medications, record_pharmacy_supply
from ipmo.records.models import SourceList
from ipmo.security.models import AuditEvent, User
from ipmo.security.principal import Principal
from ipmo.store import session_scope

DAY = date(2026, 11, 18)


def _supply(reference: str, name: str, days: int) -> PharmacySupply:
    return PharmacySupply(reference, None, name, 6, "capsule", days, "1 twice a day", DAY, "pgd")


def test_supplies_are_a_pharmacy_source_recorded_once(sample_ics):
    with session_scope(sample_ics) as s:
        user = s.scalar(select(User).where(User.username == "community.pharmacist"))
        who = Principal.from_user(user)
        cara = s.scalar(select(Patient).where(Patient.nhs_number == "9990000034"))
        nitrofurantoin = _supply("PF-1", "Nitrofurantoin 100mg modified-release capsules", 3)
        assert record_pharmacy_supply(s, who, cara, "FA001", nitrofurantoin) > 0
        assert record_pharmacy_supply(s, who, cara, "FA001", nitrofurantoin) == -1  # nothing new
        record_pharmacy_supply(s, who, cara, "FA001", _supply("PF-2", "Aciclovir 800mg tablets", 7))
        source = s.scalar(select(SourceList).where(SourceList.patient_id == cara.id))
        assert (source.source_kind, source.source_org_code) == ("pharmacy", "FA001")
        assert [i.name for i in source.items] == [
            "Nitrofurantoin 100mg modified-release capsules",
            "Aciclovir 800mg tablets",
        ]
        names = {m.name for m in current_medications(s, cara.id, DAY)}
        assert "Aciclovir 800mg tablets" in names
    with session_scope(sample_ics) as s:  # audit entries are written with the unit of work
        audited = s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "record.pharmacy_supply")
        )
        assert audited == 2
