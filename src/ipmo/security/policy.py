"""The access policy: may this user see this patient? One rule, used for one patient and for lists.

Each legitimate relationship is ONE predicate — an SQLAlchemy expression over the ``patients``
table (EXISTS sub-queries for admissions and referrals) built for a principal. The same
expressions answer both questions, so a list can never show a patient the record would refuse and
the other way round (Medplum's AccessPolicy "criteria" idea: access rules are search criteria):

- :func:`relationship_for` — the first relationship that holds for one patient (its name is what
  the audit entry records), or ``None``;
- :func:`visible_patients_filter` — a WHERE clause keeping exactly the patients with at least one
  relationship (worklists, searches, anything that lists patients).

The relationships (NHS England, "Legitimate relationships" in the Care Identity Service / SCR
access model: direct care of the patient by the user's organisation):

========================  ================================================================
``ics-role``              the role's work is ICS-wide medicines safety (always audited)
``registration``          the patient is registered with the user's practice
``registration-pcn``      the patient's practice belongs to the user's PCN
``nomination``            the patient nominated the user's pharmacy
``care-home``             the patient lives in the user's care home
``admission``             the patient was admitted to the user's trust
``open-referral``         (referrals domain) an open referral was sent TO the user's
                          organisation — the *receiver*; sending one gives nothing
========================  ================================================================

Domains add relationships without security importing them: ``ipmo/<domain>/hooks.py`` may offer
``PATIENT_RELATIONSHIPS``, a list of :class:`Relationship`, tried after the built-in ones
(:mod:`ipmo.hooks`, see docs/DOMAINS.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, case, exists, false, or_, select, true
from sqlalchemy.orm import QueryableAttribute, Session

from ipmo import hooks
from ipmo.organisations.models import Organisation
from ipmo.patients.models import Admission, Patient
from ipmo.security.principal import Principal

Criteria = Callable[[Principal], ColumnElement[bool]]


@dataclass(frozen=True)
class Relationship:
    """A named legitimate relationship: ``criteria(principal)`` is a boolean SQL expression over
    :class:`Patient` (correlated sub-queries allowed) that holds for the patients it covers.

    ``anyone(principal)``, when given, is an uncorrelated test that the relationship holds for at
    least one patient (an indexed EXISTS over its own table): a list asks it once and leaves out
    a relationship no patient has, instead of running its sub-query for every patient listed
    (issue 20's load profile: a PCN's worklist ran four EXISTS per entry of the whole ICS)."""

    name: str
    criteria: Criteria
    anyone: Criteria | None = None


def registered_with(
    principal: Principal,
    practice_code: QueryableAttribute[str | None] | ColumnElement[str | None],
) -> ColumnElement[bool]:
    """``practice_code`` is the user's practice, or a practice of the user's PCN. Shared with the
    referrals domain, whose referral lists follow the same registration rule."""
    return or_(
        practice_code == principal.org_code,
        practice_code.in_(
            select(Organisation.ods_code).where(Organisation.parent_code == principal.org_code)
        ),
    )


def _ics_role(p: Principal) -> ColumnElement[bool]:
    return true() if p.role.ics_wide_patient_access else false()


def _registration(p: Principal) -> ColumnElement[bool]:
    return Patient.practice_code == p.org_code


def _registration_pcn(p: Principal) -> ColumnElement[bool]:
    return Patient.practice_code.in_(
        select(Organisation.ods_code).where(Organisation.parent_code == p.org_code)
    )


def _nomination(p: Principal) -> ColumnElement[bool]:
    return Patient.nominated_pharmacy_code == p.org_code


def _care_home(p: Principal) -> ColumnElement[bool]:
    return Patient.care_home_code == p.org_code


def _admission(p: Principal) -> ColumnElement[bool]:
    return exists().where(Admission.patient_id == Patient.id, Admission.trust_code == p.org_code)


def _any_admission(p: Principal) -> ColumnElement[bool]:
    return exists().where(Admission.trust_code == p.org_code)


BUILT_IN: tuple[Relationship, ...] = (
    Relationship("ics-role", _ics_role),
    Relationship("registration", _registration),
    Relationship("registration-pcn", _registration_pcn),
    Relationship("nomination", _nomination),
    Relationship("care-home", _care_home),
    Relationship("admission", _admission, _any_admission),
)


def relationships() -> Sequence[Relationship]:
    """Every relationship, in the order they are tried (the first that holds names the access)."""
    return (*BUILT_IN, *(r for offered in hooks.offered("PATIENT_RELATIONSHIPS") for r in offered))


def any_holds(rules: Sequence[Relationship], principal: Principal) -> ColumnElement[bool]:
    """WHERE clause: at least one of the rules holds (for lists)."""
    return or_(*(r.criteria(principal) for r in rules))


def first_holding(
    session: Session,
    rules: Sequence[Relationship],
    principal: Principal,
    row: ColumnElement[bool],
) -> str | None:
    """The name of the first rule that holds for the one row ``row`` selects (for one item).
    One query: ``CASE WHEN <criteria 1> THEN 'name 1' WHEN … END`` over that row."""
    which = case(*((r.criteria(principal), r.name) for r in rules), else_=None)
    return session.scalar(select(which).where(row))


def visible_patients_filter(
    principal: Principal, session: Session | None = None
) -> ColumnElement[bool]:
    """WHERE clause over :class:`Patient`: the patients this principal may see. With a
    ``session``, the relationships whose ``anyone`` test says no patient has them are left out
    first (one query): the same patients, found without a sub-query per patient for them."""
    rules = relationships()
    if session is not None:
        rules = held_by_someone(session, rules, principal)
    return any_holds(rules, principal) if rules else false()


def held_by_someone(
    session: Session, rules: Sequence[Relationship], principal: Principal
) -> list[Relationship]:
    """The rules without an ``anyone`` test, and those whose test holds now (one query)."""
    tested = [r for r in rules if r.anyone is not None]
    if not tested:
        return list(rules)
    row = session.execute(select(*(r.anyone(principal) for r in tested if r.anyone))).one()
    held = {r.name for r, holds in zip(tested, row, strict=True) if holds}
    return [r for r in rules if r.anyone is None or r.name in held]


def relationship_for(session: Session, principal: Principal, patient: Patient) -> str | None:
    """The first relationship that holds between the principal and this patient, or ``None``."""
    if patient.id is None:
        return None
    return session.scalar(_relationship_query(principal), {"patient_id": patient.id})


@lru_cache(maxsize=4096)
def _relationship_query(principal: Principal) -> Select[Any]:
    """:func:`first_holding`'s query for one patient, built once per principal with the patient
    as a bound parameter: building the CASE over every relationship and its cache key took
    ~3 ms of each record read (issue 20's load profile). Relationships are fixed at import
    (built-in ones and the domains' hooks); a principal is immutable."""
    which = case(*((r.criteria(principal), r.name) for r in relationships()), else_=None)
    return select(which).where(Patient.id == bindparam("patient_id"))
