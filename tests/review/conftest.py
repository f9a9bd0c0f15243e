"""Builders for review tests: a patient, prescriptions, codes and results relative to ``AS_OF``."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from ipmo.review.check import fired
from ipmo.review.codelists import codes
from ipmo.review.facts import Event, Issue, Obs, PatientFacts, Stay
from ipmo.review.params import DEFAULT, Params

AS_OF = date(2024, 6, 30)


def ago(days: int) -> date:
    return AS_OF - timedelta(days=days)


def patient(
    *items,
    age: int = 70,
    sex: str = "male",
    care_home: bool = False,
    weight_kg: float | None = None,
) -> PatientFacts:
    f = PatientFacts(1, date(AS_OF.year - age, 1, 1), sex, care_home=care_home, weight_kg=weight_kg)
    for it in items:
        {Issue: f.issues, Event: f.events, Obs: f.observations, Stay: f.admissions}[
            type(it)
        ].append(it)
    return f


def rx(
    name: str, days_ago: int = 20, dose: str | None = None, dmd: str = "0", bnf: str | None = None
) -> Issue:
    return Issue(dmd_code=dmd, name=name, issue_date=ago(days_ago), dose_text=dose, bnf_code=bnf)


def repeat(name: str, *days: int, dose: str | None = None) -> list[Issue]:
    return [rx(name, d, dose) for d in days]


def code(codeset: str) -> str:
    return sorted(codes(codeset))[0]


def dx(codeset: str, days_ago: int | None = 400, resolved_days_ago: int | None = None) -> Event:
    return Event(
        code(codeset),
        codeset,
        ago(days_ago) if days_ago is not None else None,
        ago(resolved_days_ago) if resolved_days_ago is not None else None,
    )


def lab(
    kind: str,
    value: float | None,
    days_ago: int = 20,
    comparator: str | None = None,
    code_: str = "",
) -> Obs:
    return Obs(code_, kind, ago(days_ago), value, None, comparator)


def ids(facts: PatientFacts, params: Params = DEFAULT, as_of: date = AS_OF) -> set[str]:
    return {r.id for r, _ in fired(facts, as_of, params)}


@pytest.fixture
def rv() -> SimpleNamespace:
    return SimpleNamespace(
        AS_OF=AS_OF,
        ago=ago,
        patient=patient,
        rx=rx,
        repeat=repeat,
        dx=dx,
        lab=lab,
        ids=ids,
        code=code,
        Stay=Stay,
        Params=Params,
    )
