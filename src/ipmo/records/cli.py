"""``ipmo records reconcile`` and ``ipmo dose-text``.

Both are read-only: they print, they never write to the store. Bad input is one line on stderr
and exit status 2.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer

records_app = typer.Typer(help="The One Medication Record: ingest, reconcile, publish.")


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(2)


def _dosages_of(value: Any) -> Any:
    """A Dosage, a list of Dosage, or a resource carrying them (dosage / dosageInstruction)."""
    if isinstance(value, dict) and value.get("resourceType"):
        return value.get("dosageInstruction") or value.get("dosage") or []
    return value


def dose_text(
    file: Path = typer.Argument(..., help="JSON: one Dosage, a list of Dosage, or JSON Lines"),
    ig_strict: bool = typer.Option(
        False, "--ig-strict", help="leave out patientInstruction (IG rule since Feb 2025)"
    ),
) -> None:
    """Print NHS dose text for FHIR R4 Dosage(s): one line out per line (or document) in."""
    from ipmo.terminology.dosage import DoseTextError, dosages_to_text

    try:
        text = file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc.strerror}") from None
    try:
        documents = [json.loads(text, parse_float=Decimal)]
    except json.JSONDecodeError:
        documents = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                documents.append(json.loads(line, parse_float=Decimal))
            except json.JSONDecodeError as exc:
                raise _fail(f"line {n}: not JSON ({exc.msg})") from None
    failed = False
    for n, doc in enumerate(documents, start=1):
        try:
            out = dosages_to_text(_dosages_of(doc), patient_instruction=not ig_strict)
        except (DoseTextError, TypeError, AttributeError) as exc:
            where = f"line {n}: " if len(documents) > 1 else ""
            typer.echo(f"{where}cannot render dosage: {exc}", err=True)
            typer.echo("")
            failed = True
            continue
        typer.echo(out)
    if failed:
        raise typer.Exit(2)


def _print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if result.get("source_kinds"):
        kinds = Table(title="Sources")
        for col in ("source", "kind", "why"):
            kinds.add_column(col)
        for k in result["source_kinds"]:
            kinds.add_row(k["source"], k["kind"], k["why"] or "")
        console.print(kinds)
    meds = Table(
        title=f"Medicines at {result['index_date']} (reference: {result['reference_source']})"
    )
    for col in ("medicine", "dose", *result["sources"], "why current"):
        meds.add_column(col)
    for m in result["medications"]:
        present = {s["source"]: s.get("dose_text") or "✓" for s in m["sources"]}
        why = "; ".join(
            f"{s['source']}: {s['clause']} ({s['date_source'] or 'no date'} {s['date'] or ''})"
            for s in m["sources"]
        )
        meds.add_row(
            m["name"],
            m["dose_text"] or "",
            *[present.get(s, "—") for s in result["sources"]],
            why,
        )
    console.print(meds)
    issues = Table(title="Discrepancies")
    for col in ("type", "severity", "medicine", "detail"):
        issues.add_column(col)
    for d in result["discrepancies"]:
        issues.add_row(d["type"], d["severity"], d["medication"]["name"], d["detail"])
    console.print(issues)
    out = Table(title="Not current at the index date")
    for col in ("source", "line", "date", "why"):
        out.add_column(col)
    for n in result["not_current"]:
        out.add_row(
            n["source"],
            n["name"],
            f"{n['date'] or '—'} ({n['date_source'] or 'no date'})",
            n["why"],
        )
    console.print(out)
    unused = Table(title="Not used")
    for col in ("source", "line", "resource", "reason"):
        unused.add_column(col)
    for n in result["not_used"]:
        unused.add_row(n["source"], n["name"] or "", n["resource"] or "", n["reason"])
    console.print(unused)


KINDS = ("gp", "pharmacy", "hospital", "specialist")


def _sources_of(files: list[Path], stated: list[str]) -> list[tuple[str | None, Path]]:
    """FILE arguments (kind from the content) and ``--source KIND=FILE`` options (kind stated)."""
    out: list[tuple[str | None, Path]] = [(None, f) for f in files]
    for option in stated:
        kind, sep, name = option.partition("=")
        if not sep or kind not in KINDS or not name:
            raise _fail(
                f"--source {option!r}: expected KIND=FILE with KIND one of {', '.join(KINDS)}"
            )
        out.append((kind, Path(name)))
    return out


@records_app.command("reconcile")
def reconcile_cmd(
    files: list[Path] = typer.Argument(
        None, help="one source per file: FHIR R4/STU3 (JSON/XML) or CSV; kind read from content"
    ),
    source: list[str] = typer.Option(
        [],
        "--source",
        help="KIND=FILE: a source whose kind you state (gp, pharmacy, hospital, "
        "specialist); repeatable",
    ),
    as_of: str = typer.Option(None, "--as-of", help="index date YYYY-MM-DD (default today)"),
    fmt: str = typer.Option("json", "--format", help="json | fhir | table"),
    nhs_number: str = typer.Option(None, "--nhs-number", help="when no file names the patient"),
) -> None:
    """Reconcile one patient's sources at an index date and print the list and discrepancies,
    with every line that is not in the list (not current, or not used) and why."""
    from ipmo.patients.identity import InvalidNhsNumber, normalise_nhs_number
    from ipmo.records.adapters import FhirInputError, load_source
    from ipmo.records.adapters.fhir import UNKNOWN_KIND
    from ipmo.records.normalise import normalise
    from ipmo.records.publish import as_json, publish_bundle
    from ipmo.records.reconcile import reconcile
    from ipmo.records.terminology import default_dictionary
    from ipmo.terminology import DictionaryMissing

    if fmt not in ("json", "fhir", "table"):
        raise _fail("--format must be json, fhir or table")
    try:
        index = date.fromisoformat(as_of) if as_of else date.today()
    except ValueError:
        raise _fail(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)") from None
    inputs = _sources_of(files or [], source)
    if not inputs:
        raise _fail("name at least one source: FILE or --source KIND=FILE")
    docs = []
    for kind, path in inputs:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise _fail(f"cannot read {path}: {exc.strerror}") from None
        options = {"source_kind": kind} if kind else {}
        try:
            doc = load_source(data, filename=path.name, **options)
        except FhirInputError as exc:
            raise _fail(f"{path.name}: {exc.diagnostics}") from None
        if doc.source_kind == UNKNOWN_KIND:
            raise _fail(
                f"{path.name}: cannot tell what kind of source this is ({doc.kind_reason}); "
                f"state it with --source KIND={path}"
            )
        docs.append(doc)
    numbers = {d.nhs_number for d in docs if d.nhs_number}
    if nhs_number:
        try:
            numbers.add(normalise_nhs_number(nhs_number))
        except InvalidNhsNumber as exc:
            raise _fail(f"--nhs-number: {exc}") from None
    if len(numbers) > 1:
        raise _fail("the files are about different patients (NHS numbers differ)")
    if not numbers:
        raise _fail("no file identifies the patient by NHS number; pass --nhs-number")
    patient = numbers.pop()
    try:
        dictionary = default_dictionary()
    except DictionaryMissing as exc:
        raise _fail(str(exc)) from None
    for doc in docs:
        normalise(doc.items, dictionary)
    result = reconcile(docs, index)
    if fmt == "fhir":
        typer.echo(json.dumps(publish_bundle(result, patient), indent=2))
    elif fmt == "json":
        typer.echo(json.dumps(as_json(result, patient, sources=docs), indent=2, default=str))
    else:
        _print_table(as_json(result, patient, sources=docs))


@records_app.command("conformance")
def conformance_cmd(
    folder: Path = typer.Argument(
        ..., help="a folder of messages (FHIR JSON/XML, CSV), read recursively"
    ),
    as_of: str = typer.Option(
        None, "--as-of", help="index date YYYY-MM-DD (default: each file's own latest line date)"
    ),
    fmt: str = typer.Option("table", "--format", help="json | table"),
) -> None:
    """Per file: lines read, current, not current (why), not used (why), or rejected (why)."""
    from ipmo.records.conformance import check_folder, counts_text
    from ipmo.records.terminology import default_dictionary
    from ipmo.terminology import DictionaryMissing

    if fmt not in ("json", "table"):
        raise _fail("--format must be json or table")
    if not folder.is_dir():
        raise _fail(f"{folder} is not a folder")
    try:
        index = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise _fail(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)") from None
    try:
        dictionary = default_dictionary()
    except DictionaryMissing as exc:
        raise _fail(str(exc)) from None
    rows = check_folder(folder, dictionary, index)
    if fmt == "json":
        typer.echo(json.dumps([r.to_json() for r in rows], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Conformance of {folder}")
    for col in (
        "file",
        "result",
        "read",
        "current",
        "not current (why)",
        "not used (why)",
        "detail",
    ):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r.file,
            r.result,
            str(r.read),
            str(r.folded),
            str(r.current),
            counts_text(r.not_current),
            counts_text(r.not_used),
            r.detail,
        )
    Console(width=220).print(table)
    loaded = [r for r in rows if r.result == "loads"]
    typer.echo(
        f"{len(rows)} files: {len(loaded)} load ({sum(r.read for r in loaded)} lines, "
        f"{sum(r.current for r in loaded)} current), {len(rows) - len(loaded)} rejected"
    )


def register(app: typer.Typer) -> None:
    app.command("dose-text")(dose_text)
    app.add_typer(records_app, name="records")
