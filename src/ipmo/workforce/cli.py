"""``ipmo workforce …``: import the registry, the training plan and service figures; summaries."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from ipmo.cli_support import fail, store_engine
from ipmo.store import session_scope

T = TypeVar("T")

workforce = typer.Typer(help="Pharmacy workforce registry, summaries and service evaluation.")


def _import(path: Path, load: Callable[[Session, str], T], error: type[Exception]) -> T:
    """Read ``path`` and ``load`` it into the store in one transaction; a file that cannot be
    read, or content ``load`` refuses (``error``), is a one-line error and changes nothing."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {path}: {exc}")
    try:
        with session_scope(store_engine()) as s:
            return load(s, text)
    except error as exc:
        fail(f"{path.name}: {exc}")


@workforce.command("import")
def import_cmd(file: Path = typer.Argument(..., help="ESR-like CSV (see workforce/README.md)")):
    """Import posts, people, vacancies and training places; all rows or none."""
    from ipmo.workforce.importer import WorkforceImportError, import_assignments

    typer.echo(str(_import(file, import_assignments, WorkforceImportError)))


@workforce.command("import-training-plan")
def import_plan_cmd(file: Path = typer.Argument(..., help="CSV: programme,year,planned_places")):
    """Import the planned training places (replacing the same programme and year)."""
    from ipmo.workforce.importer import WorkforceImportError, import_training_plan

    n = _import(file, import_training_plan, WorkforceImportError)
    typer.echo(f"{n} training plan line(s) imported")


@workforce.command("import-activity")
def import_activity_cmd(file: Path = typer.Argument(..., help="service figures CSV (README)")):
    """Import monthly service figures for services run outside ipmo's referrals module."""
    from ipmo.workforce.service_evaluation import ActivityImportError, import_activity

    n = _import(file, import_activity, ActivityImportError)
    typer.echo(f"{n} service-month row(s) imported")


def _fmt(value: float | None, pattern: str = "{:.2f}") -> str:
    return "–" if value is None else pattern.format(value)


@workforce.command("summary")
def summary_cmd(
    by: str = typer.Option("place", "--by", help="pcn | place | sector"),
    on: datetime | None = typer.Option(
        None, formats=["%Y-%m-%d"], help="as on this date (YYYY-MM-DD; default today)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of tables"),
):
    """WTE per 10,000 registered patients, IP coverage, vacancies and training (aggregates)."""
    from ipmo.workforce.staffing import GROUPINGS, summary

    if by not in GROUPINGS:
        fail(f"--by must be one of {', '.join(GROUPINGS)}, not {by!r}")
    with session_scope(store_engine()) as s:
        data = summary(s, by=by, on=on.date() if on else None)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    console = Console()
    table = Table(
        by,
        "name",
        "patients",
        "in post WTE",
        "per 10k",
        "IP cover",
        "vacant WTE",
        "gaps",
        title=f"Pharmacy workforce by {by} on {data['on']}",
    )
    for r in [*data["rows"], data["total"]]:
        table.add_row(
            r["key"],
            r["name"],
            str(r["patients"] or "–"),
            _fmt(r["in_post_wte"]),
            _fmt(r["wte_per_10k"]),
            _fmt(r["ip_coverage"], "{:.0%}"),
            _fmt(r["vacant_wte"]),
            str(len(r["gaps"])) if r["gaps"] else "",
            style="bold red" if r["gaps"] else None,
        )
    console.print(table)
    for r in [*data["rows"], data["total"]]:
        for gap in r["gaps"]:
            console.print(f"[red]gap[/red] {r['key']} {r['name']}: {gap}")
    training = Table("programme", "year", "filled", "unfilled", "planned", "gap", title="Training")
    for t in data["training"]:
        training.add_row(
            t["programme_label"],
            str(t["year"]),
            str(t["filled"]),
            str(t["unfilled"]),
            str(t["planned"] if t["planned"] is not None else "–"),
            str(t["gap"] if t["gap"] is not None else "–"),
        )
    console.print(training)
    console.print(
        f"{len(data['rotations'])} rotational/split post(s); "
        f"{sum(v['posts'] for v in data['vacancies'])} vacant post allocation(s)"
    )


@workforce.command("organogram")
def organogram_cmd(
    kind: str = typer.Argument("ics", help="ics | leadership"),
    out: Path = typer.Option(Path("organogram.svg"), "--out", "-o"),
    names: bool = typer.Option(False, help="show people's names (leadership only)"),
):
    """Write an SVG organogram of the ICS (with pharmacy) or the pharmacy leadership."""
    from ipmo.workforce.organogram import ics_organogram, leadership_organogram

    with session_scope(store_engine()) as s:
        if kind == "ics":
            svg = ics_organogram(s)
        elif kind == "leadership":
            svg = leadership_organogram(s, show_names=names)
        else:
            fail(f"organogram must be 'ics' or 'leadership', not {kind!r}")
    out.write_text(svg, encoding="utf-8")
    typer.echo(f"wrote {out}")


@workforce.command("services")
def services_cmd(
    by: str = typer.Option("place", "--by", help="pharmacy | pcn | place | ics"),
    service: str = typer.Option("", help="only this service"),
    csv_out: Path | None = typer.Option(None, "--csv", help="write the table as CSV here"),
):
    """Service evaluation per service, area and month (referrals, supply, times, feedback)."""
    from ipmo.workforce.service_evaluation import BY_LEVELS, evaluation, to_csv

    if by not in BY_LEVELS:
        fail(f"--by must be one of {', '.join(BY_LEVELS)}, not {by!r}")
    with session_scope(store_engine()) as s:
        rows = evaluation(s, by=by, service=service or None)
    if csv_out is not None:
        csv_out.write_text(to_csv(rows), encoding="utf-8")
        typer.echo(f"wrote {len(rows)} row(s) to {csv_out}")
        return
    table = Table(
        "service",
        by,
        "month",
        "referrals",
        "completed",
        "items",
        "no supply",
        "accept h",
        "complete h",
        "escalations",
        "satisfied",
    )
    for r in rows:
        table.add_row(
            r["service"],
            r["group"],
            r["month"],
            str(r["referrals"]),
            str(r["completed"]),
            str(r["items_supplied"]),
            _fmt(r["no_supply_share"], "{:.0%}"),
            _fmt(r["mean_hours_to_accept"], "{:.1f}"),
            _fmt(r["mean_hours_to_complete"], "{:.1f}"),
            str(r["escalations"]),
            _fmt(r["satisfaction"], "{:.0%}"),
        )
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(workforce, name="workforce")
