"""Measure definitions in OpenPrescribing's JSON format, loaded unchanged and validated.

Why the peer's format: the 80 published definitions (bennettoxford/openprescribing,
``openprescribing/measures/definitions/*.json``, MIT) are reviewed clinical content; reading them as
they are means an update is a file copy, not a port. ``load_definition`` refuses a file that would
fail OpenPrescribing's own import (malformed JSON, unknown numerator/denominator type, custom SQL
naming a column the source table does not have — cf. the peer's
``frontend/tests/measure_definitions/bad/``) with a one-line error naming the file and line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import sqlglot
import sqlglot.expressions as sx

SIDE_TYPES = {"bnf_items", "bnf_quantity", "bnf_cost", "list_size", "custom"}
REQUIRED = ("name", "title", "description", "numerator_type", "denominator_type")
BOOLEAN_FLAGS = ("is_percentage", "is_cost_based")

# Columns of the peer's source tables that custom SQL may name (OpenPrescribing BigQuery schema,
# ``pipeline/.../normalised_prescribing`` and ``practice_statistics``); used to reject typos such as
# ``bnf_codex`` in ``bad/bad_sql.json`` before anything runs.
KNOWN_COLUMNS: dict[str, set[str]] = {
    "normalised_prescribing": {
        "sha", "pct", "practice", "bnf_code", "bnf_name", "items", "net_cost", "actual_cost",
        "quantity", "month", "total_quantity", "quantity_per_item", "regional_team", "stp", "pcn",
    },
    "raw_prescribing_normalised": {
        "sha", "pct", "practice", "bnf_code", "bnf_name", "items", "net_cost", "actual_cost",
        "quantity", "month", "total_quantity", "quantity_per_item",
    },
}  # fmt: skip


class MeasureDefinitionError(ValueError):
    """A measure definition that OpenPrescribing's importer would also refuse."""


@dataclass(frozen=True)
class Side:
    """One side (numerator or denominator) of a measure."""

    type: str
    codes_filter: tuple[str, ...] = ()
    codes_query: str | None = None
    columns: str | None = None
    from_: str | None = None
    where: str | None = None


@dataclass(frozen=True)
class MeasureDefinition:
    id: str
    name: str
    title: str
    description: str
    is_percentage: bool
    is_cost_based: bool
    low_is_good: bool | None
    numerator: Side
    denominator: Side
    tags: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _text(value: Any, sep: str = "") -> str:
    """The peer splits long text into lists of lines; join them back (SQL keeps line breaks,
    because its lines end in ``--`` comments)."""
    if isinstance(value, list):
        return sep.join(str(v) for v in value).strip()
    return "" if value is None else str(value).strip()


def _strings(value: Any, what: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise MeasureDefinitionError(f"{where}: {what} must be a list of strings")


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return 1


def _check_custom_sql(side: Side, label: str, where: str, source: str) -> None:
    """Parse ``SELECT columns FROM from WHERE where`` and check named columns (bad_sql.json)."""
    from_ = re.sub(r"\{\w+\}\.", "", side.from_ or "").strip()
    if from_.split()[0] not in KNOWN_COLUMNS or re.search(r"\bJOIN\b", from_, re.I):
        return  # joins and dm+d views: checked when ported (see README), not here
    sql = f"SELECT {side.columns} FROM {from_} WHERE {side.where or '1 = 1'}"
    sql = sql.replace("%%", "%")
    try:
        tree = sqlglot.parse_one(sql, read="bigquery")
    except sqlglot.errors.ParseError as exc:
        line = _line_of(source, f"{label}_columns")
        msg = str(exc).splitlines()[0]
        raise MeasureDefinitionError(
            f"{where}, line {line}: {label} SQL does not parse: {msg}"
        ) from exc
    tables = [t.name for t in tree.find_all(sx.Table)]
    if len(tables) != 1 or tables[0] not in KNOWN_COLUMNS:
        return  # joins and views: checked when ported (see README), not here
    known = KNOWN_COLUMNS[tables[0]]
    aliases = {a.alias for a in tree.find_all(sx.Alias)}
    for column in tree.find_all(sx.Column):
        if column.name not in known and column.name not in aliases:
            line = _line_of(source, column.name)
            raise MeasureDefinitionError(
                f"{where}, line {line}: {label} names unknown column {column.name!r} of {tables[0]}"
            )


def _side(data: dict[str, Any], label: str, where: str, source: str) -> Side:
    kind = data.get(f"{label}_type")
    if kind not in SIDE_TYPES:
        line = _line_of(source, f"{label}_type")
        raise MeasureDefinitionError(
            f"{where}, line {line}: {label}_type {kind!r} is not one of {sorted(SIDE_TYPES)}"
        )
    filter_key = f"{label}_bnf_codes_filter"
    side = Side(
        type=kind,
        codes_filter=_strings(data.get(filter_key), filter_key, where),
        codes_query=_text(data.get(f"{label}_bnf_codes_query"), "\n") or None,
        columns=_text(data.get(f"{label}_columns"), "\n") or None,
        from_=_text(data.get(f"{label}_from"), "\n") or None,
        where=_text(data.get(f"{label}_where"), "\n") or None,
    )  # fmt: skip
    if kind.startswith("bnf_") and not (side.codes_filter or side.codes_query):
        raise MeasureDefinitionError(
            f"{where}: {label} is {kind} but has neither {label}_bnf_codes_filter nor _query"
        )
    if kind == "custom":
        if not (side.columns and side.from_):
            raise MeasureDefinitionError(f"{where}: custom {label} needs _columns and _from")
        _check_custom_sql(side, label, where, source)
    return side


def parse_definition(measure_id: str, source: str, where: str) -> MeasureDefinition:
    """Validate one definition's JSON text; ``where`` names the file in errors."""
    try:
        data = json.loads(source)
    except json.JSONDecodeError as exc:
        raise MeasureDefinitionError(
            f"{where}, line {exc.lineno}: invalid JSON: {exc.msg}"
        ) from exc
    if not isinstance(data, dict):
        raise MeasureDefinitionError(f"{where}: a measure definition must be a JSON object")
    missing = [key for key in REQUIRED if data.get(key) is None]
    if missing:
        raise MeasureDefinitionError(f"{where}: missing {', '.join(missing)}")
    for flag in BOOLEAN_FLAGS:
        if not isinstance(data.get(flag), bool):
            raise MeasureDefinitionError(f"{where}: {flag} must be true or false")
    low = data.get("low_is_good")
    if low is not None and not isinstance(low, bool):
        raise MeasureDefinitionError(f"{where}: low_is_good must be true, false or null")
    return MeasureDefinition(
        id=measure_id,
        name=_text(data["name"]),
        title=_text(data["title"]),
        description=_text(data["description"]),
        is_percentage=data["is_percentage"],
        is_cost_based=data["is_cost_based"],
        low_is_good=low,
        numerator=_side(data, "numerator", where, source),
        denominator=_side(data, "denominator", where, source),
        tags=_strings(data.get("tags"), "tags", where),
        raw=data,
    )


def load_definition(path: Path) -> MeasureDefinition:
    return parse_definition(path.stem, path.read_text(encoding="utf-8"), str(path))


def load_definitions(folder: Path | None = None) -> dict[str, MeasureDefinition]:
    """All definitions in ``folder`` (default: the shipped OpenPrescribing set), by id."""
    if folder is None:
        folder = Path(str(resources.files("ipmo.analytics") / "data" / "measure_definitions"))
    return {p.stem: load_definition(p) for p in sorted(folder.glob("*.json"))}
