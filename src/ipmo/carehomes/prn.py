"""Is a resident's medicine "when required" (PRN)? The prescription says so first: the One
Medication Record's dosage ``asNeeded`` (``records.current_medications``); the eMAR's PRN flag
only when the record gives no structured dosage for it. Where both speak and disagree, the
page flags it: a PRN medicine given as if regular (or a regular one offered as PRN) is an
administration error waiting to happen (NICE SC1 1.8: the care plan and the MAR state how and
when a when-required medicine is given; 1.12: the MAR matches the prescription).

The eMAR findings (``findings.py`` / ``findings_sql.py``, the two engines) still read the eMAR's
flag on each dose: what the home did, which is what they report on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


class DosedLine(Protocol):
    """A line of the record's current list, as far as PRN goes."""

    @property
    def codes(self) -> tuple[str, ...]: ...
    @property
    def as_needed(self) -> bool | None: ...


@dataclass(frozen=True)
class PrnStatus:
    medicine_code: str
    medicine_name: str
    prescription: bool | None  # the record's asNeeded; None: no structured dosage on record
    emar: bool  # the eMAR marked doses of it PRN
    prn: bool  # the one to act on: the prescription's, else the eMAR's

    @property
    def disagree(self) -> bool:
        return self.prescription is not None and self.prescription != self.emar


def prn_status(
    emar: Mapping[str, tuple[str, bool]], record: Sequence[DosedLine] | None
) -> list[PrnStatus]:
    """For each medicine on the eMAR (code → (name, marked PRN)), whether it is PRN: the
    record's line sharing its code decides when it has a structured dosage; by name."""
    out = []
    for code, (name, marked) in emar.items():
        line = next((r for r in record or () if code in r.codes), None)
        said = line.as_needed if line is not None else None
        out.append(PrnStatus(code, name, said, marked, marked if said is None else said))
    return sorted(out, key=lambda s: s.medicine_name.lower())
