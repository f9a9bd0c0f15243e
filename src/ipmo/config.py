"""Where ipmo keeps its data, read from the environment once.

`IPMO_DATA_DIR` (default `./ipmo-data`) holds the SQLite store, DuckDB/Parquet analytics files and
the cached demo ICS. `IPMO_DATABASE_URL` overrides the store (e.g. a PostgreSQL URL in production).
`IPMO_SECRET_KEY` signs sessions and tokens; by default a random key is created once in the data
folder so a local install is safe without configuration. `IPMO_AUDIT_KEY` keys the audit log's MAC
chain the same way (its own key, never stored in the database: ``security/audit.py``), and
`IPMO_AUDIT_CHECKPOINTS` names the file the audit log's signed checkpoints are appended to (default
``audit-checkpoints.jsonl`` in the data folder).
`IPMO_MAX_BODY_BYTES` caps request bodies (default 10 MiB).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    secret_key: str
    token_ttl_seconds: int = 8 * 3600
    # largest request body accepted (413 beyond); uploads with stricter limits check their own
    max_body_bytes: int = 10 * 1024 * 1024

    @property
    def analytics_dir(self) -> Path:
        return self.data_dir / "analytics"

    @property
    def audit_key(self) -> str:
        return audit_key(self.data_dir)

    @property
    def audit_checkpoints(self) -> Path:
        return audit_checkpoints(self.data_dir)


def _generated_secret(data_dir: Path, env: str, filename: str) -> str:
    """The value of ``env`` if set, else a random key created once in ``data_dir/filename``."""
    if key := os.environ.get(env):
        return key
    path = data_dir / filename
    if not path.exists():
        # several worker processes may get here at once: each writes its own candidate and links
        # it into place; link() fails if the name exists, so exactly one key wins and all read it
        data_dir.mkdir(parents=True, exist_ok=True)
        candidate = data_dir / f".{filename}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_urlsafe(48).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(candidate, path)
        except FileExistsError:
            pass
        finally:
            candidate.unlink()
    return path.read_text().strip()


def _secret_key(data_dir: Path) -> str:
    return _generated_secret(data_dir, "IPMO_SECRET_KEY", "secret.key")


def audit_key(data_dir: Path) -> str:
    return _generated_secret(data_dir, "IPMO_AUDIT_KEY", "audit.key")


def audit_checkpoints(data_dir: Path) -> Path:
    if path := os.environ.get("IPMO_AUDIT_CHECKPOINTS"):
        return Path(path).resolve()
    return data_dir / "audit-checkpoints.jsonl"


def resolve_data_dir() -> Path:
    return Path(os.environ.get("IPMO_DATA_DIR", "ipmo-data")).resolve()


def get_settings() -> Settings:
    data_dir = resolve_data_dir()
    url = os.environ.get("IPMO_DATABASE_URL") or f"sqlite:///{data_dir / 'ipmo.sqlite3'}"
    settings = Settings(data_dir=data_dir, database_url=url, secret_key=_secret_key(data_dir))
    if limit := os.environ.get("IPMO_MAX_BODY_BYTES"):
        settings = replace(settings, max_body_bytes=int(limit))
    return settings
