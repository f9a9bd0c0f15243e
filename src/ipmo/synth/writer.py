"""Bulk loading: sqlite3 ``executemany`` in large batches, PostgreSQL ``COPY`` through psycopg.

The ORM would spend minutes building millions of objects; the generator already holds every
column as an array, so rows go straight to the driver inside the caller's transaction (one
transaction for the whole ICS, so a failure leaves nothing behind).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import islice

from sqlalchemy import Connection, text

BATCH = 50_000


class BulkWriter:
    def __init__(self, connection: Connection, tune: bool = True):
        """``tune``: give a big SQLite load a large page cache (undo with :meth:`restore`);
        False for a batch inside a transaction that uses temporary tables (SQLite deletes them
        when ``temp_store`` changes, and refuses to change it back inside the transaction)."""
        self.connection = connection
        self.dialect = connection.dialect.name
        raw = connection.connection.dbapi_connection
        if raw is None:  # only after the pooled connection was invalidated
            raise RuntimeError("bulk writer needs a live database connection")
        self.raw = raw
        if tune and self.dialect == "sqlite":
            # A big page cache keeps B-tree pages from spilling to the WAL and being rewritten;
            # index sorts stay in memory. Both are per-connection and reset when it closes.
            cur = self.raw.cursor()
            cur.execute("PRAGMA cache_size = -1000000")  # ~1 GB
            cur.execute("PRAGMA temp_store = MEMORY")
            cur.close()

    def insert(
        self,
        table: str,
        columns: list[str],
        rows: Iterable[tuple],
        advance: Callable[[int], None] = lambda _n: None,
    ) -> None:
        cols = ", ".join(columns)
        it = iter(rows)
        cur = self.raw.cursor()
        try:
            if self.dialect == "postgresql":
                with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    while batch := list(islice(it, BATCH)):
                        for row in batch:
                            copy.write_row(row)
                        advance(len(batch))
            else:
                marks = ", ".join("?" for _ in columns)
                sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"
                while batch := list(islice(it, BATCH)):
                    cur.executemany(sql, batch)
                    advance(len(batch))
        finally:
            cur.close()

    def restore(self) -> None:
        """Give the pooled connection its default cache back (the web server keeps it)."""
        if self.dialect == "sqlite":
            cur = self.raw.cursor()
            cur.execute("PRAGMA cache_size = -2000")
            cur.execute("PRAGMA temp_store = DEFAULT")
            cur.close()

    def drop_indexes(self, tables: list[str]) -> list[str]:
        """SQLite: drop secondary indexes before a big load; building them afterwards (one sort
        each) is several times faster than maintaining them row by row. Returns their DDL."""
        if self.dialect != "sqlite":
            return []
        marks = ", ".join(f"'{t}'" for t in tables)
        found = self.connection.execute(
            text(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                f"AND tbl_name IN ({marks})"
            )
        ).all()
        for name, _sql in found:
            self.connection.execute(text(f'DROP INDEX "{name}"'))
        return [sql for _name, sql in found]

    def create_indexes(self, ddl: list[str]) -> None:
        for sql in ddl:
            self.connection.execute(text(sql))

    def fix_sequences(self, tables: list[str]) -> None:
        """After explicit ids, move PostgreSQL's serial sequences past them."""
        if self.dialect != "postgresql":
            return
        for table in tables:
            self.connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                )
            )
