"""Store-backed service API: load_starter_dictionary, lookup, resolve_to_vmp_vtm, search."""

import pytest
from sqlalchemy import func, select

from ipmo.store import create_store_engine, init_store, session_scope
from ipmo.terminology import (
    Dictionary,
    load_starter_dictionary,
    lookup,
    resolve_to_vmp_vtm,
    search,
)
from ipmo.terminology.dmd_xml import import_release
from ipmo.terminology.models import BnfPresentation, DmdAmp, DmdVmp


@pytest.fixture(scope="module")
def shipped():
    return Dictionary.load()


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """One SQLite store with the starter dictionary, shared by the read-only tests."""
    eng = create_store_engine(f"sqlite:///{tmp_path_factory.mktemp('db') / 'store.sqlite3'}")
    init_store(eng)
    with session_scope(eng) as s:
        load_starter_dictionary(s)
    yield eng
    eng.dispose()


def test_load_is_complete_and_idempotent(any_engine, shipped):
    with session_scope(any_engine) as s:
        first = load_starter_dictionary(s)
    with session_scope(any_engine) as s:
        again = load_starter_dictionary(s)
        assert s.scalar(select(func.count()).select_from(DmdVmp)) == first["VMP"]
        assert s.scalar(select(func.count()).select_from(BnfPresentation)) > 5_000
    kinds = {r["kind"] for r in shipped.rows.values()}
    assert first["VMP"] == sum(1 for r in shipped.rows.values() if r["kind"] == "VMP")
    assert first["AMP"] > 20_000 and "AMP" in kinds
    assert set(again.values()) == {0}


def test_store_and_memory_agree(loaded, shipped):
    with session_scope(loaded) as s:
        for code in ("39695411000001103", "22479611000001102", "318338001", "108564000"):
            assert lookup(s, code) == shipped.lookup(code), code
            assert resolve_to_vmp_vtm(s, code) == shipped.resolve_to_vmp_vtm(code)


def test_lookup_unknown_and_bad_codes(engine):
    with session_scope(engine) as s:
        assert lookup(s, "318902004") is None
        assert lookup(s, "not-a-code") is None
        assert lookup(s, "") is None
        assert resolve_to_vmp_vtm(s, "318902004") == (None, None)


def test_release_import_keeps_starter_rows_and_overrides_same_ids(engine, shared_dir):
    fixtures = shared_dir / "peers" / "openprescribing" / "dmd_fixtures"
    with session_scope(engine) as s:
        load_starter_dictionary(s)
        n_amps = s.scalar(select(func.count()).select_from(DmdAmp))
        import_release(s, fixtures / "release_2")
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(DmdAmp)) == n_amps
        amp = s.get(DmdAmp, "22479611000001102")
        assert amp.vmp_id == "12345" and amp.source == "dmd:release_2"
        assert lookup(s, "22480211000001104").id == "12345"


def test_search_orders_levels_and_matches_every_word(loaded):
    with session_scope(loaded) as s:
        found = search(s, "ramipril 5mg", limit=10)
        assert len(found) == 10
        assert all("ramipril" in c.name.lower() and "5mg" in c.name.lower() for c in found)
        order = ["VTM", "VMP", "AMP"]
        assert [order.index(c.level) for c in found] == sorted(order.index(c.level) for c in found)
        assert search(s, "ramipril", limit=1)[0].level == "VTM"
        assert search(s, "22480211000001104")[0].name == "Diclofenac 2.32% gel"
        assert search(s, "zzzz-nothing") == []
        assert search(s, "100%_") == []  # LIKE wildcards are escaped


def test_a_missing_dictionary_file_is_an_error_not_an_empty_dictionary(tmp_path):
    from ipmo.terminology import DictionaryMissing, read_artifact

    with pytest.raises(DictionaryMissing, match="missing.csv.gz is missing"):
        Dictionary.load(tmp_path / "missing.csv.gz")
    with pytest.raises(DictionaryMissing):
        read_artifact(tmp_path / "missing.csv.gz")


def test_dmd_release_drug_tariff_price_gives_a_unit_price_else_no_price(engine, shared_dir):
    """dm+d VMPP DRUG_TARIFF_INFO/DTINFO PRICE (pence per pack) over the pack size: Diclofenac
    2.32% gel (VMP 12345) packs of 30 g at 461p, 50 g at 659p, 100 g at 1121p in the fixture;
    the lowest per gram is 100 g's 11.21p. An AMP is priced through its VMP; a VMP without a
    priced pack has no price (absent)."""
    from ipmo.terminology import unit_prices
    from ipmo.terminology.models import DmdVmpp

    fixtures = shared_dir / "peers" / "openprescribing" / "dmd_fixtures"
    with session_scope(engine) as s:
        import_release(s, fixtures / "release_2")
    with session_scope(engine) as s:
        assert s.get(DmdVmpp, "22479411000001100").price_pence == 659
        assert s.get(DmdVmpp, "34516311000001106").price_pence is None
        prices = unit_prices(s, ["12345", "22479611000001102", "35894711000001106"])
        assert prices["12345"].pence == pytest.approx(11.21)
        assert prices["12345"].pack == "Diclofenac 2.32% gel 100 gram"
        assert prices["22479611000001102"] == prices["12345"]  # the AMP, through its VMP
        assert "35894711000001106" not in prices  # adenosine: no Drug Tariff price
