"""Engine parity on the golden fixture: DuckDB, PostgreSQL and Spark give OpenPrescribing's values.

    uv run --extra spark python bench/bench_analytics_parity.py [../shared] [--no-postgres]

Spark's start-up (a JVM, ~30 s idle, minutes on a loaded machine) is why this is a script and not
part of the test suite; DuckDB and PostgreSQL parity are tested in tests/analytics.
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "analytics"))

import golden  # noqa: E402 - the same fixture readers as the spec test

from ipmo.analytics.compute.service import compute  # noqa: E402
from ipmo.analytics.ingest import datastore  # noqa: E402
from ipmo.analytics.ingest.prescribing_csv import ingest_prescribing  # noqa: E402


def check(name: str, con, shared: Path) -> None:
    start = time.perf_counter()
    results = compute(con, golden.fixture_definitions(shared)).results
    seconds = time.perf_counter() - start
    bad_values = golden.mismatches_values(golden.expected_values(shared), results.values)
    bad_globals = golden.mismatches_globals(golden.expected_globals(shared), results.globals)
    print(f"{name:9} {seconds:6.1f} s  value mismatches {len(bad_values)} / 1520, "
          f"global mismatches {len(bad_globals)} / 200")  # fmt: skip


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    shared = Path(args[0] if args else Path(__file__).resolve().parents[2] / "shared")
    root = Path(tempfile.mkdtemp(prefix="ipmo-parity-"))
    folder = golden.golden_dir(shared)
    ingest_prescribing(folder / "derived_prescribing_input.csv", folder / "derived_orgs.csv", root)
    check("duckdb", datastore.connect_duckdb(root), shared)
    if "--no-postgres" not in sys.argv:
        import ibis
        from sqlalchemy import create_engine, text

        name = f"ipmo_parity_{uuid.uuid4().hex[:8]}"
        admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                              isolation_level="AUTOCOMMIT")  # fmt: skip
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            con = ibis.postgres.connect(host="127.0.0.1", user="postgres", database=name)
            datastore.load_into(con, datastore.read_tables(root))
            check("postgres", con, shared)
            con.disconnect()
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    start = time.perf_counter()
    con = datastore.connect_spark(root)
    print(f"spark start-up and load {time.perf_counter() - start:.1f} s")
    check("spark", con, shared)


if __name__ == "__main__":
    main()
