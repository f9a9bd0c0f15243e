"""The ``ipmo`` command.

Each domain that has commands defines ``register(app)`` in ``ipmo/<domain>/cli.py``; they are
mounted here by discovery so the tree of folders stays the map of the commands.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

import ipmo

app = typer.Typer(
    name="ipmo",
    help="Integrated Pharmacy and Medicines Optimisation for an NHS Integrated Care System.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _mount_domains() -> None:
    for info in sorted(pkgutil.iter_modules(ipmo.__path__), key=lambda i: i.name):
        if not info.ispkg:
            continue
        try:
            module = importlib.import_module(f"ipmo.{info.name}.cli")
        except ModuleNotFoundError as exc:
            if exc.name != f"ipmo.{info.name}.cli":
                raise
            continue
        module.register(app)


_mount_domains()
