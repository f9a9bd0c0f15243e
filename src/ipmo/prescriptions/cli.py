"""``ipmo prescriptions ingest DIR``: read EPS messages into the prescription store."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

from ipmo.cli_support import fail, store_engine

app = typer.Typer(help="EPS prescriptions: ingest messages.", no_args_is_help=True)


@app.command("ingest")
def ingest(directory: Path = typer.Argument(..., help="folder of EPS FHIR message files")) -> None:
    """Read every *.json message in DIR (in name order); prints read / refused with reasons."""
    from ipmo.prescriptions.ingest import MessageRefused, ingest_message
    from ipmo.store import session_scope

    if not directory.is_dir():
        fail(f"{directory} is not a folder")
    outcomes: Counter[str] = Counter()
    refused: list[tuple[str, str]] = []
    engine = store_engine()
    for path in sorted(directory.glob("*.json")):
        try:
            with session_scope(engine) as session:
                result = ingest_message(session, path.read_bytes())
            outcomes[result.outcome] += 1
            outcomes["pending applied"] += result.applied_pending
        except MessageRefused as exc:
            refused.append((path.name, exc.diagnostics))
    read = sum(outcomes[k] for k in ("applied", "pending", "replay"))
    typer.echo(
        f"read {read} (applied {outcomes['applied']}, pending {outcomes['pending']}, "
        f"replays {outcomes['replay']}, pending applied later {outcomes['pending applied']}); "
        f"refused {len(refused)}"
    )
    for name, reason in refused:
        typer.echo(f"  refused {name}: {reason}")


@app.command("expire")
def expire(
    as_of: str = typer.Option(
        ..., "--as-of", help="expire prescriptions valid until before this day"
    ),
) -> None:
    """Expire prescriptions whose validity has ended (a nightly job)."""
    from datetime import date

    from ipmo.prescriptions.ingest import expire_due
    from ipmo.store import session_scope

    try:
        day = date.fromisoformat(as_of)
    except ValueError:
        fail(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)")
    with session_scope(store_engine()) as session:
        count = expire_due(session, day)
    typer.echo(f"expired {count} prescription(s)")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="prescriptions")
