"""Spec: biosimilar uptake = biosimilar-brand items ÷ all items of the molecule (high is good).

Brand roles come from ``data/biosimilar_brands.csv`` (cited per row, sources in data/SOURCE.md);
molecules from the starter dictionary's VTM → VMP → BNF links or from brand names in the data.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from importlib import resources
from pathlib import Path

import pytest

from ipmo.analytics.compute.service import compute
from ipmo.analytics.ingest import datastore
from ipmo.analytics.ingest.epd import ingest_epd
from ipmo.analytics.measures.biosimilars import (
    BrandTableError,
    biosimilar_definitions,
    brand_of,
    brand_table,
    classify,
    measure_id,
)
from ipmo.analytics.measures.dmd_index import DmdIndex, dmd_index

EPD = "peers/openprescribing/fixtures/epd_format/epd_201709_e2e_4practices.csv"
NO_DMD = DmdIndex({}, {}, {})  # name rules only


def _epd_rows(shared_dir: Path) -> list[dict[str, str]]:
    with (shared_dir / EPD).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def epd_names(shared_dir) -> dict[str, str]:
    return {r["BNF_CODE"]: r["BNF_DESCRIPTION"] for r in _epd_rows(shared_dir)}


@pytest.fixture(scope="module")
def epd_run(shared_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("epd")
    ingest_epd([shared_dir / EPD], root)
    return compute(datastore.connect_duckdb(root), [], levels=("practice",), with_ipmo=True)


def test_every_molecule_has_an_originator_and_every_row_a_source_in_source_md():
    table = brand_table()
    source_md = (resources.files("ipmo.analytics") / "data" / "SOURCE.md").read_text("utf-8")
    molecules = {b.molecule for b in table}
    assert {"adalimumab", "etanercept", "infliximab", "insulin glargine"} <= molecules
    for molecule in molecules:
        assert any(b.role == "originator" for b in table if b.molecule == molecule), molecule
    for brand in table:
        keys = re.findall(r"\b[A-Z][A-Z0-9]+(?:-[A-Z0-9]+)+\b|\b[A-Z]{3,}[0-9]{4}\b", brand.source)
        keys = [k for k in keys if k != "BNF"]
        assert keys or "dm+d" in brand.source, brand
        for key in keys:
            assert key in source_md, f"{brand.brand}: source {key} is not described in SOURCE.md"


def test_originators_are_the_reference_products():
    originators = {b.molecule: b.brand for b in brand_table() if b.role == "originator"}
    assert originators == {
        "adalimumab": "Humira", "etanercept": "Enbrel", "infliximab": "Remicade",
        "insulin glargine": "Lantus", "rituximab": "MabThera", "trastuzumab": "Herceptin",
        "teriparatide": "Forsteo", "enoxaparin": "Clexane",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("name", "brand"),
    [
        ("Ins Lantus SoloStar_100u/ml 3ml Pf Pen", "Ins Lantus SoloStar"),  # EPD abbreviated
        ("Abasaglar KwikPen_100u/ml 3ml Pf Pen", "Abasaglar KwikPen"),
        ("Clexane Forte 120mg/0.8ml solution for injection pre-filled syringes", "Clexane Forte"),
        ("Enoxaparin Becat 20mg/0.2ml solution for injection", "Enoxaparin Becat"),  # dm+d style
    ],
)
def test_brand_words_are_read_from_both_bnf_name_styles(name, brand):
    assert brand_of(name) == brand


def test_real_epd_glargine_presentations_take_their_brand_role(epd_names):
    glargine = classify(epd_names)["insulin glargine"]
    assert glargine.roles["0601012V0BBAEAD"] == "originator"  # Ins Lantus SoloStar
    assert glargine.roles["0601012V0BDACAD"] == "biosimilar"  # Abasaglar KwikPen
    assert glargine.roles["0601012V0AAADAD"] == "generic"  # Ins Glargine_Inj 3ml Pf Pen
    # a generic code stays generic although its name mentions the originator ("Gppe Ins_Lantus")
    assert glargine.roles["0601012V0AAABAB"] == "generic"
    assert glargine.unlisted == ()
    assert not any(code.startswith("0212") for code in glargine.roles)


def test_toujeo_and_generic_300_units_are_outside_the_glargine_comparison():
    names = dmd_index().bnf_names
    glargine = classify(names)["insulin glargine"]
    toujeo = [c for c in glargine.roles if "toujeo" in names[c].lower()]
    assert toujeo and all(glargine.roles[c] == "excluded" for c in toujeo)
    assert glargine.roles["0601012V0AAAEAE"] == "excluded"  # glargine 300 units/ml generic
    assert glargine.roles["0601012V0AAADAD"] == "generic"  # 100 units/ml generic stays in
    assert not any(c.startswith("0601012AB") for c in glargine.roles)  # + lixisenatide: other VTM


def test_molecule_is_found_from_brand_names_when_the_dictionary_lacks_it():
    names = {
        "1001030U0AAAAAA": "Adalimumab_Inj 40mg/0.8ml Pf Syr",
        "1001030U0BBAAAA": "Humira_Inj 40mg/0.8ml Pf Pen",
        "1001030U0BCAAAA": "Amgevita_Inj 40mg/0.8ml Pf Pen",
        "1001030U0BDAAAA": "Newbrand_Inj 40mg/0.8ml Pf Pen",
        "0212000B0AAAAAA": "Atorvastatin_Tab 10mg",
    }
    scopes = classify(names, index=NO_DMD)
    assert set(scopes) == {"adalimumab"}
    scope = scopes["adalimumab"]
    assert scope.roles == {
        "1001030U0AAAAAA": "generic", "1001030U0BBAAAA": "originator",
        "1001030U0BCAAAA": "biosimilar", "1001030U0BDAAAA": "biosimilar",
    }  # fmt: skip
    assert scope.unlisted == ("Newbrand",)  # counted as biosimilar, listed for review


def test_no_measure_for_a_molecule_absent_from_the_data():
    definitions = biosimilar_definitions({"0212000B0AAAAAA": "Atorvastatin_Tab 10mg"})
    assert definitions == []


def test_measure_is_a_high_is_good_percentage_of_items(epd_names):
    (glargine,) = [
        d for d in biosimilar_definitions(epd_names) if d.id == measure_id("insulin glargine")
    ]
    assert glargine.is_percentage and glargine.low_is_good is False
    assert glargine.numerator.type == glargine.denominator.type == "bnf_items"
    assert set(glargine.numerator.codes_filter) <= set(glargine.denominator.codes_filter)


def test_glargine_uptake_through_the_engine_equals_the_raw_epd_counts(shared_dir, epd_run):
    biosimilar = {"0601012V0BDACAD", "0601012V0BDABAA", "0601012V0BEAAAD"}  # Abasaglar, Semglee
    num: dict[str, int] = defaultdict(int)
    den: dict[str, int] = defaultdict(int)
    for row in _epd_rows(shared_dir):
        if row["BNF_CODE"].startswith("0601012V0"):
            den[row["PRACTICE_CODE"]] += int(row["ITEMS"])
            if row["BNF_CODE"] in biosimilar:
                num[row["PRACTICE_CODE"]] += int(row["ITEMS"])
    rows = [
        r
        for r in epd_run.results.values.to_pylist()
        if r["measure"] == "ipmo_biosimilar_insulin_glargine"
    ]
    assert {r["org_code"] for r in rows} == set(den)
    for r in rows:
        assert r["numerator"] == num[r["org_code"]]
        assert r["denominator"] == den[r["org_code"]]
    assert any(r["numerator"] > 0 for r in rows) and any(r["numerator"] == 0 for r in rows)


def test_bad_brand_table_is_refused_naming_line_and_field(tmp_path):
    bad = tmp_path / "brands.csv"
    bad.write_text("molecule,brand,role,source\nadalimumab,Humira,reference,EMA\n")
    with pytest.raises(BrandTableError, match=r"brands\.csv, line 2: role 'reference'"):
        brand_table(bad)
    bad.write_text("molecule,brand,role,source\nadalimumab,Humira,originator,\n")
    with pytest.raises(BrandTableError, match=r"line 2: source is empty"):
        brand_table(bad)
    bad.write_text("molecule,brand,role\nadalimumab,Humira,originator\n")
    with pytest.raises(BrandTableError, match=r"columns must be molecule, brand, role, source"):
        brand_table(bad)
