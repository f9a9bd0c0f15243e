"""Engines agree: the same measure expressions on DuckDB and PostgreSQL give the golden values.

The PostgreSQL test creates and drops its own database (pattern of tests/conftest.py).
"""

from __future__ import annotations

import os
import uuid

import ibis
import pytest
from sqlalchemy import create_engine, text

from ipmo.analytics.compute.service import compute
from ipmo.analytics.ingest import datastore
from ipmo.analytics.ingest.prescribing_csv import ingest_prescribing

from .golden import (
    expected_globals,
    expected_values,
    fixture_definitions,
    golden_dir,
    mismatches_globals,
    mismatches_values,
)

PG_ADMIN_URL = os.environ.get(
    "IPMO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="module")
def golden_root(shared_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("parity")
    folder = golden_dir(shared_dir)
    ingest_prescribing(folder / "derived_prescribing_input.csv", folder / "derived_orgs.csv", root)
    return root


@pytest.fixture
def postgres_con():
    name = f"ipmo_analytics_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"no PostgreSQL server: {exc}")
    url = admin.url.set(database=name)
    con = ibis.postgres.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database=name
    )
    yield con
    con.disconnect()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _rows(table):
    keys = ("measure", "org_type", "org_code", "month")
    return {tuple(str(r[k]) for k in keys): r for r in table.to_pylist()}


@pytest.mark.postgres
def test_postgres_reproduces_golden_and_agrees_with_duckdb(golden_root, shared_dir, postgres_con):
    definitions = fixture_definitions(shared_dir)
    datastore.load_into(postgres_con, datastore.read_tables(golden_root))
    on_pg = compute(postgres_con, definitions).results
    assert mismatches_values(expected_values(shared_dir), on_pg.values) == []
    assert mismatches_globals(expected_globals(shared_dir), on_pg.globals) == []
    on_duck = compute(datastore.connect_duckdb(golden_root), definitions).results
    pg_rows, duck_rows = _rows(on_pg.values), _rows(on_duck.values)
    assert pg_rows.keys() == duck_rows.keys()
    for key, row in duck_rows.items():
        for column, value in row.items():
            other = pg_rows[key][column]
            if isinstance(value, float):
                assert other == pytest.approx(value, rel=1e-12, abs=1e-9), (key, column)
            else:
                assert str(other) == str(value), (key, column)


def test_a_duckdb_run_drops_its_working_tables(golden_root, shared_dir):
    """The weights, measures and intermediate tables of a run are temporary: none is left."""
    con = datastore.connect_duckdb(golden_root)
    before = set(con.list_tables())
    run = compute(con, fixture_definitions(shared_dir))
    assert run.results.values.num_rows > 0
    assert set(con.list_tables()) == before
    assert not [t for t in con.list_tables() if t.startswith("ipmo_")]
    assert set(run.seconds) == {"plan", "engine"} and all(s > 0 for s in run.seconds.values())


def test_only_the_requested_levels_are_returned(golden_root, shared_dir):
    con = datastore.connect_duckdb(golden_root)
    run = compute(con, fixture_definitions(shared_dir), levels=("icb", "practice"))
    assert set(run.results.values.column("org_type").to_pylist()) == {"practice", "icb"}
    assert set(run.results.globals.column("org_type").to_pylist()) == {"practice", "icb"}
