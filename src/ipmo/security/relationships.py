"""Legitimate relationships: may this user see this patient?

A user sees a patient only through registration (their practice, or a PCN containing it),
nomination (their pharmacy), care-home residency (their home), an admission to their trust, an open
referral involving their organisation (provided by the referrals domain), or a role whose work is
ICS-wide (always audited). Providers are plain functions returning the name of the relationship
or ``None``; domains add theirs in ``ipmo/<domain>/relationships.py`` with
``@relationship_provider``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

import ipmo
from ipmo.organisations.models import Organisation
from ipmo.patients.models import Admission, Patient
from ipmo.security.principal import Principal

Provider = Callable[[Session, Principal, Patient], str | None]
_PROVIDERS: list[Provider] = []
_discovered = False


def relationship_provider(fn: Provider) -> Provider:
    _PROVIDERS.append(fn)
    return fn


@relationship_provider
def ics_wide_role(session: Session, principal: Principal, patient: Patient) -> str | None:
    return "ics-role" if principal.role.ics_wide_patient_access else None


@relationship_provider
def registration(session: Session, principal: Principal, patient: Patient) -> str | None:
    if patient.practice_code is None:
        return None
    if patient.practice_code == principal.org_code:
        return "registration"
    pcn = session.scalar(
        select(Organisation.parent_code).where(Organisation.ods_code == patient.practice_code)
    )
    return "registration-pcn" if pcn == principal.org_code else None


@relationship_provider
def nomination(session: Session, principal: Principal, patient: Patient) -> str | None:
    return "nomination" if patient.nominated_pharmacy_code == principal.org_code else None


@relationship_provider
def care_home_residency(session: Session, principal: Principal, patient: Patient) -> str | None:
    return "care-home" if patient.care_home_code == principal.org_code else None


@relationship_provider
def admission(session: Session, principal: Principal, patient: Patient) -> str | None:
    found = session.scalar(
        select(Admission.id)
        .where(Admission.patient_id == patient.id, Admission.trust_code == principal.org_code)
        .limit(1)
    )
    return "admission" if found else None


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    for info in pkgutil.iter_modules(ipmo.__path__):
        if info.ispkg and info.name != "security":
            try:
                importlib.import_module(f"ipmo.{info.name}.relationships")
            except ModuleNotFoundError as exc:
                if exc.name != f"ipmo.{info.name}.relationships":
                    raise
    _discovered = True


def find_relationship(session: Session, principal: Principal, patient: Patient) -> str | None:
    _discover()
    for provider in _PROVIDERS:
        if reason := provider(session, principal, patient):
            return reason
    return None
