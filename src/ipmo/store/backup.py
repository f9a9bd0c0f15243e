"""Online backup and restore of a SQLite store with its data folder (issue 20, item 4).

SQLite: ``sqlite3.Connection.backup`` copies the database page by page while other connections
keep writing; it restarts when a page it already copied changes, so the copy is one consistent
snapshot (https://www.sqlite.org/backup.html). The audit checkpoint file is copied *before* the
database so that every checkpoint in the backup names entries the backed-up database holds (a
checkpoint newer than the data would read as a truncation to ``ipmo audit verify``). The keys
(``audit.key``, ``secret.key``) are not copied unless asked: a backup that carries the MAC key lets
whoever holds it re-forge the audit log, so keep keys in a secret store apart from backups.

PostgreSQL is backed up with its own tools (``pg_dump -Fc`` / ``pg_restore``; WAL archiving for
point-in-time recovery), see ``postgres_commands``.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

MANIFEST = "manifest.json"
DB_FILE = "ipmo.sqlite3"
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


def backup_sqlite(
    db: Path, data_dir: Path, checkpoints: Path, dest: Path, *, include_keys: bool = False
) -> dict:
    if not db.exists():
        raise BackupError(f"no SQLite store at {db}")
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} exists and is not empty; choose a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    files: list[str] = []
    if checkpoints.exists():  # first, see the module docstring
        shutil.copy2(checkpoints, dest / CHECKPOINTS_FILE)
        files.append(CHECKPOINTS_FILE)
    _online_copy(db, dest / DB_FILE)
    files.append(DB_FILE)
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
    manifest = {
        "format": 1,
        "engine": "sqlite",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": str(db),
        "tables": table_counts(dest / DB_FILE),
        "files": files,
        "keys_included": include_keys,
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def read_manifest(src: Path) -> dict:
    try:
        manifest = json.loads((src / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{src} has no {MANIFEST}: not an ipmo backup") from None
    except json.JSONDecodeError as exc:
        raise BackupError(f"{src / MANIFEST} is not valid JSON ({exc})") from None
    if manifest.get("engine") != "sqlite" or not (src / DB_FILE).exists():
        raise BackupError(f"{src} is not a SQLite backup of ipmo")
    return manifest


def restore_sqlite(
    src: Path,
    db: Path,
    data_dir: Path,
    checkpoints: Path,
    *,
    force: bool = False,
    include_keys: bool = False,
) -> dict:
    """Restore SRC into the store file ``db`` and the data folder; check the counts against the
    manifest first, so a damaged backup changes nothing."""
    manifest = read_manifest(src)
    found = table_counts(src / DB_FILE)
    if found != manifest["tables"]:
        raise BackupError("the backup's table counts differ from its manifest: it is damaged")
    if db.exists() and not force:
        raise BackupError(f"a store exists at {db}; pass --force to replace it")
    data_dir.mkdir(parents=True, exist_ok=True)
    db.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for stale in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    _online_copy(src / DB_FILE, db)
    if (src / CHECKPOINTS_FILE).exists():
        # the current file may hold checkpoints newer than the backup, which would (rightly) read
        # as a truncation: keep it beside, never delete audit evidence
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
    restored = table_counts(db)
    if restored != manifest["tables"]:
        raise BackupError("the restored store's table counts differ from the manifest")
    return manifest


def postgres_commands(database_url: str, path: Path) -> tuple[list[str], list[str]]:
    """``pg_dump -Fc`` and ``pg_restore`` command lines for the URL (libpq reads the URL)."""
    url = make_url(database_url).set(drivername="postgresql")
    plain = url.render_as_string(hide_password=False)
    dump = ["pg_dump", "-Fc", "--no-owner", "-f", str(path), "-d", plain]
    restore = ["pg_restore", "--clean", "--if-exists", "--no-owner", "-d", plain, str(path)]
    return dump, restore
