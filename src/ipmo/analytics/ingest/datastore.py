"""Where the analytics zone keeps its tables, and how each engine sees them.

Files in ``Settings.analytics_dir`` (Parquet, one writer at a time):

* ``prescribing/<YYYY-MM>.parquet`` — practice × BNF presentation × month: month, practice,
  bnf_code, bnf_name, items, quantity, actual_cost, net_cost (one file per month, so re-ingesting
  a month replaces it);
* ``per_item/<YYYY-MM>.parquet`` — month, practice, bnf_code, quantity_per_item, items, quantity,
  actual_cost: the prescribing of a few chemicals (``epd.PER_ITEM_CHEMICALS``) split by EPD
  ``QUANTITY`` (quantity per item), for the per-item measures (amox_500_15_caps …);
* ``practices.parquet`` — practice, name, pcn, place (sub-ICB/CCG), icb (ICB/STP), region;
* ``list_sizes.parquet`` — practice, month, total_list_size (+ STAR-PU columns);
* ``presentations.parquet`` — bnf_code, bnf_name: every presentation seen (measure plans are
  resolved against it; reading it is ~1,000× cheaper than grouping the prescribing table);
* ``practice_deprivation.parquet`` — practice, imd_decile (1 = most deprived): a table of its own
  (another source and cycle; ingests that rebuild ``practices.parquet`` keep it) — inequalities.py.

Every write goes to a temporary file in the same folder and is renamed into place only when all
files of an import are complete, so a failed import leaves nothing half-written.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pyarrow as pa

from ipmo.config import get_settings

PRESCRIBING_SCHEMA = pa.schema(
    [
        ("month", pa.date32()),
        ("practice", pa.string()),
        ("bnf_code", pa.string()),
        ("bnf_name", pa.string()),
        ("items", pa.int64()),
        ("quantity", pa.float64()),
        ("actual_cost", pa.float64()),
        ("net_cost", pa.float64()),
    ]
)
PRACTICE_COLUMNS = ("practice", "name", "pcn", "place", "icb", "region")


def data_dir(path: Path | None = None) -> Path:
    folder = path or get_settings().analytics_dir
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def prescribing_dir(root: Path) -> Path:
    return root / "prescribing"


def per_item_dir(root: Path) -> Path:
    return root / "per_item"


def prescribing_files(root: Path) -> list[Path]:
    return sorted(prescribing_dir(root).glob("*.parquet"))


class StagedWrites:
    """Temporary files renamed into place together by ``commit`` (or removed by ``discard``)."""

    def __init__(self) -> None:
        self.pending: list[tuple[Path, Path]] = []

    def path_for(self, final: Path) -> Path:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
        self.pending.append((tmp, final))
        return tmp

    def commit(self) -> None:
        for tmp, final in self.pending:
            os.replace(tmp, final)
        self.pending.clear()

    def discard(self) -> None:
        for tmp, _ in self.pending:
            tmp.unlink(missing_ok=True)
        self.pending.clear()


@contextmanager
def staged():
    writes = StagedWrites()
    try:
        yield writes
        writes.commit()
    finally:
        writes.discard()


def stage_presentations(con, root: Path, writes: StagedWrites, source: str) -> None:
    """Merge the presentations of ``source`` (a DuckDB table with bnf_code, bnf_name) into
    ``presentations.parquet`` (new names win), as part of the same staged import."""
    final = root / "presentations.parquet"
    old = (
        f"SELECT * FROM read_parquet('{final}') WHERE bnf_code NOT IN "
        f"(SELECT bnf_code FROM {source}) UNION ALL "
        if final.exists()
        else ""
    )
    query = f"{old}SELECT bnf_code, any_value(bnf_name) AS bnf_name FROM {source} GROUP BY 1"
    con.execute(f"COPY ({query}) TO '{writes.path_for(final)}' (FORMAT parquet)")


def _sql_list(paths: Iterable[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def connect_duckdb(root: Path, threads: int | None = None):
    """An Ibis DuckDB connection with views over the Parquet files (nothing is copied)."""
    con = ibis.duckdb.connect(threads=threads) if threads else ibis.duckdb.connect()
    files = prescribing_files(root)
    if not files:
        raise FileNotFoundError(f"no prescribing data in {root}: run `ipmo analytics ingest-epd`")
    con.raw_sql(f"CREATE VIEW prescribing AS SELECT * FROM read_parquet({_sql_list(files)})")
    per_item = sorted(per_item_dir(root).glob("*.parquet"))
    if per_item:
        con.raw_sql(f"CREATE VIEW per_item AS SELECT * FROM read_parquet({_sql_list(per_item)})")
    practices = root / "practices.parquet"
    if not practices.exists():
        raise FileNotFoundError(f"no practices table in {root}")
    con.raw_sql(f"CREATE VIEW practices AS SELECT * FROM read_parquet({_sql_list([practices])})")
    for name in ("list_sizes", "presentations", "practice_deprivation"):
        path = root / f"{name}.parquet"
        if path.exists():
            con.raw_sql(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({_sql_list([path])})")
    return con


def read_tables(root: Path) -> dict[str, pa.Table]:
    """The analytics tables as Arrow, for copying into another engine."""
    import pyarrow.parquet as pq

    tables = {"prescribing": pa.concat_tables(pq.read_table(p) for p in prescribing_files(root))}
    tables["practices"] = pq.read_table(root / "practices.parquet")
    per_item = sorted(per_item_dir(root).glob("*.parquet"))
    if per_item:
        tables["per_item"] = pa.concat_tables(pq.read_table(p) for p in per_item)
    for name in ("list_sizes", "presentations"):
        if (root / f"{name}.parquet").exists():
            tables[name] = pq.read_table(root / f"{name}.parquet")
    return tables


def load_into(con, tables: dict[str, pa.Table]) -> None:
    """Copy Arrow tables into an Ibis backend (PostgreSQL, Spark) under their canonical names."""
    for name, table in tables.items():
        con.create_table(name, table, overwrite=True)


def connect(engine: str, root: Path, url: str | None = None):
    """An Ibis connection on ``engine`` whose prescribing/practices/list_sizes are ``root``'s.

    * ``duckdb``: in-process, reads the Parquet files directly.
    * ``postgres``: ``url`` (default ``IPMO_ANALYTICS_POSTGRES_URL``) — the tables are (re)loaded
      from the Parquet files; on a server that already holds them, connect with Ibis yourself and
      call ``engine.run_measures`` on that connection.
    * ``spark``: a local SparkSession (or the one ``SPARK_REMOTE``/``spark-submit`` configures),
      reading the same Parquet files — point ``IPMO_DATA_DIR`` at shared storage on a cluster.
    """
    if engine == "duckdb":
        return connect_duckdb(root)
    if engine == "postgres":
        url = url or os.environ.get("IPMO_ANALYTICS_POSTGRES_URL")
        if not url:
            raise ValueError("set IPMO_ANALYTICS_POSTGRES_URL (postgresql://user@host/db)")
        con = ibis.connect(url.replace("postgresql+psycopg://", "postgres://"))
        load_into(con, read_tables(root))
        return con
    if engine == "spark":
        return connect_spark(root)
    raise ValueError(f"unknown engine {engine!r}: choose duckdb, postgres or spark")


def spark_session():
    """A local session whose warehouse lives in a temporary folder (never the working tree)."""
    import tempfile

    from pyspark.sql import SparkSession

    warehouse = os.environ.get("IPMO_SPARK_WAREHOUSE") or tempfile.mkdtemp(prefix="ipmo-spark-")
    return (
        SparkSession.builder.master(os.environ.get("IPMO_SPARK_MASTER", "local[2]"))
        .appName("ipmo-analytics")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", warehouse)
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse}")
        .getOrCreate()
    )


def connect_spark(root: Path, session=None):
    session = session or spark_session()
    con = ibis.pyspark.connect(session)
    load_into(con, read_tables(root))
    return con


def one_row(result: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
    """The row of a query that always answers one (an aggregate): DuckDB types ``fetchone()``
    as optional, so say once what an empty answer would mean."""
    row = result.fetchone()
    if row is None:
        raise RuntimeError("an aggregate query returned no row")
    return row
