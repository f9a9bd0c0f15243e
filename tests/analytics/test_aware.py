"""AWaRe antibiotic measure: VTM classes mapped to BNF chemicals, run through the engine."""

from __future__ import annotations

from ipmo.analytics.compute.service import compute, presentations
from ipmo.analytics.ingest import datastore
from ipmo.analytics.ingest.epd import ingest_epd
from ipmo.analytics.measures.aware import MEASURE_ID, aware_table, classify

NAMES = {
    "0501013B0AAABAB": "Amoxicillin_Cap 500mg",
    "0501013K0AAAJAJ": "Co-Amoxiclav_Tab 500mg/125mg",
    "0501012G0AAABAB": "Fluclox Sod_Cap 500mg",
    "0501070AEAAAAAA": "Fosfomycin Trometamol_Sach 3g",
    "0501090R0AAAAAA": "Rifampicin_Cap 300mg",
    "0212000B0AAAAAA": "Atorvastatin_Tab 10mg",
}


def test_classes_follow_the_ukhsa_table_by_name():
    classes = classify(NAMES, aware_table())
    assert classes == {
        "0501013B0": "Access", "0501013K0": "Watch", "0501012G0": "Access",
        "0501070AE": "Access",  # oral fosfomycin is Access (parenteral: Reserve)
    }  # fmt: skip


def test_aware_measure_runs_with_watch_share_between_0_and_1(shared_dir, tmp_path):
    epd = shared_dir / "peers/openprescribing/fixtures/epd_format/epd_201709_e2e_4practices.csv"
    ingest_epd([epd], tmp_path)
    con = datastore.connect_duckdb(tmp_path)
    assert presentations(con)
    run = compute(con, [], levels=("practice",), with_ipmo=True)
    rows = [r for r in run.results.values.to_pylist() if r["measure"] == MEASURE_ID]
    assert len(rows) == 4
    for row in rows:
        assert 0 < row["numerator"] < row["denominator"]
        assert 0 < row["calc_value"] < 1
