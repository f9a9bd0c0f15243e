"""The one cross-domain mechanism: modules found by name in every ipmo package.

A domain never imports another domain's internals. Where one domain needs what another offers
(a plan tracks a workforce figure; a records proposal tells the review domain its outcome), the
offering domain names it in its ``<domain>/hooks.py`` and the using domain asks for it by name:

    from ipmo import hooks
    for provider in hooks.offered("METRIC_PROVIDERS"): ...

so the user depends on a name, not on the other package, and a domain that is absent simply
offers nothing. The same discovery finds each domain's ``models``, ``cli``, ``api``, ``pages``
and ``demo`` modules (``domain_modules``). An import error *inside* a found module is raised,
never taken for "not offered": a broken domain must fail loudly, not drop out silently.

This module is part of the spine and imports no domain at import time.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from functools import lru_cache
from types import ModuleType
from typing import Any

import ipmo


class HookError(LookupError):
    """A hook offered twice under the same key, or required and offered by no domain."""


def domain_modules(name: str, exclude: Iterable[str] = ()) -> list[ModuleType]:
    """``ipmo.<package>.<name>`` for every package of ipmo that has one, sorted by package.

    A package without that module is skipped; any other import failure propagates."""
    skip = set(exclude)
    found = []
    for info in sorted(pkgutil.iter_modules(ipmo.__path__), key=lambda i: i.name):
        if not info.ispkg or info.name in skip:
            continue
        qualified = f"ipmo.{info.name}.{name}"
        try:
            found.append(importlib.import_module(qualified))
        except ModuleNotFoundError as exc:
            if exc.name != qualified:
                raise
    return found


def published_later(names: dict[str, str]) -> Callable[[str], Any]:
    """A package ``__getattr__`` that imports each published name from its module on first use
    (``{"compute_from_store": "ipmo.analytics.compute.service"}``), so importing the package
    stays cheap and free of import cycles; a name not listed is an AttributeError."""

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(name)
        return getattr(importlib.import_module(names[name]), name)

    return __getattr__


@lru_cache(maxsize=1)
def _hook_modules() -> tuple[ModuleType, ...]:
    return tuple(domain_modules("hooks"))


def offered(name: str) -> list[Any]:
    """Every domain's ``hooks.<name>``, in package order (empty when no domain offers it)."""
    return [getattr(m, name) for m in _hook_modules() if hasattr(m, name)]


def offered_map(name: str) -> dict[str, Any]:
    """The dicts offered as ``hooks.<name>``, merged; a key offered by two domains is an error."""
    merged: dict[str, Any] = {}
    for module in _hook_modules():
        for key, value in getattr(module, name, {}).items():
            if key in merged:
                raise HookError(f"hook {name}[{key!r}] offered twice (again by {module.__name__})")
            merged[key] = value
    return merged
