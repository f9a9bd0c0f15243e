"""Spec: the six per-item measures (definitions on ``{hscic}.raw_prescribing_normalised``).

Each definition filters raw EPD rows on ``quantity_per_item`` (EPD ``QUANTITY``); the cases below
cite the WHERE clause of src/ipmo/analytics/data/measure_definitions/<id>.json. The data are
small EPD files (the published 2016 layout) ingested and run through the same engine as every
other measure: one row above the threshold (numerator and denominator) and one at or below it
(denominator only), plus a presentation outside the definition (neither).
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from ipmo.analytics.compute.engine import run_measures
from ipmo.analytics.ingest import datastore
from ipmo.analytics.ingest.epd import LAYOUTS, PER_ITEM_CHEMICALS, ingest_epd
from ipmo.analytics.measures.definitions import load_definitions
from ipmo.analytics.planning.dmd_views import load_views
from ipmo.analytics.planning.plan import plan_measures

PER_ITEM = (
    "amox_500_15_caps", "doxy_100_6_qty", "excess_pens", "morphine_solution_high_quantity",
    "seven_day_prescribing", "uti_antibiotics_3_day",
)  # fmt: skip
PRACTICE = "A81001"
# (measure, [(bnf_code, bnf_name, quantity per item, items)], numerator, denominator)
CASES = {
    # bnf_code LIKE '0501013B0%AB' AND quantity_per_item > 15; denominator: the code filter only
    "amox_500_15_caps": (
        [("0501013B0AAABAB", "Amoxicillin_Cap 500mg", 21, 2),
         ("0501013B0AAABAB", "Amoxicillin_Cap 500mg", 15, 3),
         ("0501013B0AAAAAA", "Amoxicillin_Cap 250mg", 21, 7)],
        2, 5,
    ),
    # (bnf_code LIKE '0501030I0%AB' or …) AND quantity_per_item > 6
    "doxy_100_6_qty": (
        [("0501030I0AAABAB", "Doxycycline Hyclate_Cap 100mg", 7, 1),
         ("0501030I0AAABAB", "Doxycycline Hyclate_Cap 100mg", 6, 4)],
        1, 5,
    ),
    # SUM(total_quantity) … quantity_per_item>3 AND (bnf_code LIKE '0601023AW%' AND bnf_name
    # LIKE '%inj%' …)
    "excess_pens": (
        [("0601023AWAAAAAA", "Semaglutide 0.25mg/0.19ml inj 1.5ml pf dispos dev", 4, 1),
         ("0601023AWAAAAAA", "Semaglutide 0.25mg/0.19ml inj 1.5ml pf dispos dev", 1, 3)],
        4, 7,
    ),
    # SUM(total_quantity) … quantity_per_item>300 AND vmp.id = 36128311000001101 (morphine
    # sulfate 10mg/5ml oral solution, joined on the generic BNF code)
    "morphine_solution_high_quantity": (
        [("0407020Q0AACNCN", "Morph Sulf_Oral Soln 10mg/5ml", 500, 1),
         ("0407020Q0AACNCN", "Morph Sulf_Oral Soln 10mg/5ml", 300, 2),
         ("0407020Q0AAAAAA", "Morphine sulfate 2mg/10ml solution for injection ampoules", 500, 1)],
        500, 1100,
    ),
    # SUM(total_quantity) … p.quantity_per_item= 7 AND bnf_code IN (atorvastatin … oral tablets)
    "seven_day_prescribing": (
        [("0212000B0AAAAAA", "Atorvastatin 10mg tablets", 7, 2),
         ("0212000B0AAAAAA", "Atorvastatin 10mg tablets", 28, 1),
         ("0212000B0AAAAAA", "Atorvastatin 10mg tablets", 8, 1)],
        14, 50,
    ),
    # (bnf_code LIKE '0501080W0%AE' AND quantity_per_item >6) OR … (bnf_code LIKE
    # '0501070AE%AD' AND quantity_per_item >1)
    "uti_antibiotics_3_day": (
        [("0501080W0AAAEAE", "Trimethoprim_Tab 200mg", 14, 1),
         ("0501080W0AAAEAE", "Trimethoprim_Tab 200mg", 6, 2),
         ("0501070AEAAADAD", "Fosfomycin Trometamol_Sach 3g", 1, 3)],
        1, 6,
    ),
}  # fmt: skip


def write_epd(
    path: Path, rows: list[tuple[str, str, float, int]], practices: tuple[str, ...] = (PRACTICE,)
) -> Path:
    """An EPD file (2016 layout, January 2025): per practice, one raw row per (code, name,
    quantity per item, items)."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(LAYOUTS["epd_2016"])
        for practice, (code, name, qpi, items) in ((p, r) for p in practices for r in rows):
            row = dict.fromkeys(LAYOUTS["epd_2016"], "")
            row |= {
                "YEAR_MONTH": "2025_01", "REGIONAL_OFFICE_CODE": "Y54", "AREA_TEAM_CODE": "Q46",
                "PCO_CODE": "02H00", "PRACTICE_NAME": "SURGERY", "PRACTICE_CODE": practice,
                "BNF_CODE": code, "BNF_DESCRIPTION": name, "QUANTITY": f"{qpi:.1f}",
                "ITEMS": str(items), "TOTAL_QUANTITY": f"{qpi * items:.1f}", "ADQUSAGE": "0",
                "NIC": f"{items * 2:.2f}", "ACTUAL_COST": f"{items * 1.5:.2f}",
                "UNIDENTIFIED": "N",
            }  # fmt: skip
            writer.writerow(row.values())
    return path


