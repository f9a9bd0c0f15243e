"""``ipmo prescriptions ingest DIR``: read EPS messages into the prescription store."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

from ipmo.cli_support import fail, store_engine

app = typer.Typer(help="EPS prescriptions: ingest messages.", no_args_is_help=True)


BATCH = 500  # messages per unit of work (ingest_batch: the store read once, written in bulk)


@app.command("ingest")
def ingest(directory: Path = typer.Argument(..., help="folder of EPS FHIR message files")) -> None:
    """Read every *.json message in DIR (in name order); prints read / refused with reasons.
    Messages are read in batches of 500, each one unit of work; within it each message is
    checked in full and a refused one changes nothing."""
    from ipmo.prescriptions.ingest import ingest_batch
    from ipmo.store import session_scope

    if not directory.is_dir():
        fail(f"{directory} is not a folder")
    outcomes: Counter[str] = Counter()
    refused: list[tuple[str, str]] = []
    engine = store_engine()
    paths = sorted(directory.glob("*.json"))
    for start in range(0, len(paths), BATCH):
        chunk = paths[start : start + BATCH]
        with session_scope(engine) as session:
            result = ingest_batch(session, [p.read_bytes() for p in chunk])
        outcomes.update(outcome for _, outcome in result.outcomes)
        outcomes["pending applied"] += result.pending_applied
        refused += [(chunk[n].name, reason) for n, reason in sorted(result.refused)]
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
