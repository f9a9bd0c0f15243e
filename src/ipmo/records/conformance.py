"""``ipmo records conformance DIR``: what the One Medication Record makes of every file in a
folder of real messages (issue 13 item 9).

Per file: lines read, how many are current, not current (by the clause that decided it), not
used (by reason), or why the whole file was rejected. Each file is reconciled on its own at
``as_of`` when given, else at its own latest line date (the list as it stood when it was sent),
so the figures do not depend on the day they are computed. The spec test
``tests/records/test_spec_shared_examples.py`` runs it over every example in ``shared/fhir`` and
compares with the figures committed in this package's README, so a regression on real messages
is a red test.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ipmo.records.adapters import FhirInputError, load_source
from ipmo.records.normalise import DictionaryLike, normalise
from ipmo.records.reconcile import reconcile

SUFFIXES = (".json", ".xml", ".csv")


@dataclass
class FileConformance:
    file: str
    result: str  # loads | rejected
    detail: str = ""  # FHIR version and source kind, or why it was rejected
    read: int = 0  # medication resources (or CSV rows) in the file
    folded: int = 0  # resources that joined another's line (issues, repeat instances, parts)
    current: int = 0
    not_current: Counter[str] = field(default_factory=Counter)  # clause → lines
    not_used: Counter[str] = field(default_factory=Counter)  # reason → lines

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "result": self.result,
            "detail": self.detail,
            "lines_read": self.read,
            "folded_into_a_line": self.folded,
            "current": self.current,
            "not_current": dict(sorted(self.not_current.items())),
            "not_used": dict(sorted(self.not_used.items())),
        }


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)


def check_file(
    path: Path, root: Path, dictionary: DictionaryLike, as_of: date | None = None
) -> FileConformance:
    rel = path.relative_to(root).as_posix()
    try:
        doc = load_source(path.read_bytes(), filename=path.name)
    except FhirInputError as exc:
        return FileConformance(rel, "rejected", f"{exc.code}: {exc.diagnostics}")
    normalise(doc.items, dictionary)
    dates = [d for i in doc.items for d in (i.authored_on, i.last_issued) if d is not None]
    index = as_of or (max(dates) if dates else doc.as_of) or date(1970, 1, 1)
    result = reconcile([doc], index)
    version = f"FHIR {doc.fhir_version}" if doc.fhir_version else "CSV"
    row = FileConformance(
        rel,
        "loads",
        f"{version}, {doc.source_kind} ({doc.kind_reason}), at {index.isoformat()}",
        read=doc.resources_read or len(doc.items) + len(doc.not_used),
    )
    row.folded = row.read - len(doc.items) - len(doc.not_used)
    row.current = sum(len(v) for line in result.lines for v in line.by_source.values())
    row.not_current.update(item.clause or "?" for _, item in result.not_current)
    row.not_used.update(n.reason for _, n in result.not_used)
    return row


def check_folder(
    folder: Path, dictionary: DictionaryLike, as_of: date | None = None
) -> list[FileConformance]:
    return [check_file(p, folder, dictionary, as_of) for p in files_in(folder)]


def counts_text(counts: Counter[str]) -> str:
    return ", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "0"
