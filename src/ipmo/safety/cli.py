"""``ipmo safety``: check the hazard log against the code and tests; write the report."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from ipmo.safety.checker import ROOT, check_log
from ipmo.safety.hazard_log import DEFAULT_LOG, HazardLogError, load
from ipmo.safety.report import render_html, test_evidence

safety = typer.Typer(help="Clinical risk management (DCB0129): hazard log and safety case report.")
console = Console()


def register(app: typer.Typer) -> None:
    app.add_typer(safety, name="safety")


def _load(path: Path):
    try:
        return load(path)
    except HazardLogError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@safety.command("check")
def check(log: Path = typer.Option(DEFAULT_LOG, help="the hazard log (YAML)")) -> None:
    """Every cited test is collected, every hazard has a test, every clinical item has a hazard."""
    findings = check_log(_load(log))
    for f in findings:
        console.print(str(f))
    if findings:
        raise typer.Exit(1)
    console.print("hazard log checked: no findings")


@safety.command("report")
def report(
    out: Path = typer.Option(Path("safety-report"), help="folder to write the report into"),
    log: Path = typer.Option(DEFAULT_LOG, help="the hazard log (YAML)"),
    junit: Path | None = typer.Option(None, help="pytest --junitxml file: the test evidence"),
    pdf: bool = typer.Option(True, help="also write a PDF (needs WeasyPrint and pango)"),
    check: bool = typer.Option(True, help="run the checker and list its findings in the report"),
) -> None:
    """Write the clinical safety case report (HTML, and PDF) from the hazard log."""
    hazard_log = _load(log)
    findings = [str(f) for f in check_log(hazard_log)] if check else []
    evidence = test_evidence(junit, ROOT) if junit else None
    html = render_html(hazard_log, evidence=evidence, findings=findings)
    out.mkdir(parents=True, exist_ok=True)
    (out / "safety-case-report.html").write_text(html, encoding="utf-8")
    written = [out / "safety-case-report.html"]
    if pdf:
        from ipmo.web.pdf import PdfUnavailable, html_to_pdf

        try:
            (out / "safety-case-report.pdf").write_bytes(html_to_pdf(html))
            written.append(out / "safety-case-report.pdf")
        except PdfUnavailable as exc:
            console.print(f"[yellow]{exc}[/yellow]")
    for p in written:
        console.print(f"wrote {p}")
    if findings:
        console.print(f"[yellow]{len(findings)} checker finding(s) listed in the report[/yellow]")
