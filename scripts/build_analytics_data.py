"""Rebuild ``ipmo/analytics/data`` from ../shared (run by a developer, never at run time).

    uv run python scripts/build_analytics_data.py ../shared

* ``measure_definitions/`` — OpenPrescribing's 80 definitions, copied unchanged;
* ``star_pu_weights.json``, ``aware_vtms.csv`` — reference tables, unchanged;
* ``epd_profile.csv`` — one row per BNF presentation in the real 4-practice EPD month
  (fixtures/epd_format/epd_201709_e2e_4practices.csv, NHSBSA, OGL v3): how many of the 4
  practices prescribed it, mean items per practice, the usual quantity per item, NIC and actual
  cost per unit, and raw (pack-size) rows per aggregated row. The national-EPD generator samples
  from it so synthetic practices have the real per-practice shape.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import duckdb

DATA = Path(__file__).resolve().parents[1] / "src" / "ipmo" / "analytics" / "data"


def build_profile(sample: Path, out: Path) -> None:
    duckdb.sql(
        f"""COPY (
            WITH agg AS (
                SELECT PRACTICE_CODE AS p, BNF_CODE AS c, min(BNF_DESCRIPTION) AS bname,
                       min(BNF_CHEMICAL_SUBSTANCE) AS chem,
                       min(CHEMICAL_SUBSTANCE_BNF_DESCR) AS chem_name,
                       sum(ITEMS) AS items, sum(TOTAL_QUANTITY) AS qty, sum(NIC) AS nic,
                       sum(ACTUAL_COST) AS cost, count(*) AS raw_rows, mode(QUANTITY) AS qpi
                FROM read_csv('{sample}', header = true, all_varchar = false)
                GROUP BY 1, 2)
            SELECT c AS bnf_code, bname AS bnf_name, chem AS chemical_code,
                   chem_name AS chemical_name, count(*) AS practices,
                   round(avg(items), 3) AS mean_items, max(qpi) AS quantity_per_item,
                   round(sum(nic) / nullif(sum(qty), 0), 6) AS nic_per_unit,
                   round(sum(cost) / nullif(sum(nic), 0), 6) AS cost_ratio,
                   round(avg(raw_rows), 3) AS raw_rows_per_row
            FROM agg GROUP BY ALL ORDER BY bnf_code
        ) TO '{out}' (HEADER, DELIMITER ',')"""
    )


def main(shared: Path) -> None:
    peer = shared / "peers/openprescribing"
    target = DATA / "measure_definitions"
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted((peer / "measure_definitions").glob("*.json")):
        shutil.copyfile(path, target / path.name)
    shutil.copyfile(peer / "fixtures/list_size_star_pu/star_pu_weights.json",
                    DATA / "star_pu_weights.json")  # fmt: skip
    shutil.copyfile(peer / "fixtures/reference_data/tbl__aware_vtms.csv", DATA / "aware_vtms.csv")
    build_profile(peer / "fixtures/epd_format/epd_201709_e2e_4practices.csv",
                  DATA / "epd_profile.csv")  # fmt: skip


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared"))
