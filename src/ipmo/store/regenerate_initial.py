"""Rebuild migration 0001 from the current models (pre-release only).

Until ipmo has a deployment whose schema must be carried forward, the tables come from one initial
migration generated from the models (see docs/decisions/0001). Run
``uv run python -m ipmo.store.regenerate_initial`` after changing a model. Hand-written later
revisions (such as 0002's audit triggers) are kept and still follow 0001.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from ipmo.store.migrate import MIGRATIONS, alembic_config


def _generate(tmp: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp / 'empty.sqlite3'}")
    with engine.begin() as connection:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = connection
        command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")


def main() -> None:
    versions = MIGRATIONS / "versions"
    versions.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as aside:
        later = [p for p in versions.glob("*.py") if not p.name.startswith("0001_")]
        for path in later:  # step aside while 0001 is rebuilt against an empty database
            shutil.move(str(path), Path(aside) / path.name)
        try:
            for old in versions.glob("0001_*.py"):
                old.unlink()
            _generate(Path(tmp))
        finally:
            for path in later:
                shutil.move(str(Path(aside) / path.name), path)
    for path in versions.glob("0001_*.py"):
        print(f"wrote {path.name}")


if __name__ == "__main__":
    main()
