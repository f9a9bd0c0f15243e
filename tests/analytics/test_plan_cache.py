"""plan_cache.py: a fresh process reuses planning only when definitions, presentations, ICS files
and shipped code/data are all unchanged; unreadable entries are recomputed."""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from ipmo.analytics.measures.definitions import load_definitions
from ipmo.analytics.planning import dmd_views, ipmo_measures, plan, plan_cache


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "plans"
    monkeypatch.setenv("IPMO_PLAN_CACHE_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def presentations() -> dict[str, str]:
    path = resources.files("ipmo.analytics") / "data" / "epd_profile.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["bnf_code"]: row["bnf_name"] for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def definitions():
    """A few shipped definitions whose sides are plain BNF filters (quick to plan)."""
    plain = [
        d
        for d in load_definitions().values()
        if all(s.codes_filter and not s.codes_query for s in (d.numerator, d.denominator))
    ]
    return plain[:3]


def _refuse(*_args, **_kwargs):
    raise AssertionError("planned afresh")


def _same(a, b) -> bool:
    return [(p.id, list(p.rows()), p.note) for p in a[0]] == [
        (p.id, list(p.rows()), p.note) for p in b[0]
    ] and a[1] == b[1]


def test_same_inputs_reuse_the_cached_plans(cache, definitions, presentations, monkeypatch):
    first = plan.plan_measures(definitions, presentations)
    assert list(cache.glob("plan-*.pickle"))
    monkeypatch.setattr(plan, "_plan_uncached", _refuse)
    again = plan.plan_measures(definitions, presentations)
    assert _same(first, again)
    assert [p.definition for p in again[0]] == [p.definition for p in first[0]]


def test_cached_plans_equal_uncached_plans(cache, definitions, presentations, monkeypatch):
    cached = plan.plan_measures(definitions, presentations)
    monkeypatch.setenv("IPMO_PLAN_CACHE_DIR", "off")
    assert _same(cached, plan.plan_measures(definitions, presentations))


def test_changed_presentations_miss_the_cache(cache, definitions, presentations, monkeypatch):
    plan.plan_measures(definitions, presentations)
    monkeypatch.setattr(plan, "_plan_uncached", _refuse)
    renamed = dict(presentations) | {next(iter(presentations)): "renamed"}
    with pytest.raises(AssertionError, match="planned afresh"):
        plan.plan_measures(definitions, renamed)


def test_changed_definitions_miss_the_cache(cache, definitions, presentations, monkeypatch):
    plan.plan_measures(definitions, presentations)
    monkeypatch.setattr(plan, "_plan_uncached", _refuse)
    with pytest.raises(AssertionError, match="planned afresh"):
        plan.plan_measures(definitions[:2], presentations)


def test_changed_code_or_data_misses_the_cache(cache, definitions, presentations, monkeypatch):
    plan.plan_measures(definitions, presentations)
    monkeypatch.setattr(plan, "_plan_uncached", _refuse)
    monkeypatch.setattr(plan_cache, "code_fingerprint", lambda: "another dictionary")
    with pytest.raises(AssertionError, match="planned afresh"):
        plan.plan_measures(definitions, presentations)


def test_code_fingerprint_covers_the_starter_dictionary():
    files = {
        p.name
        for package in plan_cache.PACKAGES
        for p in plan_cache._files(resources.files(package))
    }
    assert {"starter_dictionary.csv.gz", "plan.py", "biosimilar_brands.csv"} <= files
    assert not any(name.endswith(".pyc") for name in files)


def test_corrupt_entry_is_recomputed(cache, definitions, presentations):
    first = plan.plan_measures(definitions, presentations)
    (entry,) = cache.glob("plan-*.pickle")
    entry.write_bytes(b"not a pickle")
    assert _same(first, plan.plan_measures(definitions, presentations))
    assert entry.read_bytes() != b"not a pickle"


def test_cache_off_writes_nothing(tmp_path, monkeypatch, definitions, presentations):
    monkeypatch.setenv("IPMO_PLAN_CACHE_DIR", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    plan.plan_measures(definitions, presentations)
    assert plan_cache.cache_dir() is None
    assert not list(tmp_path.rglob("*.pickle"))


def test_changed_ics_measure_file_misses_the_ipmo_cache(cache, presentations, tmp_path):
    folder = tmp_path / "ics"
    folder.mkdir()
    (folder / "note.txt").write_text("one")
    ipmo_measures.ipmo_definitions(presentations, ics=[folder])
    before = set(cache.glob("ipmo-definitions-*.pickle"))
    ipmo_measures.ipmo_definitions(presentations, ics=[folder])
    assert set(cache.glob("ipmo-definitions-*.pickle")) == before  # same inputs: a hit
    (folder / "note.txt").write_text("two")
    ipmo_measures.ipmo_definitions(presentations, ics=[folder])
    assert len(set(cache.glob("ipmo-definitions-*.pickle")) - before) == 1


def test_cached_dictionary_views_equal_freshly_read_views(cache, monkeypatch):
    dmd_views.load_views.cache_clear()
    first = dmd_views.load_views()
    assert list(cache.glob("dmd-views-*.pickle"))
    dmd_views.load_views.cache_clear()
    monkeypatch.setattr(dmd_views, "build_views", _refuse)
    try:
        assert dmd_views.load_views() == first  # from the disk cache, not rebuilt
    finally:
        dmd_views.load_views.cache_clear()
    monkeypatch.undo()
    assert first == dmd_views._read_views(dmd_views.dictionary_path())
