"""PostgreSQL agrees with DuckDB on the per-item and age-band measures (their extra engine paths:
the per_item join with quantity bands, per-column list-size factors and the practice gate)."""

from __future__ import annotations

import pytest
from tests.analytics.test_engine_parity import postgres_con  # noqa: F401 (fixture)
from tests.analytics.test_spec_age_band_list_sizes import _list_sizes
from tests.analytics.test_spec_per_item_measures import CASES, PER_ITEM, write_epd

from ipmo.analytics.compute.engine import run_measures
from ipmo.analytics.ingest import datastore
from ipmo.analytics.ingest.epd import ingest_epd
from ipmo.analytics.ingest.list_sizes import ingest_list_sizes
from ipmo.analytics.measures.definitions import load_definitions
from ipmo.analytics.planning.plan import plan_measures

AGE_BAND = ("cmpaperpt", "tamoxifen")
EXTRA_ROWS = [
    ("0913107A0AAAAAA", "Amino acid formula powder", 1, 4),
    ("0803041S0AAAAAA", "Tamoxifen 20mg tablets", 30, 2),
]
COUNTS = {
    "A81001": {("MALE", "0_4"): 30, ("FEMALE", "0_4"): 20, ("FEMALE", "35_39"): 12,
               ("FEMALE", "50_54"): 40},
    "A81002": {("FEMALE", "35_39"): 10, ("FEMALE", "60_64"): 300, ("MALE", "0_4"): 7},
}  # fmt: skip


@pytest.mark.postgres
def test_postgres_agrees_with_duckdb_on_per_item_and_age_band_measures(
    tmp_path,
    postgres_con,  # noqa: F811
):
    rows = [r for measure in PER_ITEM for r in CASES[measure][0]] + EXTRA_ROWS
    root = tmp_path / "store"
    ingest_epd([write_epd(tmp_path / "EPD_202501.csv", rows, tuple(COUNTS))], root)
    ingest_list_sizes(_list_sizes(tmp_path / "ls.csv", COUNTS), root)
    duck = datastore.connect_duckdb(root)
    table = duck.table("presentations").to_pyarrow()
    codes = dict(zip(table["bnf_code"].to_pylist(), table["bnf_name"].to_pylist(), strict=True))
    definitions = load_definitions()
    plans, skipped = plan_measures([definitions[m] for m in PER_ITEM + AGE_BAND], codes)
    assert not skipped and len(plans) == 8
    expected = run_measures(duck, plans).values.to_pylist()
    datastore.load_into(postgres_con, datastore.read_tables(root))
    got = run_measures(postgres_con, plans).values.to_pylist()
    assert len(got) == len(expected) and any(r["numerator"] for r in expected)
    for mine, theirs in zip(got, expected, strict=True):
        assert {k: str(v) for k, v in mine.items() if k in ("measure", "org_code")} == {
            k: str(v) for k, v in theirs.items() if k in ("measure", "org_code")
        }
        for key in ("numerator", "denominator", "calc_value"):
            assert mine[key] == pytest.approx(theirs[key], nan_ok=True), (mine, key)
