"""Builders for review tests: a patient, prescriptions, codes and results relative to ``AS_OF``.

The spec tests (``test_spec_*.py``) run on every engine, as ehrQL's spec tests do: the ``rv``
helpers answer through the per-patient Python engine (``engine_python`` via ``check``) or the
set-based DuckDB engine (``engine_sql``). A test of a feature one engine does not have is marked
``@pytest.mark.engine_lacks("duckdb", reason)``: on that engine it runs and must fail with
``NotImplementedError`` (a strict xfail, shown in the report), never a silent skip.
"""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import duckdb
import pytest

from ipmo.review.check import check, fired
from ipmo.review.codelists import codes
from ipmo.review.engine_sql import evaluate_population, hits
from ipmo.review.facts import Event, Issue, Obs, PatientFacts, Stay
from ipmo.review.params import DEFAULT, Params
from ipmo.review.population import load_facts
from ipmo.review.rules import all_rules

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


def _duckdb_results(facts: PatientFacts, params: Params, as_of: date, rules=None):
    con = duckdb.connect(config={"threads": 1})
    load_facts(con, [facts])
    return con, evaluate_population(con, as_of, params, rules)


class DuckdbHits:
    """The DuckDB engine's answer to "did rule X fire for this patient?". Each rule asked about
    is evaluated on its own (the whole rule set per patient would cost over a second a call);
    an unknown rule id is an error, not a silent "no"."""

    def __init__(self, facts: PatientFacts, params: Params, as_of: date) -> None:
        self.facts, self.params, self.as_of = facts, params, as_of
        self.rules = {r.id: r for r in all_rules(params)}
        self.cache: dict[str, bool] = {}

    def __contains__(self, rule_id: object) -> bool:
        assert isinstance(rule_id, str)
        if rule_id not in self.cache:
            con, rules = _duckdb_results(
                self.facts, self.params, self.as_of, (self.rules[rule_id],)
            )
            self.cache[rule_id] = (self.facts.patient_id, rule_id) in hits(con, rules)
            con.close()
        return self.cache[rule_id]


ENGINES = ("python", "duckdb")


def pytest_generate_tests(metafunc):
    """Every spec test that uses the ``rv`` helpers runs once per engine."""
    if metafunc.module.__name__.rsplit(".", 1)[-1].startswith("test_spec_") and (
        "rv" in metafunc.fixturenames
    ):
        metafunc.parametrize("review_engine", ENGINES, indirect=True)


def pytest_collection_modifyitems(items):
    for item in items:
        engine = getattr(getattr(item, "callspec", None), "params", {}).get("review_engine")
        for mark in item.iter_markers("engine_lacks"):
            if mark.args[0] == engine:
                item.add_marker(
                    pytest.mark.xfail(reason=mark.args[1], raises=NotImplementedError, strict=True)
                )


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "engine_lacks(engine, reason): the feature under test is not in that engine"
    )


@pytest.fixture
def review_engine(request) -> str:
    """The rule engine a spec test runs on (named apart from the SQLAlchemy ``engine``)."""
    return getattr(request, "param", "python")


@pytest.fixture
def rv(review_engine: str) -> SimpleNamespace:
    engine = review_engine

    def engine_ids(facts: PatientFacts, params: Params = DEFAULT, as_of: date = AS_OF):
        if engine == "duckdb":
            return DuckdbHits(facts, params, as_of)
        return ids(facts, params, as_of)

    def priority(facts: PatientFacts, params: Params = DEFAULT, as_of: date = AS_OF) -> int:
        """The SMR worklist score (both engines compute it)."""
        if engine == "duckdb":
            con, _ = _duckdb_results(facts, params, as_of)
            (score,) = con.execute("SELECT score FROM review_results").fetchone()
            con.close()
            return score
        return check(facts, as_of, params).smr_priority

    def python_check(facts: PatientFacts, as_of: date = AS_OF, feature: str = ""):
        """``check`` (evidence, ACB total, medicine count, prompts): the per-patient engine's
        features; the set-based engine returns hits and scores only."""
        if engine != "python":
            raise NotImplementedError(f"{engine} engine has no per-patient {feature or 'check'}")
        return check(facts, as_of)

    return SimpleNamespace(
        AS_OF=AS_OF,
        engine=engine,
        ago=ago,
        patient=patient,
        rx=rx,
        repeat=repeat,
        dx=dx,
        lab=lab,
        ids=engine_ids,
        priority=priority,
        check=python_check,
        code=code,
        Stay=Stay,
        Params=Params,
    )
