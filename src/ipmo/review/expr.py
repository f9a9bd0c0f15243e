"""The rule language: a few primitive facts about a patient, combined with All / Any / Not.

Rules are data built from these frozen dataclasses. ``engine_python`` interprets them for one
patient (with evidence); ``engine_sql`` compiles each distinct primitive to one set-based DuckDB
query over the whole population. Windows are closed intervals ``[t − start, t − end]`` relative
to the index date ``t``; their boundary dates are computed once in Python (``Window.bounds``) and
passed to both engines, so calendar arithmetic cannot differ between them.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar, dataclass_transform

N = TypeVar("N")


@dataclass(frozen=True)
class Ago:
    """An offset back from the index date: ``Ago(3)`` months or ``Ago(28, "days")``."""

    n: int
    unit: str = "months"

    def before(self, t: date) -> date:
        if self.unit == "days":
            return t - timedelta(days=self.n)
        month0 = t.month - 1 - self.n
        year, month = t.year + month0 // 12, month0 % 12 + 1
        return date(year, month, min(t.day, calendar.monthrange(year, month)[1]))


NOW = Ago(0, "days")


@dataclass(frozen=True)
class Window:
    """``start`` None means "any time up to ``end``" (ever)."""

    start: Ago | None
    end: Ago = NOW

    def bounds(self, t: date) -> tuple[date | None, date]:
        return (self.start.before(t) if self.start else None, self.end.before(t))

    def describe(self) -> str:
        if self.start is None:
            return "ever" if self.end == NOW else f"on or before {self.end.n} {self.end.unit} ago"
        s = f"{self.start.n} {self.start.unit}"
        return (
            f"in the last {s}"
            if self.end == NOW
            else f"between {s} and {self.end.n} {self.end.unit} ago"
        )


def last(n: int, unit: str = "months") -> Window:
    return Window(Ago(n, unit))


EVER = Window(None)


@dataclass_transform(frozen_default=True)
def node(cls: type[N]) -> type[N]:
    """A frozen dataclass whose hash is computed once. Both engines key memos and primitive
    tables by expression, and a composite rule (e.g. PINCER-COMPOSITE-ALL) nests 14 rules:
    re-hashing its tree on every lookup cost more than evaluating it."""
    cls = dataclass(frozen=True)(cls)
    field_hash = cls.__hash__

    def __hash__(self: object) -> int:
        try:
            return self.__dict__["_hash"]
        except KeyError:
            h = field_hash(self)
            object.__setattr__(self, "_hash", h)
            return h

    def __getstate__(self: object) -> dict:
        # str hashes differ between processes: a pickled node recomputes its hash
        return {k: v for k, v in self.__dict__.items() if k != "_hash"}

    cls.__hash__ = __hash__  # type: ignore[method-assign]
    cls.__getstate__ = __getstate__  # type: ignore[method-assign]
    return cls


class Expr:
    """Base of every node; ``&``, ``|`` and ``~`` build All / Any / Not."""

    def __and__(self, other: Expr) -> Expr:
        return All((self, other))

    def __or__(self, other: Expr) -> Expr:
        return Any((self, other))

    def __invert__(self) -> Expr:
        return Not(self)


@node
class All(Expr):
    parts: tuple[Expr, ...]


@node
class Any(Expr):
    parts: tuple[Expr, ...]


@node
class Not(Expr):
    part: Expr


@node
class Const(Expr):
    value: bool


# ---- medicines ------------------------------------------------------------------------------
@node
class Issued(Expr):
    """At least ``min_count`` issues of a drug class in the window (regular_only skips PRN)."""

    cls: str
    window: Window
    min_count: int = 1
    regular_only: bool = False


@node
class IssueSpan(Expr):
    """First and last issue of the class in the window are at least ``min_days`` apart."""

    cls: str
    window: Window
    min_days: int


@node
class DistinctSubstances(Expr):
    """At least ``n`` different substances of one class in the window (duplicate therapy)."""

    cls: str
    window: Window
    n: int
    regular_only: bool = False


@node
class CoIssued(Expr):
    """An issue of ``a`` and an issue of ``b`` less than ``gap_days`` apart, both in the window
    (RULES.md §1.4 recommendation for PINCER E and F)."""

    a: str
    b: str
    window: Window
    gap_days: int


@node
class MedicineCount(Expr):
    """At least ``n`` unique medicines (polypharmacy definition, see ``products.py``)."""

    window: Window
    n: int


@node
class AcbTotal(Expr):
    """Sum of Boustani ACB scores over distinct active ingredients is at least ``threshold``."""

    window: Window
    threshold: int


@node
class AcbCount(Expr):
    """At least ``n`` distinct ingredients scoring ``min_score`` or more."""

    window: Window
    min_score: int
    n: int


# ---- clinical events, tests, demographics ---------------------------------------------------
@node
class HasEvent(Expr):
    """A code from ``codeset`` dated in the window (conditions and observations; undated
    conditions count as long-standing). ``unresolved`` drops conditions resolved by ``t``."""

    codeset: str
    window: Window = EVER
    unresolved: bool = False
    min_count: int = 1


@node
class LatestNotResolved(Expr):
    """Latest ``present`` code (≤ t − present_end) exists and no ``resolved`` code (≤ t) is on or
    after it — PINCER G's intended logic (RULES.md §1.5.2)."""

    present: str
    resolved: str
    present_end: Ago


@node
class TestDone(Expr):
    """Any observation of the test set in the window (with or without a usable value)."""

    testset: str
    window: Window


@node
class LabLatest(Expr):
    """The latest numeric result of the set in the window satisfies ``op threshold``.

    Ties on the latest date: the rule holds if any result of that date satisfies it. Comparators:
    ``~`` results are not usable; results bounded the other way (``>90`` for a "below" test,
    ``<1`` for an "above" test) do not satisfy; ``min_valid`` rejects placeholder values
    (PINCER K: eGFR ≥1 and not "<1")."""

    testset: str
    window: Window
    op: str  # "<", "<=", ">", ">="
    threshold: float
    min_valid: float | None = None


@node
class AgeBetween(Expr):
    lo: int
    hi: int = 120


@node
class SexIs(Expr):
    sex: str


@node
class CareHome(Expr):
    """Care-home resident: registered at a care home (store) or a CAREHOME_COD code."""


@node
class Admitted(Expr):
    window: Window
    falls_only: bool = False


@node
class DoacDoseMismatch(Expr):
    """The latest DOAC strength disagrees with the SmPC dose for AF given age, weight and
    Cockcroft–Gault creatinine clearance (``doac.py``); needs all three inputs."""

    window: Window
    lab_window: Window


def primitives(e: Expr) -> list[Expr]:
    """Every leaf of an expression, in order (duplicates kept)."""
    if isinstance(e, All | Any):
        return [p for part in e.parts for p in primitives(part)]
    if isinstance(e, Not):
        return primitives(e.part)
    return [e]
