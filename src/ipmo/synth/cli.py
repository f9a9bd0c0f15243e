"""``ipmo synth --size tiny|demo|ics --seed N [--replace]``: generate the synthetic ICS."""

from __future__ import annotations

import importlib
import time
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ipmo.synth.sizes import SIZES

SIZE_HELP = f"one of {', '.join([*SIZES, 'national-epd'])}"


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(2)


def render_report(report, console: Console) -> None:
    table = Table(
        title=f"Realism report: size {report.size}, seed {report.seed}, "
        f"as of {report.as_of.isoformat()}"
    )
    for col in ("measure", "generated", "target", "tolerance", "source", "result"):
        table.add_column(col, overflow="fold")
    for row in report.rows:
        result = {True: "[green]PASS[/]", False: "[red]FAIL[/]", None: "info"}[row.passed]
        target = "—" if row.target is None else f"{row.target:.2f}"
        table.add_row(
            row.measure, f"{row.generated:.2f}", target, row.tolerance, row.source, result
        )
    console.print(table)
    counts = ", ".join(f"{k} {v:,}" for k, v in report.counts.items())
    console.print(f"rows: {counts}")
    console.print("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in report.seconds.items()))


def synth(
    size: str = typer.Option("demo", "--size", help=SIZE_HELP),
    seed: str = typer.Option("1", "--seed", help="whole number; same seed, same data"),
    replace: bool = typer.Option(False, "--replace", help="empty a non-empty store first"),
    as_of: datetime | None = typer.Option(
        None, "--as-of", formats=["%Y-%m-%d"], help="reference date YYYY-MM-DD (default today)"
    ),
    out: Path = typer.Option(None, "--out", help="national-epd only: output folder"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bars"),
) -> None:
    """Generate a synthetic ICS (organisations, patients, prescribing, labs, source lists)."""
    try:
        seed_value = int(seed)
    except ValueError:
        _fail(f"--seed must be a whole number, not {seed!r}")
    if seed_value < 0:
        _fail(f"--seed must be 0 or more, not {seed_value}")
    if size == "national-epd":
        _national_epd(out, seed_value)
        return
    if size not in SIZES:
        _fail(f"unknown size {size!r}: choose {SIZE_HELP}")
    as_of_date = as_of.date() if as_of else None

    from ipmo.config import get_settings
    from ipmo.store import StoreError, create_store_engine, init_store
    from ipmo.synth.generator import SynthError, generate

    console = Console()
    try:
        engine = create_store_engine(get_settings().database_url)
        init_store(engine)
        report = generate(
            engine,
            size=size,
            seed=seed_value,
            progress=not quiet,
            as_of=as_of_date,
            replace=replace,
        )
    except (SynthError, StoreError) as exc:
        _fail(str(exc))
    render_report(report, console)


def _national_epd(out: Path | None, seed: int) -> None:
    try:
        module = importlib.import_module("ipmo.synth.national_epd")
    except ModuleNotFoundError:
        _fail("--size national-epd is not available in this build (ipmo.synth.national_epd)")
    from ipmo.config import get_settings

    out_dir = out or get_settings().analytics_dir / "national-epd"
    started = time.perf_counter()
    result = module.generate_national_epd(out_dir, seed, practices=6500)
    seconds = time.perf_counter() - started
    rows = getattr(result, "raw_rows", None)
    path = getattr(result, "path", out_dir)
    typer.echo(
        f"national EPD: {rows:,} rows for 6,500 practices in {seconds:.0f} s -> {path}"
        if rows is not None
        else f"national EPD written to {path} in {seconds:.0f} s"
    )


def register(app: typer.Typer) -> None:
    app.command("synth")(synth)
