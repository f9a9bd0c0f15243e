"""The ``ipmo`` command.

Each domain that has commands defines ``register(app)`` in ``ipmo/<domain>/cli.py``; they are
mounted here by discovery so the tree of folders stays the map of the commands.
"""

from __future__ import annotations

import typer

from ipmo.hooks import domain_modules

app = typer.Typer(
    name="ipmo",
    help="Integrated Pharmacy and Medicines Optimisation for an NHS Integrated Care System.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _mount_domains() -> None:
    for module in domain_modules("cli"):
        module.register(app)


_mount_domains()
