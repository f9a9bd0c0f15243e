"""The in-memory facts about one patient that every rule reads (``PatientFacts``).

Both evaluators see the same shape: the per-patient one reads these dataclasses, the set-based
one reads tables with the same columns (see ``engine_sql``). Values are already normalised to
the canonical unit of their kind (``units.py``) so rules compare numbers directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

#: A clinical code without a date is assumed long-standing: it counts as recorded before any
#: look-back window starts (documented assumption; both evaluators use this same date).
UNDATED = date(1900, 1, 1)


@dataclass(frozen=True)
class Issue:
    """One prescription issue (dm+d product; BNF code and names when known)."""

    dmd_code: str
    name: str
    issue_date: date
    bnf_code: str | None = None
    vmp_code: str | None = None
    vtm_code: str | None = None
    dose_text: str | None = None
    issue_type: str = "repeat"


@dataclass(frozen=True)
class Event:
    """A coded clinical event: a condition (diagnosis, finding, register code)."""

    code: str
    term: str = ""
    onset_date: date | None = None
    resolved_date: date | None = None

    @property
    def when(self) -> date:
        return self.onset_date or UNDATED


@dataclass(frozen=True)
class Obs:
    """A measurement or test. ``value`` None means "done, no usable number"."""

    code: str
    kind: str
    effective_date: date
    value: float | None = None
    unit: str | None = None
    comparator: str | None = None


@dataclass(frozen=True)
class Stay:
    admitted_on: date
    is_fall: bool = False


@dataclass
class PatientFacts:
    patient_id: int
    birth_date: date
    sex: str  # female | male | other | unknown
    issues: list[Issue] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    observations: list[Obs] = field(default_factory=list)
    admissions: list[Stay] = field(default_factory=list)
    care_home: bool = False
    weight_kg: float | None = None

    def age(self, on: date) -> int:
        b = self.birth_date
        return on.year - b.year - ((on.month, on.day) < (b.month, b.day))
