"""Reading a patient's summary (identity, registration, care-home, recent facts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ipmo.organisations import Organisation
from ipmo.patients import Patient
from ipmo.security.policy import relationship_for, visible_patients_filter
from ipmo.security.principal import Principal


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


# ---- finding a patient -------------------------------------------------------------------

# More matches than this is a search too vague to be useful (PDS likewise refuses wide searches):
# the page asks for more of the name.
MAX_SHOWN = 50


class SearchError(ValueError):
    """The search terms cannot be used (the message says what to change, in plain English)."""


@dataclass(frozen=True)
class NameSearch:
    """A search for a patient by name and date of birth, as the user typed it (the page builds
    it once; the use case and the query read it). Name parts match anywhere in the name."""

    family_name: str = ""
    given_name: str = ""
    birth_date: date | None = None


@dataclass(frozen=True)
class SearchResult:
    patients: list[dict]
    too_many: bool = False


def _like_term(value: str) -> str:
    escaped = value.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def matching(
    session: Session, principal: Principal, wanted: NameSearch
) -> tuple[list[Patient], bool]:
    """The first :data:`MAX_SHOWN` patients the principal may see whose names contain the given
    parts and who were born on the date of birth, and whether there were more (no audit: the
    use case, ``actions.search``, audits what it shows)."""
    family, given = wanted.family_name.strip(), wanted.given_name.strip()
    if not family and not given:
        raise SearchError("Enter the patient's last name (or part of it)")
    if wanted.birth_date is None:
        raise SearchError("Enter the patient's date of birth")
    # the relationship rules as SQL (security.policy): only patients the user may see are read
    visible = visible_patients_filter(principal, session)
    q = select(Patient).where(Patient.birth_date == wanted.birth_date, visible)
    if family:
        q = q.where(func.lower(Patient.family_name).like(_like_term(family), escape="\\"))
    if given:
        q = q.where(func.lower(Patient.given_name).like(_like_term(given), escape="\\"))
    matches = list(
        session.scalars(q.order_by(Patient.family_name, Patient.given_name).limit(MAX_SHOWN + 1))
    )
    return matches[:MAX_SHOWN], len(matches) > MAX_SHOWN


def format_nhs_number(digits: str) -> str:
    """NHS numbers are shown 3 3 4 ("943 476 5919", NHS Digital identity guidance)."""
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}" if len(digits) == 10 else digits


def banner(session: Session, patient: Patient | str, today: date | None = None) -> dict:
    """What the patient banner shows: identity, registration, nominated pharmacy, care home.

    Call it only after the page's own access check (which audits the read)."""
    if not isinstance(patient, Patient):
        found = session.scalar(select(Patient).where(Patient.nhs_number == patient))
        if found is None:
            raise ValueError("no such patient")
        patient = found
    s = summary(session, patient, today)
    return {
        **s,
        "nhs_number_display": format_nhs_number(patient.nhs_number),
        "birth_date": patient.birth_date,
        "deceased": patient.date_of_death,
    }


class ShownPatient(Protocol):
    """The patient fields a referral shows this user (``referrals.actions.PatientShown``)."""

    @property
    def name(self) -> str: ...
    @property
    def birth_date(self) -> date | None: ...
    @property
    def practice_code(self) -> str | None: ...


def referral_banner(
    session: Session,
    principal: Principal,
    referral,
    shown: ShownPatient,
    today: date | None = None,
):
    """The banner on a referral's page. With a legitimate relationship to the patient (the
    referral page's own read is audited with the patient's NHS number) it is the full banner;
    otherwise (a closed referral, a patient from outside the ICS, the sender's own copy) it shows
    only what the referral shows this user (``shown``), without the links to the record."""
    patient = session.get(Patient, referral.patient_id) if referral.patient_id else None
    if patient is not None and relationship_for(session, principal, patient):
        return banner(session, patient, today)
    practice = None
    if shown.practice_code:
        name = session.scalar(
            select(Organisation.name).where(Organisation.ods_code == shown.practice_code)
        )
        practice = {"ods_code": shown.practice_code, "name": name}
    born = shown.birth_date
    return {
        "name": shown.name,
        "nhs_number": referral.nhs_number or "",
        "nhs_number_display": format_nhs_number(referral.nhs_number or "") or "Not given",
        "birth_date": born,
        "age": age_on(born, today or date.today()) if born else None,
        "practice": practice,
        "deceased": None,
        "no_links": True,
    }