def _run(root: Path, measure: str) -> tuple[float, float]:
    con = datastore.connect_duckdb(root)
    table = con.table("presentations").to_pyarrow()
    codes = dict(zip(table["bnf_code"].to_pylist(), table["bnf_name"].to_pylist(), strict=True))
    plans, skipped = plan_measures([load_definitions()[measure]], codes)
    assert not skipped, skipped
    values = run_measures(con, plans, ("practice",)).values.to_pylist()
    (row,) = [v for v in values if v["org_code"] == PRACTICE]
    return row["numerator"], row["denominator"]


@pytest.mark.parametrize("measure", PER_ITEM)
def test_per_item_measure_counts_only_items_past_its_quantity_threshold(measure, tmp_path):
    rows, numerator, denominator = CASES[measure]
    root = tmp_path / "store"
    ingest_epd([write_epd(tmp_path / "EPD_202501.csv", rows)], root)
    assert _run(root, measure) == (numerator, denominator)


def test_per_item_measure_refuses_a_store_without_the_per_item_table(tmp_path):
    """A store ingested before the per_item table existed: a clear error, not silent zeros."""
    rows, _, _ = CASES["amox_500_15_caps"]
    root = tmp_path / "store"
    ingest_epd([write_epd(tmp_path / "EPD_202501.csv", rows)], root)
    for path in datastore.per_item_dir(root).glob("*.parquet"):
        path.unlink()
    with pytest.raises(ValueError, match="per_item table"):
        _run(root, "amox_500_15_caps")


def test_ingest_keeps_items_by_quantity_per_item_only_for_the_per_item_chemicals(
    shared_dir, tmp_path
):
    """On the 4-practice EPD fixture: per_item rows = the raw rows of PER_ITEM_CHEMICALS grouped
    by practice × code × QUANTITY; the prescribing table is unchanged by the split."""
    source = shared_dir / "peers/openprescribing/fixtures/epd_format/epd_201709_e2e_4practices.csv"
    ingest_epd([source], tmp_path)
    chemicals = ", ".join(f"'{c}'" for c in PER_ITEM_CHEMICALS)
    expected = duckdb.sql(
        f"""SELECT PRACTICE_CODE, BNF_CODE, QUANTITY, sum(ITEMS) AS items,
                   sum(TOTAL_QUANTITY) AS quantity
            FROM read_csv('{source}', header = true) WHERE LEFT(BNF_CODE, 9) IN ({chemicals})
            AND PRACTICE_CODE NOT LIKE '%998' GROUP BY ALL ORDER BY ALL"""
    ).fetchall()
    kept = pq.read_table(next(datastore.per_item_dir(tmp_path).glob("*.parquet")))
    got = sorted(
        (r["practice"], r["bnf_code"], r["quantity_per_item"], r["items"], r["quantity"])
        for r in kept.to_pylist()
    )
    assert expected and got == [tuple(r) for r in expected]
    totals = duckdb.sql(
        f"""SELECT sum(ITEMS), sum(TOTAL_QUANTITY) FROM read_csv('{source}', header = true)
            WHERE PRACTICE_CODE NOT LIKE '%998'"""
    ).fetchone()
    prescribing = pq.read_table(datastore.prescribing_files(tmp_path)[0])
    assert (sum(prescribing["items"].to_pylist()), sum(prescribing["quantity"].to_pylist())) == (
        pytest.approx(totals[0]),
        pytest.approx(totals[1]),
    )
    assert prescribing.num_rows == len(
        {(r["practice"], r["bnf_code"]) for r in prescribing.to_pylist()}
    )


def test_every_per_item_code_is_in_a_chemical_the_ingest_keeps():
    """The codes the six definitions select (on the starter dictionary's presentations) all
    belong to ``PER_ITEM_CHEMICALS``: the per_item table holds every row they read."""
    plans, skipped = plan_measures(
        [load_definitions()[m] for m in PER_ITEM], load_views().bnf_names
    )
    assert not skipped and len(plans) == len(PER_ITEM)
    codes = {c for p in plans for s in (p.numerator, p.denominator) for c in s.bands}
    assert codes and all(c.startswith(PER_ITEM_CHEMICALS) for c in codes)
