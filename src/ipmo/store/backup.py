"""Online backup and restore of a SQLite store with its data folder (issue 20, item 4).

SQLite: ``sqlite3.Connection.backup`` copies the database page by page while other connections
keep writing; it restarts when a page it already copied changes, so the copy is one consistent
snapshot (https://www.sqlite.org/backup.html). The audit checkpoint file is copied *before* the
database so that every checkpoint in the backup names entries the backed-up database holds (a
checkpoint newer than the data would read as a truncation to ``ipmo audit verify``). The keys
(``audit.key``, ``secret.key``) are not copied unless asked: a backup that carries the MAC key lets
whoever holds it re-forge the audit log, so keep keys in a secret store apart from backups.

PostgreSQL is backed up with its own tools: ``pg_dump -Fc`` of an exported snapshot, the table
counts read in that same snapshot (so the manifest is exact while the server keeps writing), and
``pg_restore --single-transaction`` into the target, whose counts are then checked against the
manifest. Point-in-time recovery is PostgreSQL's WAL archiving (README).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

MANIFEST = "manifest.json"
DB_FILE = "ipmo.sqlite3"
PG_DUMP = "ipmo.dump"
CHECKPOINTS_FILE = "audit-checkpoints.jsonl"
ANALYTICS_DIR = "analytics"
KEY_FILES = ("audit.key", "secret.key")


class BackupError(Exception):
    """A backup or restore cannot proceed; the message is safe to show."""


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite URL, or None for another database."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite store cannot be backed up")
    return Path(url.database).resolve()


def _pg(database_url: str) -> str:
    """The URL as libpq (pg_dump, pg_restore) reads it."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def pg_table_counts(conn: Connection) -> dict[str, int]:
    names = conn.scalars(
        text("select tablename from pg_tables where schemaname = 'public' order by tablename")
    ).all()
    # names come from pg_tables, not from input; quoted as identifiers
    return {n: int(conn.scalar(text(f'select count(*) from "{n}"')) or 0) for n in names}


def table_counts(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "select name from sqlite_master where type='table' and name not like 'sqlite_%' "
                "order by name"
            )
        ]
        # names come from sqlite_master, not from input; quoted as identifiers
        return {n: conn.execute(f'select count(*) from "{n}"').fetchone()[0] for n in names}
    finally:
        conn.close()


def _online_copy(src: Path, dest: Path) -> None:
    source = sqlite3.connect(src, timeout=30)
    target = sqlite3.connect(dest)
    try:
        # pages=-1: one step, holding a read transaction for its duration (WAL: writers go on)
        source.backup(target)
    finally:
        target.close()
        source.close()


def _copy_data_files(data_dir: Path, dest: Path, include_keys: bool) -> list[str]:
    """The analytics folder (and the keys, when asked) into the backup."""
    files = []
    analytics = data_dir / ANALYTICS_DIR
    if analytics.is_dir():
        shutil.copytree(analytics, dest / ANALYTICS_DIR)
        files.append(ANALYTICS_DIR + "/")
    if include_keys:
        for name in KEY_FILES:
            if (data_dir / name).exists():
                shutil.copy2(data_dir / name, dest / name)
                (dest / name).chmod(0o600)
                files.append(name)
    return files


def _restore_data_files(src: Path, data_dir: Path, checkpoints: Path, include_keys: bool) -> None:
    """Checkpoints, analytics folder and (when asked) keys back into place; what they replace is
    kept beside as ``*.before-restore-TIME``, never deleted (audit evidence)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if (src / CHECKPOINTS_FILE).exists():
        # the current file may hold checkpoints newer than the backup, which would (rightly) read
        # as a truncation
        if checkpoints.exists():
            checkpoints.rename(checkpoints.with_name(f"{checkpoints.name}.before-restore-{stamp}"))
        checkpoints.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / CHECKPOINTS_FILE, checkpoints)
    if (src / ANALYTICS_DIR).is_dir():
        target = data_dir / ANALYTICS_DIR
        if target.exists():
            target.rename(data_dir / f"{ANALYTICS_DIR}.before-restore-{stamp}")
        shutil.copytree(src / ANALYTICS_DIR, target)
    if include_keys:
        for name in KEY_FILES:
            if (src / name).exists():
                shutil.copy2(src / name, data_dir / name)
                (data_dir / name).chmod(0o600)


def _run(cmd: list[str]) -> None:
    if shutil.which(cmd[0]) is None:
        raise BackupError(f"{cmd[0]} is not installed (PostgreSQL's client tools are needed)")
    done = subprocess.run(cmd, check=False, capture_output=True, text=True)  # noqa: S603
    if done.returncode:
        # pg tools print the database and object names, never row data
        raise BackupError(f"{cmd[0]} failed: {done.stderr.strip().splitlines()[-1:]}")


def _dump_postgres(database_url: str, dest: Path) -> dict[str, int]:
    """``pg_dump`` of one exported snapshot into ``dest``; the table counts of that snapshot."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("set transaction isolation level repeatable read, read only"))
            snapshot = conn.scalar(text("select pg_export_snapshot()"))
            counts = pg_table_counts(conn)
            # the dump sees exactly what the counts saw, while this transaction stays open
            _run(["pg_dump", "-Fc", "--no-owner", f"--snapshot={snapshot}",
                  "-f", str(dest / PG_DUMP), "-d", _pg(database_url)])  # fmt: skip
            conn.rollback()
    finally:
        engine.dispose()
    return counts


