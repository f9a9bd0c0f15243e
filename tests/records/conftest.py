"""Fixtures for the records tests: a small dm+d dictionary and line/source builders.

The dictionary is the terminology domain's real in-memory ``Dictionary`` built from a handful of
rows (AMP → VMP → VTM, with BNF codes so therapeutic classes resolve). AMP ids are real dm+d ids
(from ../shared/terminology codelists); the VMP/VTM ids are illustrative.
"""

from __future__ import annotations

from datetime import date

import pytest
from tests.web_session import sign_in

from ipmo.records.canonical import MedItem, SourceDocument
from ipmo.terminology.dictionary import Dictionary

# kind|id|name|vmp_id|vtm_id|bnf_code|form|route
CONCEPTS_TEXT = """
VTM|900001|Omeprazole|||||
VMP|900101|Omeprazole 20mg gastro-resistant capsules||900001|0103050P0AAAAAA|gr capsule|
VMP|900102|Omeprazole 40mg gastro-resistant capsules||900001|0103050P0AAABAB|gr capsule|
VMP|900103|Omeprazole 20mg/5ml oral suspension||900001|0103050P0AAAHAH|oral suspension|oral
AMP|10300411000001101|Omeprazole 20mg gastro-resistant capsules (Focus)|900101||0103050P0AAAAAA||
AMP|900201|Losec 20mg capsules (AstraZeneca)|900101||0103050P0BBAAAA||
VTM|900002|Lansoprazole|||||
VMP|900111|Lansoprazole 30mg gastro-resistant capsules||900002|0103050L0AAAAAA|gr capsule|
VTM|900003|Ibuprofen|||||
VMP|900121|Ibuprofen 400mg tablets||900003|1001010J0AAAEAE|tablet|oral
VTM|900004|Naproxen|||||
VMP|900131|Naproxen 500mg tablets||900004|1001010P0AAAEAE|tablet|oral
VTM|900005|Warfarin|||||
VMP|900141|Warfarin 1mg tablets||900005|0208020V0AAAAAA|tablet|oral
VTM|900006|Amlodipine|||||
VMP|900151|Amlodipine 5mg tablets||900006|0206020A0AAAAAA|tablet|oral
VMP|900152|Amlodipine 10mg tablets||900006|0206020A0AAABAB|tablet|oral
VTM|900007|Furosemide|||||
VMP|900161|Furosemide 40mg tablets||900007|0202020L0AABDBD|tablet|oral
VTM|900008|Metformin|||||
VMP|900171|Metformin 500mg tablets||900008|0601022B0AAABAB|tablet|oral
VMP|900172|Metformin 500mg modified-release tablets||900008|0601022B0AAASAS|modified-release tablet|
VTM|900009|Paracetamol|||||
VMP|900181|Paracetamol 500mg tablets||900009|0407010H0AAAMAM|tablet|oral
"""
CONCEPTS = [tuple(line.split("|")) for line in CONCEPTS_TEXT.strip().splitlines()]


@pytest.fixture(scope="session")
def dictionary() -> Dictionary:
    rows = []
    for kind, cid, name, vmp, vtm, bnf, form, route in CONCEPTS:
        rows.append(
            {
                "kind": kind,
                "id": cid,
                "name": name,
                "vmp_id": vmp,
                "vtm_id": vtm,
                "bnf_code": bnf,
                "form": form,
                "route": route,
                "supplier": "",
                "invalid": "0",
                "new_id": "",
                "sources": "test",
            }  # fmt: skip
        )
    return Dictionary(rows)


INDEX = date(2025, 6, 1)


def tablets(n: float, per_day: int, unit: str = "tablet", as_needed: bool = False) -> list[dict]:
    d: dict = {"doseAndRate": [{"doseQuantity": {"value": n, "unit": unit}}]}
    d["timing"] = {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}}
    if as_needed:
        d["asNeededBoolean"] = True
    return [d]


def item(code: str, name: str = "", **kw) -> MedItem:
    kw.setdefault("status", "active")
    kw.setdefault("category", "repeat")
    kw.setdefault("authored_on", date(2025, 1, 10))
    return MedItem(name=name or f"code {code}", code=code, **kw)


def source(kind: str, org: str, *items: MedItem) -> SourceDocument:
    return SourceDocument(
        source_kind=kind, source_org_code=org, source_system="test", items=list(items)
    )


@pytest.fixture
def rec(dictionary):
    """Builders for lines and sources, and ``run(*sources)`` → Reconciliation at INDEX."""
    from types import SimpleNamespace

    from ipmo.records.normalise import normalise
    from ipmo.records.reconcile import reconcile

    def run(*sources: SourceDocument, index: date = INDEX):
        for doc in sources:
            normalise(doc.items, dictionary)
        return reconcile(list(sources), index)

    def types_of(result) -> list[str]:
        return sorted(d.type for d in result.discrepancies)

    return SimpleNamespace(item=item, source=source, tablets=tablets, INDEX=INDEX, run=run,
                           types=types_of)  # fmt: skip


# --- the sample ICS on both engines, for proposed-change tests ---------------------------------


def _seed_sample_ics(engine):
    from ipmo.security.users import seed_demo_users
    from ipmo.store import session_scope
    from ipmo.synth.sample import seed_sample_ics

    with session_scope(engine) as s:
        seed_sample_ics(s)
        seed_demo_users(s)
    return engine


@pytest.fixture
def ics_any(any_engine):
    """The sample ICS with demo users, on SQLite and on PostgreSQL."""
    return _seed_sample_ics(any_engine)


@pytest.fixture
def principal_of():
    """``principal_of(session, "pcn.pharmacist")`` → that demo user's ``Principal``."""
    from sqlalchemy import select

    from ipmo.security.models import User
    from ipmo.security.principal import Principal

    def get(session, username: str) -> Principal:
        return Principal.from_user(session.scalars(select(User).filter_by(username=username)).one())

    return get


@pytest.fixture
def client_on(app_settings, app_clock):
    """``client_on(engine, "pcn.pharmacist")`` → a TestClient for ``engine``'s store, signed in
    (the app's clock ``app_clock`` if set)."""
    from fastapi.testclient import TestClient

    from ipmo.security.users import DEMO_PASSWORD
    from ipmo.web.app import create_app

    clients = []
    apps = {}

    def make(engine, username: str):
        app = apps.setdefault(id(engine), create_app(engine, app_settings))
        if app_clock is not None:
            app.state.clock = app_clock
        client = TestClient(app, base_url="http://testserver")
        clients.append(client)
        r = sign_in(client, username, DEMO_PASSWORD)
        assert r.status_code == 303, r.text
        return client

    yield make
    for c in clients:
        c.close()
