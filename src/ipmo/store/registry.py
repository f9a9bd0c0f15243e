"""Import every domain's ``models`` module so :data:`Base.metadata` knows all tables.

Discovery (rather than a hand-kept list) means a new domain's tables are migrated and created in
tests as soon as its ``models.py`` exists.
"""

from __future__ import annotations

import importlib
import pkgutil

import ipmo
from ipmo.store.base import Base


def load_all_models() -> type[Base]:
    for info in pkgutil.iter_modules(ipmo.__path__):
        if not info.ispkg:
            continue
        try:
            importlib.import_module(f"ipmo.{info.name}.models")
        except ModuleNotFoundError as exc:
            if exc.name != f"ipmo.{info.name}.models":
                raise
    return Base
