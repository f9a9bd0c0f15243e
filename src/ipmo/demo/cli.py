"""``ipmo demo``: set up the demo ICS (once) and run the web app."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from ipmo.cli_support import store_engine
from ipmo.config import get_settings


def demo(
    size: str = typer.Option("demo", help="synthetic ICS size: tiny | demo | ics"),
    seed: int = typer.Option(1, help="random seed (same seed, same ICS)"),
    host: str = typer.Option("127.0.0.1", help="interface to listen on"),
    port: int = typer.Option(8000, help="port"),
    serve: bool = typer.Option(True, help="start the web app when ready"),
) -> None:
    """Prepare the demo ICS in the data folder (first run only), print the logins and serve."""
    from ipmo.demo.setup import demo_logins, prepare_demo

    console = Console()
    settings = get_settings()
    engine = store_engine()
    prepare_demo(engine, settings, size=size, seed=seed, say=console.print)
    table = Table("username", "password", "who", title="Demo logins")
    for row in demo_logins():
        table.add_row(*row)
    console.print(table)
    if serve:
        import uvicorn

        from ipmo.logs import configure_logging
        from ipmo.web.app import create_app

        configure_logging()
        app = create_app(engine, settings)
        console.print(f"[bold]ipmo is running at http://{host}:{port}/[/bold]  (Ctrl+C stops)")
        uvicorn.run(app, host=host, port=port, log_config=None, log_level="info")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
