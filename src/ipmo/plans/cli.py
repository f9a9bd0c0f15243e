"""``ipmo plan …``: load a plan from JSON, list plans and metrics, print the plan on a page."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ipmo.cli_support import fail, store_engine
from ipmo.store import session_scope

plan = typer.Typer(help="The ICS medicines plan: objectives tied to live metrics, PDSA, reports.")


@plan.command("load")
def load_cmd(file: Path = typer.Argument(..., help="plan JSON (see plans/README.md)")):
    """Create a plan with its objectives, PDSA cycles and stakeholders; all or nothing."""
    from ipmo.plans.service import PlanError, create_plan

    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        fail(f"cannot read {file}: {exc}")
    if not isinstance(data, dict):
        fail(f"{file.name}: the file must hold one JSON object")
    try:
        with session_scope(store_engine()) as s:
            created = create_plan(s, data)
            plan_id, n = created.id, len(created.objectives)
    except PlanError as exc:
        fail(f"{file.name}: {exc}")
    typer.echo(f"plan {plan_id} created with {n} objective(s)")


@plan.command("list")
def list_cmd():
    """The plans in the store."""
    from ipmo.plans.service import list_plans

    with session_scope(store_engine()) as s:
        rows = list_plans(s)
    table = Table("id", "title", "owner", "objectives", "period")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["title"],
            r["owner"],
            str(r["objectives"]),
            f"{r['start_date']} – {r['end_date']}",
        )
    Console().print(table)


@plan.command("metrics")
def metrics_cmd():
    """Metric ids an objective can link to."""
    from ipmo.plans.metrics import catalogue

    with session_scope(store_engine()) as s:
        items = catalogue(s)
    table = Table("metric id", "title", "better", "source")
    for m in items:
        table.add_row(m.id, m.title, m.better, m.source)
    Console().print(table)


@plan.command("report")
def report_cmd(
    plan_id: int = typer.Argument(..., help="plan id (see `ipmo plan list`)"),
    fmt: str = typer.Option("html", "--format", help="html | pdf"),
    out: Path | None = typer.Option(None, "--out", "-o", help="file (default plan-ID.FORMAT)"),
):
    """The plan on a page: each objective, its trend chart and RAG status."""
    from ipmo.plans.report import PdfUnavailable, render_html, render_pdf
    from ipmo.plans.service import PlanError, plan_view

    if fmt not in ("html", "pdf"):
        fail(f"--format must be html or pdf, not {fmt!r}")
    try:
        with session_scope(store_engine()) as s:
            view = plan_view(s, plan_id)
    except PlanError as exc:
        fail(str(exc))
    out = out or Path(f"plan-{plan_id}.{fmt}")
    try:
        if fmt == "html":
            out.write_text(render_html(view), encoding="utf-8")
        else:
            out.write_bytes(render_pdf(view))
    except PdfUnavailable as exc:
        fail(str(exc))
    typer.echo(f"wrote {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(plan, name="plan")
