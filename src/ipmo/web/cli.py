"""``ipmo serve``: the web app and API."""

from __future__ import annotations

import typer

from ipmo.cli_support import store_engine


def serve(
    host: str = typer.Option("127.0.0.1", help="interface to listen on"),
    port: int = typer.Option(8000, help="port"),
) -> None:
    """Run the web app, API (/docs) and FHIR endpoints."""
    import uvicorn

    from ipmo.logs import configure_logging

    configure_logging()

    from ipmo.web.app import create_app

    app = create_app(store_engine())
    typer.echo(f"ipmo is running at http://{host}:{port}/  (API docs: /docs; Ctrl+C stops)")
    uvicorn.run(app, host=host, port=port, log_config=None, log_level="info")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
