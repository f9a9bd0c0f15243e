"""Spec: inhaler carbon measures — MDI share as OpenPrescribing's environmental_inhalers, and
kg CO2e per 1,000 patients and per inhaler from a cited per-product / per-class table."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import defaultdict
from importlib import resources
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ipmo.analytics.compute.service import compute
from ipmo.analytics.ingest import datastore
from ipmo.analytics.ingest.epd import ingest_epd
from ipmo.analytics.measures.definitions import load_definitions
from ipmo.analytics.measures.dmd_index import DmdIndex, dmd_index
from ipmo.analytics.measures.inhalers import (
    MDI_SHARE_ID,
    PER_1000_ID,
    PER_INHALER_ID,
    InhalerTableError,
    co2e_table,
    device_of,
    inhaler_definitions,
    inhalers,
)
from ipmo.analytics.planning.custom_sql import compile_custom_side

EPD = "peers/openprescribing/fixtures/epd_format/epd_201709_e2e_4practices.csv"
NO_DMD = DmdIndex({}, {}, {})  # name rules only
LIST_SIZE = {"B85010": 8000, "B85054": 12000, "L84018": 6000, "L84073": 4000}


def _epd_rows(shared_dir: Path) -> list[dict[str, str]]:
    with (shared_dir / EPD).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def epd_names(shared_dir) -> dict[str, str]:
    return {r["BNF_CODE"]: r["BNF_DESCRIPTION"] for r in _epd_rows(shared_dir)}


@pytest.fixture(scope="module")
def epd_values(shared_dir, tmp_path_factory) -> dict[tuple[str, str], dict]:
    """Engine results (practice level) for the real EPD month with made-up list sizes."""
    root = tmp_path_factory.mktemp("epd")
    ingest_epd([shared_dir / EPD], root)
    sizes = pa.table(
        {
            "practice": list(LIST_SIZE),
            "month": pa.array([dt.date(2017, 9, 1)] * len(LIST_SIZE), pa.date32()),
            "total_list_size": list(LIST_SIZE.values()),
        }
    )
    pq.write_table(sizes, root / "list_sizes.parquet")
    run = compute(datastore.connect_duckdb(root), [], levels=("practice",), with_ipmo=True)
    return {(r["measure"], r["org_code"]): r for r in run.results.values.to_pylist()}


@pytest.mark.parametrize(
    ("code", "name", "device"),
    [
        ("0301011R0BEAIAP", "Ventolin_Evohaler 100mcg (200 D)", "MDI"),
        ("0301011R0BEAHAQ", "Ventolin_Accuhaler 200mcg (60 D)", "DPI"),
        ("0301020Q0BBACAC", "Spiriva Respimat_Inha 2.5mcg (60D) + Dev", "SMI"),
        ("0302000C0BQAABX", "Fostair_Inh 100mcg/6mcg (120D) CFF", "MDI"),
        ("0302000C0BRAABY", "Fostair NEXThaler_Inh 100mcg/6mcg (120D)", "DPI"),
        ("0301020Q0BBAAAA", "Spiriva_Pdr For Inh Cap 18mcg+HandiHaler", "DPI"),
        ("0302000N0AABJBJ", "Fluticasone 125micrograms/dose / Formoterol inhaler CFC free", "MDI"),
        ("0301011R0AAAXAX", "Salbutamol_Inh Soln 2.5mg/2.5ml Ud", "nebuliser"),
        ("0303020G0AAAAAA", "Montelukast_Tab 10mg", None),
        ("0601012V0BBAEAD", "Ins Lantus SoloStar_100u/ml 3ml Pf Pen", None),  # not chapter 3
    ],
)
def test_device_class_from_bnf_name_rules(code, name, device):
    assert device_of(code, name, NO_DMD) == device


def test_dmd_form_decides_where_the_name_cannot():
    name = "Umeclidinium Brom_Inh 65mcg (30D)"  # Incruse Ellipta generic: "Inh" says nothing
    assert device_of("0301020T0AAAAAA", name, NO_DMD) is None
    assert device_of("0301020T0AAAAAA", name, dmd_index()) == "DPI"


def test_bare_inha_yields_to_the_device_named_by_a_brand_of_the_same_generic():
    name = "Terbut Sulf_B/A Inha 500mcg (100 D)"  # the Bricanyl Turbohaler generic
    assert device_of("0301011V0AAALAL", name, NO_DMD) == "MDI"  # "Inha" alone: weak evidence
    sibling = ["Bricanyl_Turbohaler 500mcg (100 D)"]
    assert device_of("0301011V0AAALAL", name, NO_DMD, sibling) == "DPI"


def test_salbutamol_co2e_rows_equal_openprescribing_carbon_salbutamol():
    carbon = load_definitions()["carbon_salbutamol"]
    codes = re.findall(r"'(0301011R0\w{6})'", carbon.numerator.where or "")
    _, op_weights, _ = compile_custom_side(carbon.numerator, {c: "" for c in codes})
    ours = {r.value: r.kg_co2e for r in co2e_table() if r.match == "bnf_code"}
    assert len(op_weights) == 18
    assert ours == op_weights


def test_every_co2e_row_cites_a_source_described_in_source_md():
    source_md = (resources.files("ipmo.analytics") / "data" / "SOURCE.md").read_text("utf-8")
    for row in co2e_table():
        for key in re.split(r"\s*\+\s*", row.source):
            assert f"**{key}**" in source_md, f"{row.value}: {key}"
    defaults = {r.device for r in co2e_table() if r.match == "device"}
    assert defaults == {"MDI", "DPI", "SMI"}  # every device class has a (labelled) default
    assert all(r.level == "class_default" for r in co2e_table() if r.match == "device")


def test_co2e_is_resolved_most_specific_first():
    names = {
        "0301011R0BEAIAP": "Ventolin_Evohaler 100mcg (200 D)",  # product (OpenPrescribing)
        "0302000N0BDABBK": "Flutiform_Inha 250/10mcg (120 D)",  # product family (HFA227ea)
        "0302000C0BPABBF": "Clenil Modulite_Inha 100mcg (200D)",  # chemical class (ICS)
        "0301040AABBAAAA": "Bevespi Aerosphere 7.2micrograms/dose inhaler",  # MDI default
        "0302000C0BRAABY": "Fostair NEXThaler_Inh 100mcg/6mcg (120D)",  # DPI default
    }
    found = inhalers(names, index=NO_DMD)
    got = {c: (i.kg_co2e, i.level) for c, i in found.items()}
    assert got == {
        "0301011R0BEAIAP": (28.26, "product"),
        "0302000N0BDABBK": (36.5, "product_family"),
        "0302000C0BPABBF": (20.35, "class_default"),
        "0301040AABBAAAA": (19.65, "class_default"),
        # the Fostair MDI family value (19.65 kg) applies to MDIs only, not to the NEXThaler DPI
        "0302000C0BRAABY": (1.0, "class_default"),
    }


def test_capsule_inhalers_count_thirty_doses_per_device_pack():
    found = inhalers(
        {
            "0301020Q0BBAAAA": "Spiriva_Pdr For Inh Cap 18mcg+HandiHaler",
            "0302000V0BBAAAA": "Relvar Ellipta_Inha 184mcg/22mcg (30 D)",
        },
        index=NO_DMD,
    )
    assert found["0301020Q0BBAAAA"].kg_per_quantity_unit == pytest.approx(1.0 / 30)
    assert found["0302000V0BBAAAA"].kg_per_quantity_unit == pytest.approx(0.81)


def test_no_inhaler_measures_without_inhalers_in_the_data():
    assert inhaler_definitions({"0212000B0AAAAAA": "Atorvastatin_Tab 10mg"}) == []


def test_mdi_share_counts_items_and_leaves_out_salbutamol(shared_dir, epd_names, epd_values):
    (share,) = [d for d in inhaler_definitions(epd_names) if d.id == MDI_SHARE_ID]
    assert share.is_percentage and share.low_is_good is True
    for side in (share.numerator, share.denominator):
        assert not any(code.startswith("0301011R0") for code in side.codes_filter)
    found = inhalers(epd_names)
    num: dict[str, int] = defaultdict(int)
    den: dict[str, int] = defaultdict(int)
    for row in _epd_rows(shared_dir):
        item = found.get(row["BNF_CODE"])
        if item is None or row["BNF_CODE"].startswith("0301011R0"):
            continue
        den[row["PRACTICE_CODE"]] += int(row["ITEMS"])
        num[row["PRACTICE_CODE"]] += int(row["ITEMS"]) if item.device == "MDI" else 0
    for practice in LIST_SIZE:
        value = epd_values[(MDI_SHARE_ID, practice)]
        assert (value["numerator"], value["denominator"]) == (num[practice], den[practice])
        assert 0 < value["calc_value"] < 1


def test_co2e_per_inhaler_and_per_1000_patients_from_raw_quantities(
    shared_dir, epd_names, epd_values
):
    found = inhalers(epd_names)
    kg: dict[str, float] = defaultdict(float)
    devices: dict[str, float] = defaultdict(float)
    for row in _epd_rows(shared_dir):
        item = found.get(row["BNF_CODE"])
        if item is not None:
            quantity = float(row["TOTAL_QUANTITY"])
            kg[row["PRACTICE_CODE"]] += quantity * item.kg_per_quantity_unit
            devices[row["PRACTICE_CODE"]] += quantity / item.doses_per_unit
    for practice, size in LIST_SIZE.items():
        per_inhaler = epd_values[(PER_INHALER_ID, practice)]
        assert per_inhaler["numerator"] == pytest.approx(kg[practice], rel=1e-9)
        assert per_inhaler["calc_value"] == pytest.approx(kg[practice] / devices[practice])
        assert 1 < per_inhaler["calc_value"] < 36.5  # between all-DPI and all-HFA227ea
        per_1000 = epd_values[(PER_1000_ID, practice)]
        assert per_1000["calc_value"] == pytest.approx(kg[practice] / (size / 1000))


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("device,*,BAI,1.0,class_default,X,", r"line 2: device 'BAI' is not one of MDI, DPI, SMI"),
        ("device,*,MDI,-3,class_default,X,", r"line 2: kg_co2e '-3' is not a positive number"),
        ("device,*,MDI,1.0,class_default,,", r"line 2: value and source are required"),
        ("ingredient,x,MDI,1.0,product,X,", r"line 2: match 'ingredient' is not one of"),
    ],
)
def test_bad_co2e_table_is_refused_naming_line_and_field(tmp_path, row, message):
    path = tmp_path / "co2e.csv"
    path.write_text("match,value,device,kg_co2e,level,source,note\n" + row + "\n")
    with pytest.raises(InhalerTableError, match=message):
        co2e_table(path)
