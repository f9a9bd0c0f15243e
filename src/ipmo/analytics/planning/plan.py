"""From a measure definition to a plan the engine can run: per-code weights on one column per side.

Every runnable measure becomes the same shape — "numerator = Σ weight(code) × column over the
practice's prescribing" (or the list size / 1,000) — so one join of the prescribing table with a
small weights table computes all measures at once on any engine (see ``engine.py``). Code lists
and custom sides that read dm+d are resolved by running the definitions' own SQL over dm+d tables
rebuilt from the terminology starter dictionary (``dmd_sql.py``, ``dmd_views.py``); where that
dictionary cannot place some codes in a measure's scope the plan carries a coverage ``note``.
Definitions that need data we do not hold (raw per-item quantities, some OpenPrescribing views,
dm+d fields the dictionary lacks) are reported as skipped with a reason rather than approximated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from ipmo.analytics.measures.definitions import MeasureDefinition, Side
from ipmo.analytics.planning import plan_cache
from ipmo.analytics.planning.codesets import matcher, parse_filter
from ipmo.analytics.planning.custom_sql import (
    UnsupportedSql,
    compile_custom_side,
    month_breakpoints,
)
from ipmo.analytics.planning.dmd_sql import DmdDatabase

# OpenPrescribing's column for each side type (import_measures.py: bnf_items → SUM(items),
# bnf_quantity → SUM(quantity), bnf_cost → SUM(actual_cost), list_size → SUM(total_list_size /
# 1000.0), i.e. "per 1,000 patients").
COLUMN_OF_TYPE = {"bnf_items": "items", "bnf_quantity": "quantity", "bnf_cost": "actual_cost"}
VALUE_COLUMNS = ("items", "quantity", "actual_cost")
LIST_SIZE_SCALE = 1 / 1000
# A month-keyed weight applies from ``start`` (inclusive) to ``end`` (exclusive); None = open.
Window = tuple[date | None, date | None, float]


@dataclass(frozen=True)
class SidePlan:
    """``source`` is "prescribing" (weights by code on ``column``) or "list_size".

    ``weights`` hold for every month; ``windows`` give the weights of codes whose membership
    changes with the month (nhse_bgts: a code list per NHS England guidance version).
    """

    source: str
    column: str
    weights: Mapping[str, float]
    scale: float = 1.0
    note: str = ""  # coverage of a dm+d-resolved side ("" when complete)
    windows: Mapping[str, tuple[Window, ...]] = field(default_factory=dict)
    # source "per_item": code → (low, high, weight) bands of quantity per item (per_item.py)
    bands: Mapping[str, tuple[tuple[float, float, float], ...]] = field(default_factory=dict)
    # source "list_size" on age bands: list-size column → factor, and (column, n): only
    # practices with column > n (practice_statistics sides, list_sizes.list_size_side)
    list_columns: Mapping[str, float] = field(default_factory=dict)
    list_gate: tuple = ()

    def codes(self) -> set[str]:
        return set(self.weights) | set(self.windows)

    def weight_in(self, code: str, start: date | None) -> float | None:
        """The weight of ``code`` in the period starting ``start`` (None: not on this side)."""
        if code in self.weights:
            return self.weights[code]
        for lo, hi, weight in self.windows.get(code, ()):
            if (lo is None or (start is not None and start >= lo)) and (
                hi is None or start is None or start < hi
            ):
                return weight
        return None


@dataclass(frozen=True)
class MeasurePlan:
    definition: MeasureDefinition
    numerator: SidePlan
    denominator: SidePlan

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def has_cost_savings(self) -> bool:
        return self.definition.is_cost_based

    def rows(self) -> Iterator[tuple[str, date | None, date | None, float | None, float | None]]:
        """(code, from, until, numerator weight, denominator weight) per code and period; a
        weight is None when the code is not on that side then. Periods are open (None, None)
        unless a side has month-keyed windows for the code."""
        num, den = self.numerator, self.denominator
        for code in sorted(num.codes() | den.codes()):
            cuts = sorted({d for side in (num, den) for w in side.windows.get(code, ())
                           for d in w[:2] if d is not None})  # fmt: skip
            bounds = [None, *cuts, None]
            for lo, hi in zip(bounds, bounds[1:], strict=False):
                yield code, lo, hi, num.weight_in(code, lo), den.weight_in(code, lo)

    @property
    def note(self) -> str:
        """Coverage of the dm+d-resolved sides ("" when every code in scope was placed)."""
        notes = [
            f"{label}: {side.note}"
            for label, side in (("numerator", self.numerator), ("denominator", self.denominator))
            if side.note
        ]
        return "; ".join(notes)


class Unsupported(Exception):
    """This definition cannot run on the data we hold; the message says why."""


class _Dmd:
    """The dm+d database, built on first use (most runs need it once, some not at all)."""

    def __init__(self, presentations: Mapping[str, str]):
        self.presentations = presentations
        self._db: DmdDatabase | None = None

    @property
    def db(self) -> DmdDatabase:
        if self._db is None:
            self._db = DmdDatabase(self.presentations)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


def _reads_per_item(side: Side) -> bool:
    return "raw_prescribing_normalised" in (side.from_ or "")


def _needs_dmd(side: Side) -> bool:
    """A custom side that reads more than the prescribing table (dm+d joins, subqueries)."""
    text = f"{side.from_ or ''}\n{side.where or ''}"
    return bool(re.search(r"\bJOIN\b|\bSELECT\b", text, re.I))


def _coverage(db: DmdDatabase, scope: set[str], sql: str) -> str:
    """Empty when the dictionary places every code in scope, else what it could not place."""
    parts = []
    unplaced = db.unplaced(scope, sql)
    if unplaced:
        shown = ", ".join(unplaced[:3]) + (", …" if len(unplaced) > 3 else "")
        parts.append(
            f"{len(unplaced)} of {len(scope)} codes in scope not placed by the starter dictionary "
            f"(left out: {shown})"
        )
    missing = db.missing_ids(sql)
    if missing:
        parts.append(f"ids not in the starter dictionary: {', '.join(missing)}")
    return "dm+d coverage partial: " + "; ".join(parts) if parts else ""


def _reads_dmd(sql: str) -> bool:
    """Whether SQL reads dm+d (not only the BNF presentation table, as lpbathshoweremollients)."""
    return bool(re.search(r"\{dmd\}|\bdmd\.|vw__dmd|vw_aware|\bvpi\b|\bvmp\b", sql, re.I))


def _chemicals(codes: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({c[:9] for c in codes}))


def _bnf_side(side: Side, presentations: Mapping[str, str], dmd: _Dmd) -> SidePlan:
    column = COLUMN_OF_TYPE[side.type]
    predicate = matcher(parse_filter(side.codes_filter)) if side.codes_filter else None
    if not side.codes_query:
        every = {code: 1.0 for code in presentations if predicate is None or predicate(code)}
        return SidePlan("prescribing", column, every)
    # import_measures.get_bnf_codes: the query's codes, filtered, among the codes in the data
    try:
        found = dmd.db.codes(side.codes_query)
    except UnsupportedSql as exc:
        raise Unsupported(str(exc)) from exc
    candidates = {c for c in found if predicate is None or predicate(c)}
    if not candidates:
        raise Unsupported(
            "the starter dictionary has no dm+d product matching its BNF code query "
            "(needs a full dm+d release)"
        )
    codes = sorted(candidates & set(presentations))
    if predicate is not None:
        scope = {c for c in presentations if predicate(c)}
    else:
        chemicals = _chemicals(candidates)
        scope = {c for c in presentations if c.startswith(chemicals)}
    note = _coverage(dmd.db, scope, side.codes_query) if _reads_dmd(side.codes_query) else ""
    return SidePlan("prescribing", column, dict.fromkeys(codes, 1.0), note=note)


def _dmd_custom_side(side: Side, presentations: Mapping[str, str], dmd: _Dmd) -> SidePlan:
    try:
        result = dmd.db.custom_weights(side)
    except UnsupportedSql as exc:
        raise Unsupported(str(exc)) from exc
    if not result.weights:
        raise Unsupported(
            "the starter dictionary has no dm+d product matching its custom SQL "
            "(needs a full dm+d release)"
        )
    weights = {c: w for c, w in result.weights.items() if c in presentations}
    chemicals = _chemicals(result.weights)
    scope = {c for c in presentations if c.startswith(chemicals)}
    note = _coverage(dmd.db, scope, f"{side.from_}\n{side.where}")
    return SidePlan("prescribing", result.column, weights, note=note)


def _month_keyed_side(
    side: Side, presentations: Mapping[str, str], breakpoints: list[date]
) -> SidePlan:
    """Evaluate a month-dependent side once per period between the dates it names."""
    bounds: list[date | None] = [None, *breakpoints, None]
    periods = list(zip(bounds, bounds[1:], strict=False))
    results = []
    for lo, hi in periods:
        # any month of the period (one period without bounds: any month at all)
        month = lo if lo is not None else hi - timedelta(days=1) if hi is not None else None
        try:
            results.append(compile_custom_side(side, presentations, month))
        except UnsupportedSql as exc:
            raise Unsupported(str(exc)) from exc
    if len({(column, scale) for column, _, scale in results}) != 1:
        raise Unsupported("its custom SQL changes value column with the month")
    column, _, scale = results[0]
    weights: dict[str, float] = {}
    windows: dict[str, tuple[Window, ...]] = {}
    for code in sorted({c for _, w, _ in results for c in w}):
        per = [w.get(code) for _, w, _ in results]
        first = per[0]
        if len(set(per)) == 1 and first is not None:
            weights[code] = first
            continue
        merged: list[list] = []
        for (lo, hi), weight in zip(periods, per, strict=True):
            if merged and merged[-1][2] == weight and merged[-1][1] == lo:
                merged[-1][1] = hi
            else:
                merged.append([lo, hi, weight])
        windows[code] = tuple((lo, hi, w) for lo, hi, w in merged if w is not None)
    return SidePlan("prescribing", column, weights, scale, windows=windows)


def _per_item_side(side: Side, presentations: Mapping[str, str], dmd: _Dmd) -> SidePlan:
    """A side on raw_prescribing_normalised: weights by code and quantity-per-item band."""
    from ipmo.analytics.planning import per_item

    try:
        column, bands = per_item.per_item_weights(dmd.db, side)
    except UnsupportedSql as exc:
        raise Unsupported(str(exc)) from exc
    if not bands:
        raise Unsupported("no presentation matches its per-item SQL")
    text = f"{side.from_}\n{side.where}"
    note = ""
    if _reads_dmd(text):
        scope = {c for c in presentations if c.startswith(_chemicals(bands))}
        note = _coverage(dmd.db, scope, text)
    kept = per_item.restricted(bands, presentations)
    return SidePlan("per_item", column, {}, note=note, bands=kept)


def plan_side(side: Side, presentations: Mapping[str, str], dmd: _Dmd | None = None) -> SidePlan:
    dmd = dmd or _Dmd(presentations)
    if side.type == "custom" and _reads_per_item(side):
        return _per_item_side(side, presentations, dmd)
    if side.type == "custom" and "practice_statistics" in (side.from_ or ""):
        from ipmo.analytics.ingest.list_sizes import list_size_side

        try:
            factors, gate = list_size_side(side.columns or "", side.where)
        except ValueError as exc:
            raise Unsupported(str(exc)) from exc
        return SidePlan("list_size", "age_bands", {}, list_columns=factors, list_gate=gate)
    if side.type in COLUMN_OF_TYPE:
        return _bnf_side(side, presentations, dmd)
    if side.type == "list_size":
        return SidePlan("list_size", "total_list_size", {}, LIST_SIZE_SCALE)
    if _needs_dmd(side):
        return _dmd_custom_side(side, presentations, dmd)
    breakpoints = month_breakpoints(side)
    if breakpoints:
        return _month_keyed_side(side, presentations, breakpoints)
    try:
        column, weights, scale = compile_custom_side(side, presentations)
    except UnsupportedSql as exc:
        raise Unsupported(str(exc)) from exc
    if column == "total_list_size":
        return SidePlan("list_size", column, {}, scale)
    return SidePlan("prescribing", column, weights, scale)


def plan_measures(
    definitions: Iterable[MeasureDefinition], presentations: Mapping[str, str]
) -> tuple[list[MeasurePlan], dict[str, str]]:
    """Plans for the runnable definitions, and the reason for each one skipped.

    ``presentations`` maps every BNF code in the data to its name (custom SQL may filter on names).
    The sides are cached on disk keyed by the definitions, presentations and shipped code and data
    (``plan_cache.py``), so a fresh process with the same inputs skips planning.
    """
    definitions = list(definitions)
    cache_key = plan_cache.key("plan", repr(definitions), repr(sorted(presentations.items())))
    sides, skipped = plan_cache.cached(cache_key, lambda: _plan_sides(definitions, presentations))
    plans = [MeasurePlan(d, *pair) for d, pair in zip(definitions, sides, strict=True) if pair]
    return plans, dict(skipped)


def _plan_sides(
    definitions: list[MeasureDefinition], presentations: Mapping[str, str]
) -> tuple[list[tuple[SidePlan, SidePlan] | None], dict[str, str]]:
    """(numerator, denominator) per definition, in order (None: skipped), and the reasons."""
    plans, skipped = _plan_uncached(definitions, presentations)
    by_definition = {id(p.definition): (p.numerator, p.denominator) for p in plans}
    return [by_definition.get(id(d)) for d in definitions], skipped


def _plan_uncached(
    definitions: Iterable[MeasureDefinition], presentations: Mapping[str, str]
) -> tuple[list[MeasurePlan], dict[str, str]]:
    plans: list[MeasurePlan] = []
    skipped: dict[str, str] = {}
    dmd = _Dmd(presentations)
    try:
        for definition in definitions:
            try:
                numerator = plan_side(definition.numerator, presentations, dmd)
                denominator = plan_side(definition.denominator, presentations, dmd)
            except Unsupported as exc:
                skipped[definition.id] = str(exc)
                continue
            plans.append(MeasurePlan(definition, numerator, denominator))
    finally:
        dmd.close()
    return plans, skipped
