"""Reading a patient's summary (identity, registration, care-home, recent facts)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from ipmo.organisations.models import Organisation
from ipmo.patients.models import Patient


def age_on(birth_date: date, on: date) -> int:
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def summary(session: Session, patient: Patient, today: date | None = None) -> dict:
    today = today or date.today()

    def org(code: str | None) -> dict | None:
        if code is None:
            return None
        o = session.query(Organisation).filter_by(ods_code=code).one_or_none()
        return {"ods_code": code, "name": o.name if o else None}

    return {
        "nhs_number": patient.nhs_number,
        "name": f"{patient.given_name} {patient.family_name}",
        "birth_date": patient.birth_date.isoformat(),
        "age": age_on(patient.birth_date, today),
        "sex": patient.sex,
        "practice": org(patient.practice_code),
        "nominated_pharmacy": org(patient.nominated_pharmacy_code),
        "care_home": org(patient.care_home_code),
        "imd_decile": patient.imd_decile,
    }
