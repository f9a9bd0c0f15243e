"""Where ipmo keeps its data, read from the environment once.

`IPMO_DATA_DIR` (default `./ipmo-data`) holds the SQLite store, DuckDB/Parquet analytics files and
the cached demo ICS. `IPMO_DATABASE_URL` overrides the store (e.g. a PostgreSQL URL in production).
`IPMO_SECRET_KEY` signs sessions and tokens; by default a random key is created once in the data
folder so a local install is safe without configuration.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    secret_key: str
    token_ttl_seconds: int = 8 * 3600

    @property
    def analytics_dir(self) -> Path:
        return self.data_dir / "analytics"


def _secret_key(data_dir: Path) -> str:
    if key := os.environ.get("IPMO_SECRET_KEY"):
        return key
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def get_settings() -> Settings:
    data_dir = Path(os.environ.get("IPMO_DATA_DIR", "ipmo-data")).resolve()
    url = os.environ.get("IPMO_DATABASE_URL") or f"sqlite:///{data_dir / 'ipmo.sqlite3'}"
    return Settings(data_dir=data_dir, database_url=url, secret_key=_secret_key(data_dir))
