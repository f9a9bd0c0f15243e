"""Spec: list sizes by age band and sex as denominators (cmpaperpt, tamoxifen).

Both definitions read OpenPrescribing's ``{hscic}.practice_statistics`` (src/ipmo/analytics/data/
measure_definitions/cmpaperpt.json: ``SUM(male_0_4 + female_0_4)``; tamoxifen.json:
``(max(female_35_44) + … + max(female_65_74)) / 1000.0`` WHERE ``female_35_44 > 10``). The
ten-year columns are folded from NHS Digital's quinary bands as the peer's list-size import does.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from tests.analytics.test_spec_per_item_measures import write_epd

from ipmo.analytics.compute.engine import run_measures
from ipmo.analytics.ingest import datastore
from ipmo.analytics.ingest.epd import ingest_epd
from ipmo.analytics.ingest.list_sizes import (
    BAND_COLUMNS,
    COLUMNS,
    ingest_list_sizes,
    list_size_side,
    read_list_sizes,
)
from ipmo.analytics.measures.definitions import load_definitions
from ipmo.analytics.planning.plan import plan_measures

E2E = "peers/openprescribing/fixtures/list_size_star_pu/gp-reg-pat-prac-quin-age_e2e_2017_09.csv"


def test_band_columns_fold_quinary_bands_per_sex(shared_dir):
    """female_35_44 = FEMALE 35_39 + 40_44; male_0_4 = MALE 0_4 (fixture B85010, 2017-09)."""
    path = shared_dir / E2E
    with path.open(newline="") as handle:
        raw = {
            (r["SEX"], r["AGE_GROUP_5"]): int(r["NUMBER_OF_PATIENTS"])
            for r in csv.DictReader(handle)
            if r["ORG_CODE"] == "B85010"
        }
    row = next(r for r in read_list_sizes(path).to_pylist() if r["practice"] == "B85010")
    assert row["female_35_44"] == raw[("FEMALE", "35_39")] + raw[("FEMALE", "40_44")]
    assert row["male_0_4"] == raw[("MALE", "0_4")]
    assert row["female_75_plus"] == sum(
        raw[("FEMALE", b)] for b in ("75_79", "80_84", "85_89", "90_94", "95+")
    )
    assert sum(row[c] for c in BAND_COLUMNS) == raw[("ALL", "ALL")]


def test_practice_statistics_sides_become_list_size_columns():
    defs = load_definitions()
    cmp, tam = defs["cmpaperpt"].denominator, defs["tamoxifen"].denominator
    assert list_size_side(cmp.columns, cmp.where) == ({"male_0_4": 1.0, "female_0_4": 1.0}, ())
    factors, gate = list_size_side(tam.columns, tam.where)
    assert factors == dict.fromkeys(
        ["female_35_44", "female_45_54", "female_55_64", "female_65_74"], 0.001
    )
    assert gate == ("female_35_44", 10.0)
    with pytest.raises(ValueError, match="unsupported"):
        list_size_side("SUM(male_0_4 * 2)", None)


def _list_sizes(path: Path, counts: dict[str, dict[tuple[str, str], int]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for practice, bands in counts.items():
            rows = [
                ("ALL", "ALL", sum(bands.values())),
                *((s, b, n) for (s, b), n in bands.items()),
            ]
            for sex, band, n in rows:
                writer.writerow(["GP_PRAC_PAT_LIST", "01JAN2025", "GP", practice, "", "", sex,
                                 band, n])  # fmt: skip
    return path


def _run(tmp_path: Path, measure: str, rows: list, counts: dict) -> dict[str, tuple]:
    root = tmp_path / "store"
    ingest_epd([write_epd(tmp_path / "EPD_202501.csv", rows, tuple(counts))], root)
    ingest_list_sizes(_list_sizes(tmp_path / "ls.csv", counts), root)
    con = datastore.connect_duckdb(root)
    table = con.table("presentations").to_pyarrow()
    codes = dict(zip(table["bnf_code"].to_pylist(), table["bnf_name"].to_pylist(), strict=True))
    plans, skipped = plan_measures([load_definitions()[measure]], codes)
    assert not skipped, skipped
    values = run_measures(con, plans, ("practice",)).values.to_pylist()
    return {v["org_code"]: (v["numerator"], v["denominator"]) for v in values}


def test_cmpaperpt_denominator_is_patients_aged_0_4_of_both_sexes(tmp_path):
    aaf = [("0913107A0AAAAAA", "Amino acid formula powder", 1, 4)]  # cost 4 × 1.5
    counts = {("MALE", "0_4"): 30, ("FEMALE", "0_4"): 20, ("MALE", "5_9"): 100}
    got = _run(tmp_path, "cmpaperpt", aaf, {"A81001": counts})
    assert got["A81001"] == (pytest.approx(6.0), 50)


def test_tamoxifen_denominator_is_women_35_74_per_1000_where_more_than_10_aged_35_44(tmp_path):
    tam = [("0803041S0AAAAAA", "Tamoxifen 20mg tablets", 30, 2)]  # 60 tablets = 60 ADQ
    women = {("FEMALE", "35_39"): 6, ("FEMALE", "40_44"): 6, ("FEMALE", "50_54"): 100}
    women |= {("FEMALE", "70_74"): 8, ("FEMALE", "75_79"): 500, ("MALE", "40_44"): 900}
    few = {("FEMALE", "35_39"): 5, ("FEMALE", "40_44"): 5, ("FEMALE", "60_64"): 300}
    got = _run(tmp_path, "tamoxifen", tam, {"A81001": women, "A81002": few})
    assert got["A81001"] == (pytest.approx(60.0), pytest.approx(0.12))
    assert got["A81002"] == (pytest.approx(60.0), 0.0)  # 10 women aged 35-44: not > 10
