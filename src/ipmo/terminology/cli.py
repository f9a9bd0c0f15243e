"""``ipmo terminology …``: import a dm+d release, build/load the starter dictionary, search."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ipmo.config import get_settings
from ipmo.store import StoreError, create_store_engine, init_store, session_scope

app = typer.Typer(help="dm+d and BNF terminology.", no_args_is_help=True)


def _fail(msg: str) -> None:
    typer.echo(msg, err=True)
    raise typer.Exit(2)


def _engine():
    try:
        engine = create_store_engine(get_settings().database_url)
        init_store(engine)
    except StoreError as exc:
        _fail(str(exc))
    return engine


@app.command("import-dmd")
def import_dmd(
    directory: Path = typer.Argument(..., help="Folder holding the dm+d XML release files."),
    bnf_mapping: Path | None = typer.Option(
        None, "--bnf-mapping", help="NHSBSA 'BNF SNOMED mapping' .xlsx giving BNF codes."
    ),
    replace: bool = typer.Option(False, "--replace", help="Clear all dm+d rows first."),
) -> None:
    """Import an official dm+d XML release in one transaction."""
    from ipmo.terminology.dmd_xml import DmdImportError, import_release

    engine = _engine()
    start = time.perf_counter()
    try:
        with session_scope(engine) as session:
            release = import_release(session, directory, bnf_mapping=bnf_mapping, replace=replace)
    except DmdImportError as exc:
        _fail(str(exc))
    seconds = time.perf_counter() - start
    counts = ", ".join(f"{k} {v:,}" for k, v in release.counts().items())
    typer.echo(f"imported dm+d release {release.name}: {counts} in {seconds:.2f}s")
    for key, value in release.stats.items():
        typer.echo(f"  {key}: {value}")


@app.command("load-dictionary")
def load_dictionary_cmd() -> None:
    """Load the shipped starter dictionary into the store (idempotent)."""
    from ipmo.terminology.dictionary import load_starter_dictionary

    engine = _engine()
    start = time.perf_counter()
    with session_scope(engine) as session:
        inserted = load_starter_dictionary(session)
    seconds = time.perf_counter() - start
    typer.echo(
        "loaded starter dictionary: "
        + ", ".join(f"{k} {v:,}" for k, v in inserted.items())
        + f" in {seconds:.1f}s"
    )


@app.command("search")
def search_cmd(
    words: list[str] = typer.Argument(..., help="Words of a product name, or a dm+d id."),
    limit: int = typer.Option(20, "--limit", min=1, max=500),
) -> None:
    """Find dm+d concepts by name (or id) in the store."""
    from ipmo.terminology.bnf import therapeutic_class
    from ipmo.terminology.service import search

    text = " ".join(words)
    engine = _engine()
    with session_scope(engine) as session:
        found = search(session, text, limit)
    if not found:
        typer.echo(
            f"no concept matches {text!r} (is the dictionary loaded? ipmo terminology "
            "load-dictionary)"
        )
        raise typer.Exit(1)
    table = Table(title=f"dm+d concepts matching {text!r}")
    for col in ("level", "id", "name", "VMP", "VTM", "BNF code", "class"):
        table.add_column(col)
    for c in found:
        table.add_row(
            c.level, c.id, c.name, c.vmp_id or "", c.vtm_id or "", c.bnf_code or "",
            therapeutic_class(c.bnf_code) or "",
        )  # fmt: skip
    Console().print(table)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="terminology")
