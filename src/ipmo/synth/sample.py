"""A small hand-made ICS for tests and for a first look before the synthetic generator runs.

Codes follow ODS shapes (ICB "QXX", sub-ICB place "00X", PCN "U#####", practice "A#####",
pharmacy "F####", trust "R##", care home "VM###") but are fictional.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from ipmo.organisations import Organisation, OrgKind, PharmacyService
from ipmo.patients import Admission, Patient

WEEKDAYS = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
LONG_HOURS = {
    **{d: [["07:00", "22:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat")},
    "sun": [["10:00", "16:00"]],
}
ALL_SERVICES = [s.value for s in PharmacyService]

ORGS: list[tuple[str, str, OrgKind, str | None, dict[str, Any]]] = [
    # code, name, kind, parent, extra
    ("QXX", "Example Integrated Care Board", OrgKind.ICB, None, {}),
    ("00X", "North Place", OrgKind.PLACE, "QXX", {}),
    ("00Y", "South Place", OrgKind.PLACE, "QXX", {}),
    ("U10001", "Riverside PCN", OrgKind.PCN, "00X", {}),
    ("U20001", "Hillside PCN", OrgKind.PCN, "00Y", {}),
    ("A10001", "Riverside Medical Centre", OrgKind.PRACTICE, "U10001", {"imd_decile": 3}),
    ("A10002", "Bridge Street Surgery", OrgKind.PRACTICE, "U10001", {"imd_decile": 5}),
    ("A20001", "Hillside Health Centre", OrgKind.PRACTICE, "U20001", {"imd_decile": 8}),
    (
        "FA001",
        "Riverside Pharmacy",
        OrgKind.PHARMACY,
        "00X",
        {
            "services": ALL_SERVICES,
            "opening_hours": LONG_HOURS,
            "latitude": 53.80,
            "longitude": -1.55,
        },
    ),
    (
        "FA002",
        "Bridge Chemist",
        OrgKind.PHARMACY,
        "00X",
        {
            "services": [PharmacyService.PHARMACY_FIRST.value, PharmacyService.DMS.value],
            "opening_hours": WEEKDAYS,
            "latitude": 53.81,
            "longitude": -1.53,
        },
    ),
    (
        "FB001",
        "Hillside Pharmacy",
        OrgKind.PHARMACY,
        "00Y",
        {
            "services": ALL_SERVICES,
            "opening_hours": WEEKDAYS,
            "latitude": 53.70,
            "longitude": -1.60,
        },
    ),
    ("RXX", "Example Teaching Hospitals NHS Trust", OrgKind.TRUST, "QXX", {}),
    ("VM001", "Oak Lodge Care Home", OrgKind.CARE_HOME, "00X", {"services": ["nursing"]}),
    ("NHS111", "NHS 111 (Example ICS)", OrgKind.NHS111, "QXX", {}),
]

PATIENT_FIELDS = (
    "nhs_number", "given_name", "family_name", "birth_date", "sex",
    "practice_code", "nominated_pharmacy_code", "care_home_code",
)  # fmt: skip
PATIENTS = [
    ("9990000018", "Ada", "Smith", date(1940, 3, 1), "female", "A10001", "FA001", "VM001"),
    ("9990000026", "Bert", "Jones", date(1952, 7, 9), "male", "A10001", "FA002", None),
    ("9990000034", "Cara", "Brown", date(1985, 11, 23), "female", "A10002", "FA001", None),
    ("9990000042", "Dev", "Patel", date(1961, 1, 30), "male", "A20001", "FB001", None),
    ("9990000050", "Eve", "Wilson", date(1948, 5, 5), "female", "A20001", None, None),
]


def seed_sample_ics(session: Session) -> None:
    for code, name, kind, parent, extra in ORGS:
        session.add(Organisation(ods_code=code, name=name, kind=kind, parent_code=parent, **extra))
        session.flush()
    for row in PATIENTS:
        session.add(Patient(**dict(zip(PATIENT_FIELDS, row, strict=True)), imd_decile=4))
    session.flush()
    dev = session.query(Patient).filter_by(nhs_number="9990000042").one()
    session.add(
        Admission(
            patient_id=dev.id,
            trust_code="RXX",
            admitted_on=date(2026, 10, 1),
            discharged_on=date(2026, 10, 8),
            reason="community-acquired pneumonia",
        )
    )
    session.flush()
