"""Rebuild migration 0001 from the current models (pre-release only).

Until ipmo has a deployment whose schema must be carried forward, the schema is one initial
migration generated from the models. Run ``uv run python -m ipmo.store.regenerate_initial`` after
changing a model. Once a release is cut, add new revisions with ``alembic revision --autogenerate``
instead.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from ipmo.store.migrate import MIGRATIONS, alembic_config


def main() -> None:
    versions = MIGRATIONS / "versions"
    versions.mkdir(exist_ok=True)
    for old in versions.glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'empty.sqlite3'}")
        with engine.begin() as connection:
            cfg = alembic_config(engine)
            cfg.attributes["connection"] = connection
            command.revision(
                cfg,
                message="initial schema",
                autogenerate=True,
                rev_id="0001",
            )
    for path in versions.glob("0001_*.py"):
        print(f"wrote {path.name}")


if __name__ == "__main__":
    main()
