"""Header-driven reader for OpenSAFELY-style codelist CSVs.

The column layouts met in the public codelists are listed in ../shared/terminology/README.md
("Column layouts met"). The rule given there: code is the first of ``dmd_id, dmd, code, id,
snomed_id, snomedid``; term the first of ``dmd_name, term, nm, name, dmd_description``; type is
``dmd_type``, then ``obj_type``, then ``type`` only when every value is a dm+d level; BNF is
``bnf_code`` or ``BNF``. A blank first header (a pandas index) is ignored. Codes are always read
as text: parsing them as numbers is how some of these files were damaged.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

CODE_COLUMNS = ("dmd_id", "dmd", "code", "id", "snomed_id", "snomedid")
TERM_COLUMNS = ("dmd_name", "term", "nm", "name", "dmd_description")
LEVELS = ("VTM", "VMP", "AMP", "VMPP", "AMPP")
_SUFFIX = re.compile(r"\s*\((VTM|VMP|AMP|VMPP|AMPP)\)\s*$")


class CodelistError(ValueError):
    """A codelist cannot be read; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class CodelistRow:
    code: str
    term: str
    level: str  # one of LEVELS, or "" when the file does not say
    bnf_code: str
    vpid: str  # parent VMP of an AMP (ebmdatalab exports), else ""
    line: int
    bnf_name: str = ""  # BNF presentation name (ebmdatalab exports)
    form_route: str = ""  # "tablet.oral" (ebmdatalab exports)


def _pick(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def read_codelist(path: Path) -> list[CodelistRow]:
    """Every row of one codelist file. Raises :class:`CodelistError` on an unreadable layout."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CodelistError(f"{path}:1: cannot read codelist ({exc})") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise CodelistError(f"{path}:1: empty codelist (no header row)")
    code_i = _pick(header, CODE_COLUMNS)
    if code_i is None:
        raise CodelistError(
            f"{path}:1: unknown columns {header!r}: no code column "
            f"(one of {', '.join(CODE_COLUMNS)})"
        )
    term_i = _pick(header, TERM_COLUMNS)
    bnf_i = _pick(header, ("bnf_code", "bnf"))
    vpid_i = _pick(header, ("vpid",))
    bnf_name_i = _pick(header, ("bnf_name",))
    form_route_i = _pick(header, ("form_route",))
    rows = [r for r in reader]
    type_i = _pick(header, ("dmd_type", "obj_type"))
    if type_i is None:
        plain = _pick(header, ("type",))
        if (
            plain is not None
            and rows
            and all(len(r) > plain and r[plain].strip().upper() in LEVELS for r in rows)
        ):
            type_i = plain
    out: list[CodelistRow] = []
    for n, r in enumerate(rows, start=2):
        if not r or all(not c.strip() for c in r):
            continue
        if len(r) <= code_i:
            raise CodelistError(f"{path}:{n}: row has {len(r)} fields, expected {len(header)}")

        def cell(i: int | None, r: list[str] = r) -> str:
            return r[i].strip() if i is not None and i < len(r) else ""

        term = cell(term_i)
        level = cell(type_i).upper()
        if m := _SUFFIX.search(term):
            level = level or m.group(1)
            term = term[: m.start()]
        out.append(
            CodelistRow(
                code=cell(code_i),
                term=term,
                level=level if level in LEVELS else "",
                bnf_code=cell(bnf_i),
                vpid=cell(vpid_i),
                line=n,
                bnf_name=cell(bnf_name_i),
                form_route=cell(form_route_i),
            )
        )
    return out
