"""Urgent medicine supply (ex-NUMSAS): one test per emergency supply rule of the Human Medicines
Regulations 2012, regulation 225 (https://www.legislation.gov.uk/uksi/2012/1916/regulation/225),
with the Misuse of Drugs Regulations 2001 schedules. Each test has an item the rule allows and
one it refuses."""

from __future__ import annotations

from ipmo.pharmacyfirst.urgent import UrgentItem, check_item, schedule_of


def breaks(name: str, days: int = 28, **kw) -> set[str]:
    base = dict(previously_prescribed=True, immediate_need=True)
    return {b.rule for b in check_item(UrgentItem(name=name, days=days, **(base | kw)))}


def test_spec_urgent_supply_previously_prescribed():
    assert breaks("Ramipril 5mg capsules") == set()
    assert breaks("Ramipril 5mg capsules", previously_prescribed=False) == {"previously-prescribed"}


def test_spec_urgent_supply_immediate_need():
    assert breaks("Amlodipine 5mg tablets") == set()
    assert breaks("Amlodipine 5mg tablets", immediate_need=False) == {"immediate-need"}


def test_spec_urgent_supply_controlled_drug_schedule_1_3():
    assert "controlled-drug-schedule-1-3" in breaks("Morphine sulfate 10mg/5ml oral solution")
    assert "controlled-drug-schedule-1-3" in breaks("Oxycodone 5mg capsules")
    assert "controlled-drug-schedule-1-3" in breaks("Pregabalin 75mg capsules")  # Schedule 3
    assert "controlled-drug-schedule-1-3" in breaks("Tramadol 50mg capsules")
    # phenobarbital is the one exception, and only for epilepsy
    assert breaks("Phenobarbital 30mg tablets", epilepsy=True) == set()
    assert "controlled-drug-schedule-1-3" in breaks("Phenobarbital 30mg tablets", epilepsy=False)
    assert breaks("Levetiracetam 500mg tablets") == set()


def test_spec_urgent_supply_controlled_drug_5_days():
    assert breaks("Diazepam 2mg tablets", days=5) == set()  # Schedule 4
    assert breaks("Diazepam 2mg tablets", days=6) == {"controlled-drug-5-days"}
    assert breaks("Codeine phosphate 30mg tablets", days=7) == {"controlled-drug-5-days"}


def test_spec_urgent_supply_thirty_days():
    assert breaks("Atorvastatin 20mg tablets", days=30) == set()
    assert breaks("Atorvastatin 20mg tablets", days=31) == {"thirty-days"}
    # the smallest pack of an inhaler, or a full contraceptive cycle, may exceed 30 days
    assert breaks("Salbutamol 100micrograms/dose inhaler", days=50, pack_exception="pack") == set()
    assert breaks("Microgynon 30 tablets", days=84, pack_exception="oral-contraceptive") == set()


def test_schedules_by_dmd_name():
    assert schedule_of("Codeine phosphate 30mg tablets") == 5
    assert schedule_of("Codeine phosphate 60mg/1ml solution for injection") == 2
    assert schedule_of("Zopiclone 7.5mg tablets") == 4
    assert schedule_of("Paracetamol 500mg tablets") is None
