"""The analytics demo hook: EPD for the store's own practices, with its hierarchy and deprivation;
and the measure cache follows the ICS's own YAML measures."""

from __future__ import annotations

import os

import pyarrow.parquet as pq
import pytest
from sqlalchemy import text

from ipmo.analytics import demo
from ipmo.analytics.compute import service
from ipmo.analytics.measures.ics_measures import shipped_dir
from ipmo.analytics.reports import catalogue, dashboard
from ipmo.analytics.reports.inequalities import load_deprivation
from ipmo.store import create_store_engine, init_store
from ipmo.synth import generate

MONTHS = ("2025_01", "2025_02")


def _store_rows(engine):
    """practice → (name, pcn, place, icb, imd_decile), read straight from the organisations table:
    practice → PCN → place → ICB by parent_code."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """SELECT pr.ods_code, pr.name, pcn.ods_code, place.ods_code, icb.ods_code,
                          pr.imd_decile
                   FROM organisations pr
                   JOIN organisations pcn ON pcn.ods_code = pr.parent_code AND pcn.kind = 'pcn'
                   JOIN organisations place ON place.ods_code = pcn.parent_code
                   JOIN organisations icb ON icb.ods_code = place.parent_code
                   WHERE pr.kind = 'practice'"""
            )
        ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


@pytest.fixture(scope="module")
def demo_ics(tmp_path_factory):
    """(store engine, analytics folder) after the hook ran on the tiny synthetic ICS."""
    tmp = tmp_path_factory.mktemp("demo_hook")
    engine = create_store_engine(f"sqlite:///{tmp / 'store.sqlite3'}")
    init_store(engine)
    generate(engine, size="tiny", seed=1, progress=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IPMO_DATA_DIR", str(tmp))
        mp.setattr(demo, "DEMO_MONTHS", MONTHS)
        demo.populate(engine, 1)
        yield engine, tmp / "analytics"
    engine.dispose()


def test_demo_practices_are_the_store_practices_with_their_hierarchy(demo_ics):
    engine, root = demo_ics
    store = _store_rows(engine)
    assert store  # the tiny ICS has practices
    table = pq.read_table(root / "practices.parquet").to_pylist()
    got = {r["practice"]: (r["name"], r["pcn"], r["place"], r["icb"]) for r in table}
    assert got == {code: row[:4] for code, row in store.items()}
    prescribing = pq.read_table(root / "prescribing", columns=["practice"])
    assert set(prescribing["practice"].to_pylist()) == set(store)


def test_demo_overview_for_a_store_pcn_has_values(demo_ics, monkeypatch):
    engine, root = demo_ics
    monkeypatch.setenv("IPMO_DATA_DIR", str(root.parent))
    pcn = sorted({row[1] for row in _store_rows(engine).values()})[0]
    results = service.cached_results(root)
    rows = dashboard.overview(results.values, catalogue.load(root, results.values), "pcn", pcn)
    assert rows
    assert any(r["calc_value"] is not None for r in rows)
    assert dashboard.overview(results.values, catalogue.load(root), "pcn", "NOPCN") == []


def test_demo_deprivation_deciles_equal_the_store(demo_ics):
    engine, root = demo_ics
    store = {code: row[4] for code, row in _store_rows(engine).items() if row[4] is not None}
    assert store
    assert load_deprivation(root) == store


def test_demo_hook_without_store_practices_uses_made_up_practices(tmp_path, monkeypatch):
    monkeypatch.setenv("IPMO_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(demo, "DEMO_PRACTICES", 6)
    monkeypatch.setattr(demo, "DEMO_MONTHS", MONTHS)
    report = demo.populate(None, 7)
    assert report.startswith("IngestReport(files=2")
    root = tmp_path / "analytics"
    written = sorted(p.name for p in (root / "prescribing").glob("*.parquet"))
    assert written == ["2025-01.parquet", "2025-02.parquet"]
    practices = pq.read_table(root / "practices.parquet")
    assert practices.num_rows == 5  # 6 generated, practice 0 is an unidentified prescriber
    assert set(load_deprivation(root)) == set(practices["practice"].to_pylist())


def test_measure_cache_is_rebuilt_after_an_ics_yaml_measure_is_added(demo_ics, monkeypatch):
    _, root = demo_ics
    monkeypatch.setenv("IPMO_DATA_DIR", str(root.parent))
    values_path, _ = service.results_paths(root)
    first = service.cached_results(root)
    built = values_path.stat().st_mtime_ns
    assert service.cached_results(root) is not None
    assert values_path.stat().st_mtime_ns == built  # unchanged inputs: the cache is reused
    assert "ics_demo_hook_test" not in set(first.values["measure"].to_pylist())
    own = root / "ics_measures"
    own.mkdir()
    example = (shipped_dir() / "ics_broad_spectrum_antibiotics.yaml").read_text(encoding="utf-8")
    path = own / "ics_demo_hook_test.yaml"
    path.write_text(example.replace("id: ics_broad_spectrum_antibiotics", "id: ics_demo_hook_test"))
    os.utime(path, ns=(built - 10**9, built - 10**9))  # older than the cache: mtimes alone miss it
    rebuilt = service.cached_results(root)
    assert "ics_demo_hook_test" in set(rebuilt.values["measure"].to_pylist())
    path.unlink()
    again = service.cached_results(root)
    assert "ics_demo_hook_test" not in set(again.values["measure"].to_pylist())


def test_demo_list_sizes_come_from_the_store_so_per_patient_measures_have_values(demo_ics):
    """The demo showed 44 of 75 measures blank: every per-1,000-patients measure had no list-size
    denominator. The hook now writes the store's registered patients as list sizes."""
    engine, root = demo_ics
    with engine.connect() as conn:
        registered = dict(
            conn.execute(
                text(
                    "SELECT practice_code, COUNT(*) FROM patients WHERE practice_code IS NOT NULL"
                    " AND date_of_death IS NULL AND birth_date <= '2025-02-01'"
                    " GROUP BY practice_code"  # born by the list-size date
                )
            ).all()
        )
    sizes = pq.read_table(root / "list_sizes.parquet").to_pylist()
    assert {r["month"].strftime("%Y_%m") for r in sizes} == set(MONTHS)
    last = {r["practice"]: r["total_list_size"] for r in sizes if r["month"].month == 2}
    assert last == registered
    results = service.cached_results(root)
    icb = sorted({row[3] for row in _store_rows(engine).values()})[0]
    rows = dashboard.overview(results.values, catalogue.load(root, results.values), "icb", icb)
    per_patient = [r for r in rows if r["measure"] in ("lpcoprox", "opioidper1000", "vitbper1000")]
    assert len(per_patient) == 3 and all(not r["no_data"] for r in per_patient)
    assert sum(r["no_data"] for r in rows) <= 5
