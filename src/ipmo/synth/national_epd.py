"""One synthetic month of the English Prescribing Dataset for the whole country (~6,500 practices).

Used by ``ipmo synth --size national-epd`` and ``bench/bench_analytics.py``. Each practice draws
its presentations from the profile of a real EPD month (``ipmo/analytics/data/epd_profile.csv``,
built from 4 real practices, NHSBSA open data, OGL v3): a presentation prescribed by k of the 4
real practices is prescribed by a synthetic practice with probability k/4, with items scaled by
the practice's list size (log-normal, mean 1), the usual quantity per item, the real NIC per unit,
and the real number of pack-size rows per presentation (×1.1, to reach the national ~2,700 raw rows
per practice: 17.5M rows / 6,500 practices in 2024 NHSBSA releases). About 0.1% of rows are
written for an unidentified prescriber (code ending 998), as in the real files.

All randomness is a hash of (seed, practice, presentation, row), so the file is identical for a
given seed and needs no Python loop: DuckDB writes ~17M rows in well under a minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb

REGIONS = ["Y54", "Y55", "Y56", "Y58", "Y59", "Y60", "Y61"]
ICBS_PER_REGION = 6  # 42 ICBs
PLACES_PER_ICB = 2  # ~100 sub-ICB locations


@dataclass(frozen=True)
class NationalEpd:
    path: Path
    raw_rows: int
    practices: int
    month: str


def _profile() -> Path:
    return Path(str(resources.files("ipmo.analytics") / "data" / "epd_profile.csv"))


def generate_national_epd(
    out_dir: Path, seed: int, practices: int = 6500, month: str = "2025_01", threads: int = 0
) -> NationalEpd:
    """Write ``out_dir/EPD_<month>.csv`` (26-column layout) and return its path and row count."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"EPD_{month.replace('_', '')}.csv"
    tmp = path.with_suffix(".csv.tmp")
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    s = int(seed)
    # uniform in [0, 1) from a hash of the seed and the given keys
    u = "((hash({s}, {k}) % 1000003) / 1000003.0)"

    def rnd(keys: str) -> str:
        return u.format(s=s, k=keys)

    con.execute(
        f"""CREATE TABLE profile AS
            SELECT row_number() OVER (ORDER BY bnf_code) AS c, *
            FROM read_csv('{_profile()}', header = true)"""
    )
    n_icb = len(REGIONS) * ICBS_PER_REGION
    con.execute(
        f"""CREATE TABLE practice AS
            SELECT i AS p,
                   CASE WHEN i % 997 = 0 THEN 'Q' || lpad(((i // 997) % 100)::VARCHAR, 2, '0')
                        || '998'
                        ELSE chr((65 + (i % 22))::INTEGER)
                             || lpad((81000 + i)::VARCHAR, 5, '0') END AS code,
                   'SYNTHETIC PRACTICE ' || i AS name,
                   i % {n_icb} AS icb_n,
                   -- list-size factor: log-normal (sigma 0.5), mean 1
                   exp(0.5 * sqrt(-2 * ln(greatest({rnd("i, 'a'")}, 1e-9)))
                       * cos(2 * pi() * {rnd("i, 'b'")}) - 0.125) AS size
            FROM range({int(practices)}) t(i)"""
    )
    con.execute(
        f"""CREATE TABLE agg AS
            SELECT p.p, p.code, p.name, p.icb_n, f.c, f.bnf_code, f.bnf_name,
                   f.quantity_per_item AS qpi, f.nic_per_unit, f.cost_ratio,
                   greatest(1, floor(f.raw_rows_per_row * 1.1 + {rnd("p.p, f.c, 'k'")}))::INT
                       AS k,
                   greatest(1, round(f.mean_items * p.size * (0.5 + {rnd("p.p, f.c, 'i'")})))
                       ::INT AS items
            FROM practice p CROSS JOIN profile f
            WHERE {rnd("p.p, f.c")} < f.practices / 4.0"""
    )
    regions = "[" + ", ".join(f"'{r}'" for r in REGIONS) + "]"
    con.execute(
        f"""COPY (
            SELECT '{month}' AS YEAR_MONTH, 'SYNTHETIC REGION' AS REGIONAL_OFFICE_NAME,
                   {regions}[1 + icb_n // {ICBS_PER_REGION}] AS REGIONAL_OFFICE_CODE,
                   'SYNTHETIC ICB ' || icb_n AS AREA_TEAM_NAME,
                   'Q' || lpad((10 + icb_n)::VARCHAR, 2, '0') AS AREA_TEAM_CODE,
                   'SYNTHETIC SUB-ICB' AS PCO_NAME,
                   lpad((icb_n * {PLACES_PER_ICB} + p % {PLACES_PER_ICB})::VARCHAR, 2, '0')
                       || 'X00' AS PCO_CODE,
                   name AS PRACTICE_NAME, code AS PRACTICE_CODE,
                   '' AS ADDRESS_1, '' AS ADDRESS_2, '' AS ADDRESS_3, '' AS ADDRESS_4,
                   '' AS POSTCODE, left(bnf_code, 9) AS BNF_CHEMICAL_SUBSTANCE,
                   '' AS CHEMICAL_SUBSTANCE_BNF_DESCR, bnf_code AS BNF_CODE,
                   bnf_name AS BNF_DESCRIPTION, '' AS BNF_CHAPTER_PLUS_CODE,
                   qpi * (1 + j) AS QUANTITY, n AS ITEMS, qpi * (1 + j) * n AS TOTAL_QUANTITY,
                   0.0 AS ADQUSAGE, round(qpi * (1 + j) * n * nic_per_unit, 2) AS NIC,
                   round(qpi * (1 + j) * n * nic_per_unit * cost_ratio, 5) AS ACTUAL_COST,
                   'N' AS UNIDENTIFIED
            FROM (SELECT *, unnest(range(k)) AS j FROM agg) x,
                 LATERAL (SELECT greatest(1, items // k) AS n)
        ) TO '{tmp}' (HEADER, DELIMITER ',')"""
    )
    rows = con.execute("SELECT sum(k) FROM agg").fetchone()[0]
    tmp.replace(path)
    return NationalEpd(path, int(rows), int(practices), month)
