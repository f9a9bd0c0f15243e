"""``ipmo analytics report | inequalities | ingest-deprivation``: registered on the analytics
Typer app by ``cli.py`` (heavy imports stay inside the commands so the CLI starts fast)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import typer

T = TypeVar("T")


def fail(message: str) -> NoReturn:
    """The message on stderr, exit status 2 (every analytics command's bad-input answer)."""
    typer.echo(message, err=True)
    raise typer.Exit(2)


def ingest_file(ingest: Callable[[Path], T], path: Path) -> T:
    """``ingest(path)``, or a one-line error (exit 2) for a missing file or bad content."""
    from ipmo.analytics.ingest.epd import IngestError

    if not path.is_file():
        fail(f"{path}: no such file")
    try:
        return ingest(path)
    except IngestError as exc:
        fail(str(exc))


def _results():
    from ipmo.analytics.compute.service import cached_results
    from ipmo.analytics.ingest import datastore

    root = datastore.data_dir()
    results = cached_results(root)
    if results is None:
        fail(f"no prescribing data in {root}: run `ipmo analytics ingest-epd`")
    return root, results


def report_cmd(
    org: str = typer.Option(..., "--org", help="practice, PCN, place, ICB or region code"),
    org_type: str = typer.Option(None, "--org-type", help="only if a code is used at 2 levels"),
    fmt: str = typer.Option("html", "--format", help="html | pdf | csv"),
    output: Path = typer.Option(None, "--output", "-o", help="file (default: named after org)"),
) -> None:
    """Medicines on a page: an organisation's measures, biggest opportunity first."""
    from ipmo.analytics.reports import report

    if fmt not in ("html", "pdf", "csv"):
        fail(f"--format must be html, pdf or csv, not {fmt!r}")
    root, results = _results()
    try:
        view, body = report.for_org(results, root, org, org_type, fmt)
    except (report.ReportError, report.PdfUnavailable) as exc:
        fail(str(exc))
    output = output or Path(report.file_name(view, fmt))
    try:
        output.write_bytes(body)
    except OSError as exc:
        fail(f"{output}: cannot write: {exc.strerror}")
    typer.echo(f"wrote {output} ({len(view['rows'])} measures, {view['month']:%B %Y})")


def inequalities_cmd(
    measure: str = typer.Option(None, "--measure", help="measure id (default: every measure)"),
    fmt: str = typer.Option("csv", "--format", help="csv | json"),
    output: Path = typer.Option(None, "--output", "-o", help="file (default: stdout)"),
) -> None:
    """Measure values by practice IMD quintile (1 = most deprived), gap and slope index."""
    from ipmo.analytics.reports import inequalities as ineq
    from ipmo.analytics.reports.report import report_definitions

    if fmt not in ("csv", "json"):
        fail(f"--format must be csv or json, not {fmt!r}")
    root, results = _results()
    if measure and measure not in report_definitions(root):
        fail(f"unknown measure {measure!r}")
    deciles = ineq.load_deprivation(root)
    if deciles is None:
        fail(f"no practice deprivation in {root}: run `ipmo analytics ingest-deprivation FILE`")
    rows = ineq.inequalities(results.values, deciles, measure)
    text = json.dumps(ineq.to_json(rows)) + "\n" if fmt == "json" else ineq.to_csv(rows)
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    with_decile, practices = ineq.coverage(results.values, deciles)
    typer.echo(f"{with_decile} of {practices} practices have an IMD decile", err=True)


def ingest_deprivation_cmd(
    path: Path = typer.Argument(..., help="CSV: practice,imd_decile (1–10) or practice,imd_score"),
) -> None:
    """Load each practice's IMD decile (replaces the previous table)."""
    from ipmo.analytics.reports.inequalities import ingest_deprivation

    rows = ingest_file(ingest_deprivation, path)
    typer.echo(f"{rows:,} practice IMD deciles stored")


def add_commands(app: typer.Typer) -> None:
    app.command("report")(report_cmd)
    app.command("inequalities")(inequalities_cmd)
    app.command("ingest-deprivation")(ingest_deprivation_cmd)
