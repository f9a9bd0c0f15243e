"""ICS-defined measures: a small YAML format, validated and compiled to OpenPrescribing definitions.

An ICS medicines team writes a measure as one YAML file (shipped examples in
``data/ics_measures/``; an ICS's own in ``<analytics data dir>/ics_measures/`` or a folder passed
to ``ipmo analytics measures --ics-measures DIR``)::

    id: ics_broad_spectrum_antibiotics        # optional; default: the file name
    name: Broad-spectrum antibiotics
    title: …                                   # optional; default: name
    description: …
    source: NHS England Quality Premium 2015/16 …   # required: where the rule comes from
    numerator:
      type: items                              # items | quantity | cost
      bnf: ["0501013K0", "0501021"]            # BNF code prefixes (or full 15-character codes)
      exclude: ["0501021L0"]                   # optional
    denominator:
      type: items                              # items | quantity | cost | list_size
      bnf: ["0501"]
    is_percentage: true
    is_cost_based: false                       # optional, default false
    low_is_good: true                          # true | false | null
    tags: [antimicrobial]                      # optional; "ics" is always added
    why_it_matters: …                          # optional

``compile_measure`` turns it into the OpenPrescribing JSON shape (``bnf_items`` /
``bnf_quantity`` / ``bnf_cost`` / ``list_size``, exclusions as ``~`` terms) and hands it to
``definitions.parse_definition``, so the engine runs it like any shipped measure. Anything else
— unknown or repeated keys, a BNF term that is not a code prefix, a percentage over list size —
raises ``IcsMeasureError`` naming the file and the field (and the line for YAML syntax errors).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ipmo.analytics.measures.definitions import (
    MeasureDefinition,
    MeasureDefinitionError,
    parse_definition,
)

SIDE_TYPES = {"items": "bnf_items", "quantity": "bnf_quantity", "cost": "bnf_cost"}
REQUIRED = ("name", "description", "source", "numerator", "denominator", "is_percentage",
            "low_is_good")  # fmt: skip
OPTIONAL = ("id", "title", "is_cost_based", "tags", "why_it_matters")
SIDE_KEYS = ("type", "bnf", "exclude")
BNF_TERM = re.compile(r"^[0-9A-Z]{2,15}$")  # a BNF chapter … presentation code prefix
MEASURE_ID = re.compile(r"^[a-z][a-z0-9_]{2,63}$")


class IcsMeasureError(MeasureDefinitionError):
    """An ICS measure file that cannot be compiled; the message names the file and field."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)."""


def _no_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def shipped_dir() -> Path:
    return Path(str(resources.files("ipmo.analytics") / "data" / "ics_measures"))


def _side(value: Any, label: str, where: str) -> tuple[str, list[str]]:
    """(OpenPrescribing side type, codes filter) for one side."""
    if not isinstance(value, dict):
        raise IcsMeasureError(f"{where}: {label} must be a mapping with type and bnf")
    unknown = sorted(set(value) - set(SIDE_KEYS))
    if unknown:
        raise IcsMeasureError(
            f"{where}: {label}.{unknown[0]} is not a known field ({', '.join(SIDE_KEYS)})"
        )
    kind = value.get("type")
    allowed = [*SIDE_TYPES, "list_size"] if label == "denominator" else list(SIDE_TYPES)
    if kind not in allowed:
        raise IcsMeasureError(f"{where}: {label}.type {kind!r} is not one of {', '.join(allowed)}")
    if kind == "list_size":
        if value.get("bnf") or value.get("exclude"):
            raise IcsMeasureError(f"{where}: {label}.bnf is not used with type list_size")
        return "list_size", []
    terms: list[str] = []
    for field in ("bnf", "exclude"):
        items = value.get(field, [] if field == "exclude" else None)
        if field == "bnf" and not items:
            raise IcsMeasureError(f"{where}: {label}.bnf needs at least one BNF code prefix")
        if isinstance(items, str) or not isinstance(items, list):
            raise IcsMeasureError(f"{where}: {label}.{field} must be a list of BNF code prefixes")
        for position, term in enumerate(items):
            if not isinstance(term, str) or not BNF_TERM.match(term):
                raise IcsMeasureError(
                    f"{where}: {label}.{field}[{position}]: {term!r} is not a BNF code prefix "
                    "(2–15 characters, digits and capital letters)"
                )
            terms.append(term if field == "bnf" else f"~{term}")
    return SIDE_TYPES[kind], terms


