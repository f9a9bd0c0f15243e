"""``ipmo carehomes ingest FILE --home ODS``: load an eMAR export for one care home;
``ipmo carehomes registrations``: record residents' admissions, discharges and deaths from the
registration data.

The import acts as the home's eMAR feed: a system principal of the home with the care-home
staff role, so the access policy's care-home relationship decides which residents it may write
(its own home's only) and every resident touched is audited under its name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from ipmo.cli_support import fail, store_engine

carehomes_app = typer.Typer(help="Care homes: eMAR administrations.", no_args_is_help=True)


@carehomes_app.command("ingest")
def ingest(
    file: Path = typer.Argument(..., help="eMAR CSV export (.csv) or a MedicationAdministration"),
    home: str = typer.Option(..., "--home", help="ODS code of the care home"),
) -> None:
    """Ingest administrations (idempotent); refused as a whole on any bad record."""
    from ipmo.carehomes.actions import IngestError, emar_feed, ingest_rows
    from ipmo.carehomes.administrations import csv_rows, from_fhir
    from ipmo.fhir.versions import FhirInputError
    from ipmo.store import session_scope

    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    fmt = "csv" if file.suffix.lower() == ".csv" else "fhir"
    try:  # CSV errors already name the file and row
        rows = csv_rows(data, file.name) if fmt == "csv" else [from_fhir(data).row()]
    except FhirInputError as exc:
        fail(exc.diagnostics if fmt == "csv" else f"{file.name}: {exc.diagnostics}")
    try:
        with session_scope(store_engine()) as s:
            result = ingest_rows(s, emar_feed(home), home, rows, fmt, datetime.now(UTC))
    except IngestError as exc:
        fail(f"{file.name}: {exc}")
    typer.echo(
        f"{result.added} added, {result.unchanged} already held, "
        f"{len(result.not_on_record)} flagged: medicine not on the resident's record"
    )


@carehomes_app.command("registrations")
def registrations() -> None:
    """Record the admissions, discharges and deaths the registration data shows at each home
    since the last run (run it daily, after the registration data is loaded)."""
    from ipmo.carehomes.actions import record_registration_changes
    from ipmo.store import session_scope

    with session_scope(store_engine()) as s:
        counts = record_registration_changes(s, datetime.now(UTC).date())
    typer.echo(", ".join(f"{n} {kind}" for kind, n in counts.items()))


def register(app: typer.Typer) -> None:
    app.add_typer(carehomes_app, name="carehomes")
