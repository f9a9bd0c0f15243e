"""Load patients' facts into DuckDB tables in the shape ``engine_sql`` reads.

Used by tests (generated populations), by the benchmark's one-by-one baseline, and by
``ipmo review run`` (store extract). Products are de-duplicated into ``products`` with an id.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import pyarrow as pa

from ipmo.review.facts import PatientFacts

SCHEMAS = {
    "patients": "patient_id BIGINT, birth_date DATE, sex VARCHAR, care_home BOOLEAN, "
    "weight_kg DOUBLE, practice_code VARCHAR",
    "issues": "patient_id BIGINT, product_id BIGINT, issue_date DATE, dose_text VARCHAR",
    "products": "product_id BIGINT, dmd_code VARCHAR, name VARCHAR, bnf_code VARCHAR, "
    "vmp_code VARCHAR, vtm_code VARCHAR",
    "events": "patient_id BIGINT, code VARCHAR, onset_date DATE, resolved_date DATE",
    "observations": "patient_id BIGINT, code VARCHAR, kind VARCHAR, value DOUBLE, "
    "comparator VARCHAR, effective_date DATE",
    "admissions": "patient_id BIGINT, admitted_on DATE, is_fall BOOLEAN",
}


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    for name, cols in SCHEMAS.items():
        con.execute(f"CREATE OR REPLACE TABLE {name} ({cols})")


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    if not rows:
        return
    cols = [c.strip().split(" ")[0] for c in SCHEMAS[table].split(",")]
    arrays = {c: [r[i] for r in rows] for i, c in enumerate(cols)}
    con.register("_review_rows", pa.table(arrays))
    con.execute(f"INSERT INTO {table} SELECT * FROM _review_rows")
    con.unregister("_review_rows")


def load_facts(
    con: duckdb.DuckDBPyConnection,
    population: Iterable[PatientFacts],
    practice: dict[int, str | None] | None = None,
) -> None:
    create_tables(con)
    products: dict[tuple, int] = {}
    pats, issues, events, obs, adm = [], [], [], [], []
    for f in population:
        pats.append(
            (
                f.patient_id,
                f.birth_date,
                f.sex,
                f.care_home,
                f.weight_kg,
                (practice or {}).get(f.patient_id),
            )
        )
        for i in f.issues:
            key = (i.dmd_code, i.name, i.bnf_code, i.vmp_code, i.vtm_code)
            pid = products.setdefault(key, len(products) + 1)
            issues.append((f.patient_id, pid, i.issue_date, i.dose_text))
        events += [(f.patient_id, e.code, e.onset_date, e.resolved_date) for e in f.events]
        obs += [
            (f.patient_id, o.code, o.kind, o.value, o.comparator, o.effective_date)
            for o in f.observations
        ]
        adm += [(f.patient_id, a.admitted_on, a.is_fall) for a in f.admissions]
    _insert(con, "patients", pats)
    _insert(con, "products", [(pid, *key) for key, pid in products.items()])
    _insert(con, "issues", issues)
    _insert(con, "events", events)
    _insert(con, "observations", obs)
    _insert(con, "admissions", adm)
