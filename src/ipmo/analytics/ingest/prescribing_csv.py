"""Ingest of OpenPrescribing-style aggregated prescribing plus an organisation hierarchy CSV.

Layouts are those of fixtures/measures_golden (``derived_prescribing_input.csv``: practice, month,
bnf_code, items, quantity, actual_cost, net_cost [, bnf_name]; ``derived_orgs.csv``: practice,
setting, pcn, ccg, stp, regional_team). Only prescribing setting 4 (GP practices) is kept, as
OpenPrescribing's measures do. The orgs file replaces the practices table.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from ipmo.analytics.ingest import datastore
from ipmo.analytics.ingest.epd import IngestError, IngestReport, _duckdb_error

PRESCRIBING_COLUMNS = ["practice", "month", "bnf_code", "items", "quantity", "actual_cost"]
OPTIONAL = ["net_cost", "bnf_name"]
ORG_COLUMNS = ["practice", "setting", "pcn", "ccg", "stp", "regional_team"]
_TYPES = {"items": "BIGINT", "quantity": "DOUBLE", "actual_cost": "DOUBLE", "net_cost": "DOUBLE"}


def _header(path: Path, required: list[str], optional: list[str]) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = [h.strip().lower() for h in next(csv.reader(handle), [])]
    except OSError as exc:
        raise IngestError(f"{path}: cannot read: {exc}") from exc
    unknown = [h for h in header if h not in required + optional + ["name"]]
    missing = [c for c in required if c not in header]
    if unknown or missing:
        parts = [f"unknown columns {', '.join(unknown)}"] if unknown else []
        parts += [f"missing {', '.join(missing)}"] if missing else []
        raise IngestError(f"{path}: {'; '.join(parts)}")
    return header


def _read(path: Path, header: list[str]) -> str:
    columns = ", ".join(f"'{c}': '{_TYPES.get(c, 'VARCHAR')}'" for c in header)
    return f"read_csv('{path}', header = true, columns = {{{columns}}}, strict_mode = true)"


def ingest_prescribing(prescribing: Path, orgs: Path, root: Path | None = None) -> IngestReport:
    root = datastore.data_dir(root)
    p_header = _header(prescribing, PRESCRIBING_COLUMNS, OPTIONAL)
    o_header = _header(orgs, ORG_COLUMNS, [])
    con = duckdb.connect()
    name = "bnf_name" if "bnf_name" in p_header else "''"
    net = "net_cost" if "net_cost" in p_header else "actual_cost"
    try:
        con.execute(
            f"""CREATE TEMP TABLE raw AS SELECT row_number() OVER () + 1 AS n, * ,
                TRY_CAST(month AS DATE) AS month_date FROM {_read(prescribing, p_header)}"""
        )
        con.execute(f"CREATE TEMP TABLE orgs AS SELECT * FROM {_read(orgs, o_header)}")
    except duckdb.Error as exc:
        raise _duckdb_error(prescribing, exc) from exc
    bad = con.execute(
        """SELECT n FROM raw WHERE month_date IS NULL OR practice IS NULL OR bnf_code IS NULL
           OR items IS NULL OR quantity IS NULL OR actual_cost IS NULL ORDER BY n LIMIT 1"""
    ).fetchone()
    if bad:
        raise IngestError(f"{prescribing}, row {bad[0]}: missing or invalid value")
    con.execute(
        f"""CREATE TEMP TABLE agg AS
            SELECT date_trunc('month', month_date)::DATE AS month, practice, bnf_code,
                   min({name}) AS bnf_name, sum(items)::BIGINT AS items,
                   sum(quantity)::DOUBLE AS quantity, sum(actual_cost)::DOUBLE AS actual_cost,
                   sum({net})::DOUBLE AS net_cost, count(*) AS raw_rows
            FROM raw WHERE practice NOT LIKE '%998' GROUP BY 1, 2, 3"""
    )
    raw_rows = datastore.one_row(con.execute("SELECT count(*) FROM raw"))[0]
    months = [r[0] for r in con.execute("SELECT DISTINCT month FROM agg ORDER BY 1").fetchall()]
    rows = datastore.one_row(con.execute("SELECT count(*) FROM agg"))[0]
    with datastore.staged() as writes:
        for month in months:
            tmp = writes.path_for(datastore.prescribing_dir(root) / f"{month:%Y-%m}.parquet")
            con.execute(
                f"""COPY (SELECT month, practice, bnf_code, bnf_name, items, quantity, actual_cost,
                           net_cost FROM agg WHERE month = DATE '{month}'
                           ORDER BY practice, bnf_code) TO '{tmp}' (FORMAT parquet)"""
            )
        tmp = writes.path_for(root / "practices.parquet")
        con.execute(
            f"""COPY (SELECT practice, NULL::VARCHAR AS name, pcn, ccg AS place, stp AS icb,
                       regional_team AS region FROM orgs
                       WHERE setting IS NULL OR TRY_CAST(setting AS INTEGER) = 4
                       ORDER BY practice) TO '{tmp}' (FORMAT parquet)"""
        )
        datastore.stage_presentations(con, root, writes, "agg")
    dropped = raw_rows - datastore.one_row(con.execute("SELECT sum(raw_rows) FROM agg"))[0]
    return IngestReport(1, raw_rows, rows, int(dropped), tuple(f"{m:%Y-%m}" for m in months))
