"""``ipmo review check FILE...`` (one patient's FHIR bundles) and ``ipmo review run`` (the store).

``check`` is read-only and prints JSON or a table; ``run`` rebuilds the SMR worklist and the
per-practice rates in one transaction. Bad input: one line on stderr, exit status 2.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer

review_app = typer.Typer(
    help="Medicines optimisation case finding and the SMR worklist.", no_args_is_help=True
)


def _as_of(value: str | None) -> date:
    from ipmo.cli_support import fail

    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--as-of must be a date YYYY-MM-DD, not {value!r}")


@review_app.command("check")
def check_cmd(
    files: list[Path] = typer.Argument(..., help="FHIR R4 JSON bundle(s) for one patient"),
    as_of: str | None = typer.Option(None, "--as-of", help="index date YYYY-MM-DD (default today)"),
    fmt: str = typer.Option("json", "--format", help="json | table"),
) -> None:
    """Run every rule for one patient and print findings with evidence and sources."""
    from ipmo.cli_support import fail
    from ipmo.review.check import check
    from ipmo.review.fhir_input import BundleError, facts_from_files

    if fmt not in ("json", "table"):
        fail("--format must be json or table")
    t = _as_of(as_of)
    try:
        facts, warnings = facts_from_files(files, t)
    except BundleError as exc:
        fail(str(exc))
    result = check(facts, t, warnings=warnings)
    if fmt == "json":
        typer.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Findings as of {t.isoformat()}")
    for col in ("rule_id", "title", "evidence"):
        table.add_column(col)
    for f in result.findings:
        ev = "; ".join(_evidence_text(e) for e in f.evidence if e["type"] != "age")
        table.add_row(f.rule_id, f.title, ev)
    console = Console(width=160)
    console.print(table)
    console.print(
        f"ACB total: {result.acb_total}   unique medicines: {result.medicine_count}   "
        f"SMR priority: {result.smr_priority} ({'; '.join(result.smr_reasons)})"
    )
    if result.prompts:
        console.print("Prompts for the pharmacist: " + ", ".join(p.rule_id for p in result.prompts))
    for w in warnings:
        console.print(f"warning: {w}")


def _evidence_text(e: dict) -> str:
    match e["type"]:
        case "issue":
            return f"{e['name']} {e['date']}"
        case "observation":
            return f"{e['test']} {e.get('comparator') or ''}{e['value']} {e['date']}"
        case "condition":
            return f"{e['term'] or e['code']} {e['date'] or 'undated'}"
        case "absent":
            return f"no {e['what']}"
    return ", ".join(f"{k}={v}" for k, v in e.items() if k != "type")


@review_app.command("run")
def run_cmd(
    as_of: str | None = typer.Option(None, "--as-of", help="index date YYYY-MM-DD (default today)"),
) -> None:
    """Evaluate every rule over the whole store and refresh the SMR worklist and rates."""
    from ipmo.cli_support import store_engine
    from ipmo.review.service import run

    summary = run(store_engine(), _as_of(as_of))
    typer.echo(
        f"{summary.patients} patients evaluated, {summary.findings} findings, "
        f"{summary.on_worklist} on the SMR worklist"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")
