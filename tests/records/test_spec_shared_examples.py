"""Every shared FHIR example either loads or is rejected with an OperationOutcome saying why
(issue 4, "Ingest"). The outcome of each file is recorded in src/ipmo/records/README.md between
the ``examples`` markers; this test recomputes them and fails if the table and the code disagree.

Regenerate the table after a deliberate change with:
``uv run python tests/records/test_spec_shared_examples.py``
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from ipmo.records.adapters import FhirInputError, load_source

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "src/ipmo/records/README.md"
FOLDERS = ("ukcore_examples", "gpconnect_examples", "digital_medicines_ig_examples")
START, END = "<!-- examples:start -->", "<!-- examples:end -->"


def example_files(shared: Path) -> list[Path]:
    files = []
    for folder in FOLDERS:
        files += [
            p
            for p in sorted((shared / "fhir" / folder).rglob("*"))
            if p.is_file() and p.name != "SOURCE.md"
        ]
    return files


def outcome(path: Path) -> tuple[str, str]:
    try:
        doc = load_source(path.read_bytes(), filename=path.name)
    except FhirInputError as exc:
        oo = exc.outcome()
        assert oo["resourceType"] == "OperationOutcome"
        issue = oo["issue"][0]
        assert issue["severity"] == "error" and issue["code"] and issue["diagnostics"]
        return "rejected", f"{issue['code']}: {issue['diagnostics']}"
    who = (
        "NHS number"
        if doc.nhs_number
        else ("patient reference only" if doc.patient_ref else "no patient")
    )
    return "loads", f"FHIR {doc.fhir_version}, {len(doc.items)} line(s), {who}"


def render_table(shared: Path) -> str:
    rows = ["| file | result | detail |", "|---|---|---|"]
    for path in example_files(shared):
        result, detail = outcome(path)
        rel = path.relative_to(shared / "fhir").as_posix()
        rows.append(f"| `{rel}` | {result} | {detail.replace('|', '/')} |")
    return "\n".join(rows)


def recorded_table() -> str:
    text = README.read_text()
    return text[text.index(START) + len(START) : text.index(END)].strip()


def test_spec_every_shared_example_loads_or_is_rejected_with_reason(shared_dir):
    files = example_files(shared_dir)
    assert len(files) > 150
    assert render_table(shared_dir) == recorded_table()


def test_spec_gp_connect_stu3_and_uk_core_r4_both_load(shared_dir):
    table = recorded_table()
    loaded = re.findall(r"\| loads \| FHIR (R4|STU3)", table)
    assert "STU3" in loaded and "R4" in loaded


if __name__ == "__main__":  # regenerate the README table
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared"
    text = README.read_text()
    new = (
        text[: text.index(START) + len(START)]
        + "\n"
        + render_table(shared)
        + "\n"
        + text[text.index(END) :]
    )
    README.write_text(new)
    print("updated", README)