def compile_measure(data: Any, where: str, default_id: str) -> MeasureDefinition:
    """Validate one parsed YAML document and compile it to a ``MeasureDefinition``."""
    if not isinstance(data, dict):
        raise IcsMeasureError(f"{where}: an ICS measure must be a YAML mapping of fields")
    unknown = sorted(set(data) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise IcsMeasureError(f"{where}: {unknown[0]} is not a known field")
    missing = [key for key in REQUIRED if key not in data]
    if missing:
        raise IcsMeasureError(f"{where}: missing {', '.join(missing)}")
    measure_id = data.get("id", default_id)
    if not isinstance(measure_id, str) or not MEASURE_ID.match(measure_id):
        raise IcsMeasureError(
            f"{where}: id {measure_id!r} must be 3–64 lower-case letters, digits or _"
        )
    for key in ("name", "description", "source", "title", "why_it_matters"):
        if key in data and (not isinstance(data[key], str) or not data[key].strip()):
            raise IcsMeasureError(f"{where}: {key} must be non-empty text")
    for key in ("is_percentage", "is_cost_based"):
        if key in data and not isinstance(data[key], bool):
            raise IcsMeasureError(f"{where}: {key} must be true or false")
    if data["low_is_good"] is not None and not isinstance(data["low_is_good"], bool):
        raise IcsMeasureError(f"{where}: low_is_good must be true, false or null")
    tags = data.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise IcsMeasureError(f"{where}: tags must be a list of words")
    num_type, num_filter = _side(data["numerator"], "numerator", where)
    den_type, den_filter = _side(data["denominator"], "denominator", where)
    if data["is_percentage"] and den_type == "list_size":
        raise IcsMeasureError(
            f"{where}: is_percentage is true but the denominator is list_size "
            "(a share needs prescribing on both sides)"
        )
    compiled = {
        "name": data["name"].strip(),
        "title": (data["title"] if "title" in data else data["name"]).strip(),
        "description": data["description"].strip(),
        # pages render why_it_matters as HTML (the peer's is reviewed HTML); ICS text is escaped
        "why_it_matters": [html.escape(data["why_it_matters"].strip())]
        if "why_it_matters" in data
        else [],
        "source": data["source"].strip(),
        "is_percentage": data["is_percentage"],
        "is_cost_based": data.get("is_cost_based", False),
        "low_is_good": data["low_is_good"],
        "tags": sorted({*tags, "ics"}),
        "numerator_type": num_type,
        "denominator_type": den_type,
    }
    if num_filter:
        compiled["numerator_bnf_codes_filter"] = num_filter
    if den_filter:
        compiled["denominator_bnf_codes_filter"] = den_filter
    return parse_definition(measure_id, json.dumps(compiled), where)


def load_ics_measure(path: Path) -> MeasureDefinition:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise IcsMeasureError(f"{path}: cannot be read: {exc}") from exc
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise IcsMeasureError(f"{path}{line}: invalid YAML: {problem}") from exc
    return compile_measure(data, str(path), path.stem.replace("-", "_").lower())


def load_ics_measures(
    folders: Iterable[Path] | None = None, reserved: Iterable[str] = ()
) -> dict[str, MeasureDefinition]:
    """Every ``*.yaml`` / ``*.yml`` in ``folders`` (default: the shipped examples), by id.

    All files are validated before anything is returned, so one bad file fails the load as a
    whole. An id used twice, or one in ``reserved`` (e.g. the shipped OpenPrescribing ids),
    is refused naming both places.
    """
    folders = [shipped_dir()] if folders is None else list(folders)
    taken = {i: "an OpenPrescribing measure" for i in reserved}
    out: dict[str, MeasureDefinition] = {}
    for folder in folders:
        if not folder.is_dir():
            raise IcsMeasureError(f"{folder}: no such folder of ICS measures")
        for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
            definition = load_ics_measure(path)
            if definition.id in taken:
                raise IcsMeasureError(
                    f"{path}: id {definition.id!r} is already used by {taken[definition.id]}"
                )
            taken[definition.id] = str(path)
            out[definition.id] = definition
    return out
