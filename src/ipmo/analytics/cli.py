"""``ipmo analytics …``: ingest prescribing data and compute OpenPrescribing-style measures."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ipmo.analytics.compute.levels import DECILES, LEVELS
from ipmo.analytics.report_cli import add_commands as add_report_commands
from ipmo.analytics.report_cli import fail as _fail
from ipmo.analytics.report_cli import ingest_file

analytics = typer.Typer(help="Population prescribing measures (analytics zone).")
OUTPUT_COLUMNS = ["measure", "org_type", "org_code", "month", "numerator", "denominator"]
OUTPUT_COLUMNS += ["calc_value", "percentile"] + [f"cost_saving_{c}" for c in DECILES]


def _progress(quiet: bool) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=quiet,
        transient=True,
    )


@analytics.command("ingest-epd")
def ingest_epd_cmd(
    files: list[Path] = typer.Argument(..., help="EPD CSV files (2016 or SNOMED layout)"),
    quiet: bool = typer.Option(False, "--quiet"),
) -> None:
    """Aggregate EPD files to practice × presentation × month Parquet in the data folder."""
    from ipmo.analytics.ingest.epd import IngestError, ingest_epd

    for path in files:
        if not path.is_file():
            _fail(f"{path}: no such file")
    with _progress(quiet) as progress:
        progress.add_task(f"ingesting {len(files)} EPD file(s)", total=None)
        try:
            report = ingest_epd(files)
        except IngestError as exc:
            _fail(str(exc))
    typer.echo(
        f"{report.raw_rows:,} raw rows → {report.rows:,} practice×presentation rows for "
        f"{', '.join(report.months)}; {report.dropped_unidentified_rows:,} unidentified-prescriber "
        "rows dropped"
    )


@analytics.command("ingest-prescribing")
def ingest_prescribing_cmd(
    prescribing: Path = typer.Argument(..., help="OpenPrescribing-style aggregated CSV"),
    orgs: Path = typer.Option(..., "--orgs", help="practice,setting,pcn,ccg,stp,regional_team"),
) -> None:
    """Load aggregated prescribing and the organisation hierarchy."""
    from ipmo.analytics.ingest.epd import IngestError
    from ipmo.analytics.ingest.prescribing_csv import ingest_prescribing

    for path in (prescribing, orgs):
        if not path.is_file():
            _fail(f"{path}: no such file")
    try:
        report = ingest_prescribing(prescribing, orgs)
    except IngestError as exc:
        _fail(str(exc))
    typer.echo(f"{report.rows:,} rows for {', '.join(report.months)}")


@analytics.command("ingest-list-sizes")
def ingest_list_sizes_cmd(
    path: Path = typer.Argument(..., help="NHS Digital GP list sizes by quinary age band and sex"),
) -> None:
    """Load list sizes (total and STAR-PU) for per-1,000-patient denominators."""
    from ipmo.analytics.ingest.list_sizes import ingest_list_sizes

    rows = ingest_file(ingest_list_sizes, path)
    typer.echo(f"{rows:,} practice-month list sizes stored")


@analytics.command("measures")
def measures_cmd(
    measure: list[str] = typer.Option(None, "--measure", help="measure id (repeatable)"),
    org_type: str = typer.Option(None, "--org-type", help="practice|pcn|place|icb|region"),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb|postgres|spark"),
    fmt: str = typer.Option("csv", "--format", help="csv|json"),
    output: Path = typer.Option(None, "--output", "-o", help="file (default: stdout)"),
    quiet: bool = typer.Option(False, "--quiet"),
    ics_measures: Path = typer.Option(
        None, "--ics-measures", help="folder of ICS measure YAML files to add (ics_measures.py)"
    ),
) -> None:
    """Compute measures at every level (or one) and print them as CSV or JSON."""
    from ipmo.analytics.compute.service import compute_from_store
    from ipmo.analytics.measures.definitions import MeasureDefinitionError

    if org_type is not None and org_type not in LEVELS:
        _fail(f"--org-type must be one of {', '.join(LEVELS)}, not {org_type!r}")
    if engine not in ("duckdb", "postgres", "spark"):
        _fail(f"--engine must be duckdb, postgres or spark, not {engine!r}")
    if fmt not in ("csv", "json"):
        _fail(f"--format must be csv or json, not {fmt!r}")
    levels = (org_type,) if org_type else tuple(LEVELS)
    with _progress(quiet) as progress:
        progress.add_task(f"computing measures on {engine}", total=None)
        try:
            if ics_measures is None:
                run = compute_from_store(engine=engine, measure_ids=measure or None, levels=levels)
            else:
                from ipmo.analytics.compute.service import compute_with_ics

                run = compute_with_ics(ics_measures, None, engine, measure or None, levels)
        except (MeasureDefinitionError, FileNotFoundError, KeyError, ValueError) as exc:
            _fail(str(exc).strip("'\""))
    rows = run.results.values.select(OUTPUT_COLUMNS).to_pylist()
    handle = output.open("w", newline="") if output else sys.stdout
    try:
        if fmt == "json":
            json.dump(rows, handle, default=str)
            handle.write("\n")
        else:
            writer = csv.DictWriter(handle, fieldnames=OUTPUT_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    finally:
        if output:
            handle.close()
    typer.echo(
        f"{len(run.plans)} measures run, {len(run.skipped)} skipped "
        "(see `ipmo analytics coverage`)",
        err=True,
    )


@analytics.command("coverage")
def coverage_cmd() -> None:
    """Which shipped measures can run on the loaded data, and why the others cannot."""
    from ipmo.analytics.compute.service import presentations
    from ipmo.analytics.ingest import datastore
    from ipmo.analytics.measures.definitions import load_definitions
    from ipmo.analytics.planning.plan import plan_measures

    try:
        con = datastore.connect_duckdb(datastore.data_dir())
    except FileNotFoundError as exc:
        _fail(str(exc))
    plans, skipped = plan_measures(load_definitions().values(), presentations(con))
    for plan in plans:
        typer.echo(f"runs     {plan.id}" + (f" ({plan.note})" if plan.note else ""))
    for measure_id, reason in sorted(skipped.items()):
        typer.echo(f"skipped  {measure_id}: {reason}")
    typer.echo(f"{len(plans)} of {len(plans) + len(skipped)} measures run")


add_report_commands(analytics)  # report, inequalities, ingest-deprivation (report_cli.py)


def register(app: typer.Typer) -> None:
    app.add_typer(analytics, name="analytics")
