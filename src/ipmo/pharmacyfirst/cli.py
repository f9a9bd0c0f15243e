"""``ipmo pharmacyfirst …``: the pathways in force on a day, and delivering the queued Update
Records to a MESH client's outbox folder."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from ipmo.cli_support import store_engine

app = typer.Typer(
    help="NHS Pharmacy First: clinical pathways and consultations.", no_args_is_help=True
)


@app.command("pathways")
def pathways(
    on: str = typer.Option(None, help="the consultation date (YYYY-MM-DD; default today)"),
) -> None:
    """The clinical pathways in force on a day: population, gateway criteria and PGD treatments."""
    from rich.console import Console
    from rich.table import Table

    from ipmo.pharmacyfirst.pathways import catalogue

    day = date.fromisoformat(on) if on else date.today()
    version = catalogue().in_force(day)
    if version is None:
        raise typer.BadParameter(f"no Pharmacy First pathway was in force on {day.isoformat()}")
    table = Table(title=f"Pharmacy First pathways in force on {day.isoformat()}")
    for column in ("pathway", "population", "version", "gateway criteria", "PGD treatments"):
        table.add_column(column)
    for code, p in sorted(version.pathways.items()):
        table.add_row(
            code,
            p.population,
            p.version.isoformat(),
            "; ".join(c.text for c in p.gateway),
            "; ".join(t.title for t in p.treatments),
        )
    Console().print(table)


@app.command("deliver")
def deliver(
    root: Path = typer.Option(..., help="the MESH client's folder (one sub-folder per ODS code)"),
) -> None:
    """Write the due queued Update Records to <root>/<practice ODS>/out/ (once per message; a
    failure is retried later with backoff). The referrals worker does this on every sweep."""
    from ipmo.pharmacyfirst.update_record import deliver_update_records

    sent = deliver_update_records(store_engine(), root)
    typer.echo(f"{sent.delivered} Update Record(s) written under {root}, {sent.failed} to retry")


def register(root_app: typer.Typer) -> None:
    root_app.add_typer(app, name="pharmacyfirst")
