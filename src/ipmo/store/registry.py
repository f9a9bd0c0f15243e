"""Import every domain's ``models`` module so :data:`Base.metadata` knows all tables.

Discovery (rather than a hand-kept list) means a new domain's tables are migrated and created in
tests as soon as its ``models.py`` exists.
"""

from __future__ import annotations

from ipmo.hooks import domain_modules
from ipmo.store.base import Base


def load_all_models() -> type[Base]:
    domain_modules("models")
    return Base
