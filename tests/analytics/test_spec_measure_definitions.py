"""Spec: OpenPrescribing measure definitions load unchanged; bad ones are refused (fixtures §2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipmo.analytics.measures.definitions import (
    MeasureDefinitionError,
    load_definition,
    load_definitions,
    parse_definition,
)
from ipmo.analytics.planning.codesets import parse_filter, resolve
from ipmo.analytics.planning.custom_sql import UnsupportedSql, compile_custom_side
from ipmo.analytics.planning.plan import plan_measures


def _tests_dir(shared_dir: Path) -> Path:
    return shared_dir / "peers/openprescribing/fixtures/measure_test_definitions"


def test_all_80_shipped_definitions_load_and_match_the_peer_copy(shared_dir):
    shipped = load_definitions()
    assert len(shipped) == 80
    peer = shared_dir / "peers/openprescribing/measure_definitions"
    for path in peer.glob("*.json"):
        assert shipped[path.stem].raw == load_definition(path).raw


def test_peer_test_definitions_load(shared_dir):
    loaded = load_definitions(_tests_dir(shared_dir))
    assert set(loaded) == {"coproxamol", "desogestrel", "glutenfree"}
    assert loaded["desogestrel"].is_percentage and loaded["desogestrel"].is_cost_based
    assert loaded["coproxamol"].denominator.type == "list_size"


def test_bad_json_is_refused_naming_file_and_line(shared_dir):
    with pytest.raises(MeasureDefinitionError, match=r"bad_json\.json, line 3: invalid JSON"):
        load_definition(_tests_dir(shared_dir) / "bad" / "bad_json.json")


def test_bad_sql_is_refused_naming_the_unknown_column(shared_dir):
    with pytest.raises(MeasureDefinitionError, match=r"bad_sql\.json, line \d+: .*'bnf_codex'"):
        load_definition(_tests_dir(shared_dir) / "bad" / "bad_sql.json")


def test_unknown_side_type_is_refused():
    text = '{"name": "x", "title": "", "description": "", "is_percentage": false,'
    text += ' "is_cost_based": false, "low_is_good": true, "numerator_type": "bnf_pills",'
    text += ' "denominator_type": "list_size"}'
    with pytest.raises(MeasureDefinitionError, match="numerator_type 'bnf_pills'"):
        parse_definition("x", text, "x.json")


def test_filter_semantics_prefix_exact_like_and_exclusion():
    codes = ["0206020C0AAAAAA", "0206020C0AAABAB", "0206020C0BBAAAA", "0206020M0AAAAAA"]
    f = parse_filter(["0206020C0 # diltiazem", "~0206020C0%AA # not 60mg tabs"])
    assert resolve(f, codes) == {"0206020C0AAABAB"}
    exact = parse_filter(["0206020C0AAAAAA"])
    assert resolve(exact, codes + ["0206020C0AAAAAAX"]) == {"0206020C0AAAAAA"}
    assert resolve(parse_filter(["0206020C0%AB"]), codes) == {"0206020C0AAABAB"}


def test_custom_sql_case_weights_are_ported_per_presentation():
    """carbon_salbutamol: CASE WHEN bnf_code = … THEN quantity * kg CO2e END, per inhaler code."""
    definition = load_definitions()["carbon_salbutamol"]
    codes = {"0301011R0BMAAAP": "Airomir", "0301011R0BWAABZ": "Easyhaler", "0101010": "other"}
    column, weights, scale = compile_custom_side(definition.numerator, codes)
    assert column == "quantity" and scale == 1.0
    assert weights == {"0301011R0BMAAAP": 9.72, "0301011R0BWAABZ": 0.62}


def test_custom_sql_with_dmd_joins_is_reported_not_guessed():
    definition = load_definitions()["statinintensity"]
    with pytest.raises(UnsupportedSql, match="dm\\+d"):
        compile_custom_side(definition.numerator, {"0212000B0AAAAAA": "Atorvastatin"})


def test_plan_counts_runnable_measures_and_gives_a_reason_for_each_skipped():
    presentations = {"0212000B0AAAAAA": "Atorvastatin 10mg tablets"}
    plans, skipped = plan_measures(load_definitions().values(), presentations)
    assert len(plans) + len(skipped) == 80
    assert len(plans) >= 34
    assert all(reason for reason in skipped.values())
    assert "carbon_salbutamol" in {p.id for p in plans}