def backup(
    database_url: str, data_dir: Path, checkpoints: Path, dest: Path, *, include_keys: bool = False
) -> dict:
    """Back up the store at the URL, its checkpoints and data folder into ``dest`` (new or
    empty) with a manifest: SQLite through its online backup API, PostgreSQL with ``pg_dump``
    of one exported snapshot, with the table counts of that snapshot."""
    db = sqlite_path(database_url)
    if db is not None and not db.exists():
        raise BackupError(f"no SQLite store at {db}")
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} exists and is not empty; choose a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    files: list[str] = []
    if checkpoints.exists():  # first, see the module docstring
        shutil.copy2(checkpoints, dest / CHECKPOINTS_FILE)
        files.append(CHECKPOINTS_FILE)
    if db is None:
        counts = _dump_postgres(database_url, dest)
        files.append(PG_DUMP)
        source = make_url(database_url).render_as_string(hide_password=True)
    else:
        _online_copy(db, dest / DB_FILE)
        files.append(DB_FILE)
        counts, source = table_counts(dest / DB_FILE), str(db)
    files += _copy_data_files(data_dir, dest, include_keys)
    manifest = {
        "format": 1,
        "engine": "postgresql" if db is None else "sqlite",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": source,
        "tables": counts,
        "files": files,
        "keys_included": include_keys,
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def restore(
    src: Path,
    database_url: str,
    data_dir: Path,
    checkpoints: Path,
    *,
    force: bool = False,
    include_keys: bool = False,
) -> dict:
    """Restore the backup SRC into the store at the URL and into the data folder, then check the
    restored table counts against the manifest. SQLite: the backup's own counts are checked
    first, so a damaged backup changes nothing; PostgreSQL: ``pg_restore`` in one transaction.
    A store that already holds data needs ``force``."""
    db = sqlite_path(database_url)
    manifest = read_manifest(src, "postgresql" if db is None else "sqlite")
    if db is None:
        restored, what = _restore_postgres(src, database_url, force), "database"
    else:
        restored, what = _restore_sqlite(src, db, manifest, force), "store"
    _restore_data_files(src, data_dir, checkpoints, include_keys)
    if restored != manifest["tables"]:
        raise BackupError(f"the restored {what}'s table counts differ from the manifest")
    return manifest


def _restore_postgres(src: Path, database_url: str, force: bool) -> dict[str, int]:
    """``pg_restore`` SRC into the database at the URL in one transaction; its table counts."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            existing = pg_table_counts(conn)
        if any(existing.values()) and not force:
            raise BackupError("the target database holds data; pass --force to replace it")
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
              "-d", _pg(database_url), str(src / PG_DUMP)])  # fmt: skip
        with engine.connect() as conn:
            return pg_table_counts(conn)
    finally:
        engine.dispose()


def read_manifest(src: Path, engine: str = "sqlite") -> dict:
    try:
        manifest = json.loads((src / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{src} has no {MANIFEST}: not an ipmo backup") from None
    except json.JSONDecodeError as exc:
        raise BackupError(f"{src / MANIFEST} is not valid JSON ({exc})") from None
    data = DB_FILE if engine == "sqlite" else PG_DUMP
    if manifest.get("engine") != engine or not (src / data).exists():
        raise BackupError(f"{src} is not a {engine} backup of ipmo")
    return manifest


def _restore_sqlite(src: Path, db: Path, manifest: dict, force: bool) -> dict[str, int]:
    """Copy the backup's database (its counts checked against the manifest first) to ``db``;
    the restored store's table counts."""
    found = table_counts(src / DB_FILE)
    if found != manifest["tables"]:
        raise BackupError("the backup's table counts differ from its manifest: it is damaged")
    if db.exists() and not force:
        raise BackupError(f"a store exists at {db}; pass --force to replace it")
    db.parent.mkdir(parents=True, exist_ok=True)
    for stale in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    _online_copy(src / DB_FILE, db)
    return table_counts(db)
