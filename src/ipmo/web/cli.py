"""``ipmo serve``: the web app and API."""

from __future__ import annotations

import typer


def serve(
    host: str = typer.Option("127.0.0.1", help="interface to listen on"),
    port: int = typer.Option(8000, help="port"),
    workers: int = typer.Option(1, min=1, help="worker processes (e.g. one per CPU core)"),
    log_level: str = typer.Option("info", help="uvicorn log level (access log at info)"),
) -> None:
    """Run the web app, API (/docs) and FHIR endpoints."""
    from ipmo.web.server import run

    typer.echo(f"ipmo is running at http://{host}:{port}/  (API docs: /docs; Ctrl+C stops)")
    run(host, port, workers, log_level)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
