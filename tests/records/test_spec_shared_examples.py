"""``ipmo records conformance`` over every FHIR example in ``shared/fhir`` (issue 13 item 9):
each file loads, with its lines read, current, not current (the clause) and not used (the
reason), or is rejected with an OperationOutcome saying why. The figures are committed in
src/ipmo/records/README.md between the ``examples`` markers; this test recomputes them and fails
when the code and the committed figures disagree, so a regression on real messages is red.

Regenerate the table after a deliberate change with:
``uv run python tests/records/test_spec_shared_examples.py``
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from ipmo.records.adapters import FhirInputError, load_source
from ipmo.records.conformance import check_file, counts_text, files_in
from ipmo.records.terminology import default_dictionary

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "src/ipmo/records/README.md"
START, END = "<!-- examples:start -->", "<!-- examples:end -->"


def render_table(shared: Path) -> str:
    folder = shared / "fhir"
    dictionary = default_dictionary()
    rows = [
        "| file | result | read | folded | current | not current (why) | not used (why) | detail |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for path in files_in(folder):
        r = check_file(path, folder, dictionary)
        cells = [
            f"`{r.file}`",
            r.result,
            str(r.read),
            str(r.folded),
            str(r.current),
            counts_text(r.not_current),
            counts_text(r.not_used),
            r.detail,
        ]
        rows.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(rows)


def recorded_table() -> str:
    text = README.read_text()
    return text[text.index(START) + len(START) : text.index(END)].strip()


def test_spec_conformance_over_every_shared_fhir_example(shared_dir):
    folders = {p.relative_to(shared_dir / "fhir").parts[0] for p in files_in(shared_dir / "fhir")}
    assert {"eps", "gpconnect_update_record", "ukcore_examples", "gpconnect_examples"} <= folders
    assert (shared_dir / "fhir/ukcore_examples/medication_administration").is_dir()
    assert render_table(shared_dir) == recorded_table()


def test_spec_rejections_carry_an_operation_outcome(shared_dir):
    seen = 0
    for path in files_in(shared_dir / "fhir/ukcore_examples"):
        try:
            load_source(path.read_bytes(), filename=path.name)
        except FhirInputError as exc:
            issue = exc.outcome()["issue"][0]
            assert issue["severity"] == "error" and issue["code"] and issue["diagnostics"]
            seen += 1
    assert seen > 10


def test_spec_gp_connect_stu3_uk_core_r4_and_eps_all_load(shared_dir):
    table = recorded_table()
    loaded = re.findall(r"\| loads \| \d+ \| \d+ \| \d+ \| [^|]* \| [^|]* \| FHIR (R4|STU3)", table)
    assert "STU3" in loaded and "R4" in loaded
    assert re.search(r"`eps/messages/[^`]*Dispense[^`]*` \| loads \| 1 \| 0 \| 1 \|", table)


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
