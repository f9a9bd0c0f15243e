"""From a measure definition to a plan the engine can run: per-code weights on one column per side.

Every runnable measure becomes the same shape — "numerator = Σ weight(code) × column over the
practice's prescribing" (or the list size / 1,000) — so one join of the prescribing table with a
small weights table computes all measures at once on any engine (see ``engine.py``). Definitions
that need data we do not hold (dm+d views, raw per-item quantities) are reported as skipped with a
reason rather than approximated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ipmo.analytics.codesets import matcher, parse_filter
from ipmo.analytics.custom_sql import UnsupportedSql, compile_custom_side
from ipmo.analytics.definitions import MeasureDefinition, Side

# OpenPrescribing's column for each side type (import_measures.py: bnf_items → SUM(items),
# bnf_quantity → SUM(quantity), bnf_cost → SUM(actual_cost), list_size → SUM(total_list_size /
# 1000.0), i.e. "per 1,000 patients").
COLUMN_OF_TYPE = {"bnf_items": "items", "bnf_quantity": "quantity", "bnf_cost": "actual_cost"}
VALUE_COLUMNS = ("items", "quantity", "actual_cost")
LIST_SIZE_SCALE = 1 / 1000


@dataclass(frozen=True)
class SidePlan:
    """``source`` is "prescribing" (weights by code on ``column``) or "list_size"."""

    source: str
    column: str
    weights: Mapping[str, float]
    scale: float = 1.0


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


class Unsupported(Exception):
    """This definition cannot run on the data we hold; the message says why."""


def _bnf_side(side: Side, presentations: Mapping[str, str]) -> SidePlan:
    if side.codes_query:
        raise Unsupported("its BNF code list comes from a dm+d query (bnf_codes_query)")
    predicate = matcher(parse_filter(side.codes_filter))
    codes = {code: 1.0 for code in presentations if predicate(code)}
    return SidePlan("prescribing", COLUMN_OF_TYPE[side.type], codes)


def plan_side(side: Side, presentations: Mapping[str, str]) -> SidePlan:
    if side.type in COLUMN_OF_TYPE:
        return _bnf_side(side, presentations)
    if side.type == "list_size":
        return SidePlan("list_size", "total_list_size", {}, LIST_SIZE_SCALE)
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
    """
    plans: list[MeasurePlan] = []
    skipped: dict[str, str] = {}
    for definition in definitions:
        try:
            numerator = plan_side(definition.numerator, presentations)
            denominator = plan_side(definition.denominator, presentations)
        except Unsupported as exc:
            skipped[definition.id] = str(exc)
            continue
        plans.append(MeasurePlan(definition, numerator, denominator))
    return plans, skipped
