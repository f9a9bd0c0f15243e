"""A second care home for the care-home tests: Elm House (VM002) with one resident, Elsie
Elmwood, registered at A10001 like Oak Lodge's residents — staff of one home must never see the
other's."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from ipmo.organisations import Organisation, OrgKind
from ipmo.patients import Patient

ELM = "9434765919"  # Elm House (VM002): another home


def add_elm_house(s: Session) -> None:
    s.add(Organisation(ods_code="VM002", name="Elm House", kind=OrgKind.CARE_HOME))
    s.flush()
    s.add(
        Patient(
            nhs_number=ELM,
            given_name="Elsie",
            family_name="Elmwood",
            birth_date=date(1932, 5, 5),
            sex="female",
            practice_code="A10001",
            care_home_code="VM002",
        )
    )
