"""Inhaler carbon footprint: MDI share of inhalers, and kg CO2e per 1,000 patients and per inhaler.

**Device class.** OpenPrescribing's ``environmental_inhalers`` (shipped in
``data/measure_definitions/``) counts, in BNF chapter 3 excluding salbutamol (``0301011R0``),
items whose dm+d form/route is ``pressurizedinhalation`` (numerator) among those that are
pressurised, ``powderinhalation`` or ``inhalationsolution`` (soft mist) — joined on the generic
equivalent of each code. We have no dm+d form/route table, so ``device_of`` reads the form of the
generic-equivalent VMP from the terminology starter dictionary ("inhaler CFC free", "breath
actuated inhaler" → MDI; "dry powder inhaler", "inhalation powder capsules" → DPI; "solution for
inhalation cartridge" → SMI; "nebuliser liquid" → not an inhaler) and, for codes the dictionary
does not hold, applies device and wording rules to the BNF name (``NAME_RULES``). Codes neither
way classifies are left out of both sides and listed by ``unclassified`` for review.

**CO2e.** ``data/inhaler_co2e.csv`` gives kg CO2e per inhaler with a source per row, resolved
most specific first: the exact BNF code (OpenPrescribing's per-product salbutamol values from
``carbon_salbutamol.json``), a product-family name pattern, a BNF-chemical class default, then a
device-class default. The ``level`` column says which; ``data/SOURCE.md`` lists the publications.
EPD quantity counts inhalers, except capsule and blister products, whose quantity counts doses:
those are converted at ``DOSES_PER_DEVICE_PACK`` doses per device pack (a 30-day pack).

The measures are OpenPrescribing-format definitions (items filters, or custom SQL weighting
quantity per presentation, as ``carbon_salbutamol`` does), so the same engine runs them.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ipmo.analytics.measures.definitions import MeasureDefinition, parse_definition
from ipmo.analytics.measures.dmd_index import (
    DmdIndex,
    dmd_index,
    generic_equivalent,
    index_and_names,
)

CHAPTER, SALBUTAMOL = "03", "0301011R0"
DEVICES = ("MDI", "DPI", "SMI")
MATCH_KINDS = ("bnf_code", "name", "bnf_prefix", "device")
LEVELS = ("product", "product_family", "class_default")
TABLE_COLUMNS = ("match", "value", "device", "kg_co2e", "level", "source", "note")
DOSES_PER_DEVICE_PACK = 30
MDI_SHARE_ID = "ipmo_inhalers_mdi_share"
PER_1000_ID = "ipmo_inhalers_co2e_per_1000"
PER_INHALER_ID = "ipmo_inhalers_co2e_per_inhaler"

# Name rules, tried in order; the first hit wins (so "dry powder inhaler" is a DPI before "inhaler"
# makes it an MDI). Device names are the manufacturers' (Accuhaler, Turbohaler, … are dry powder
# devices; Evohaler, Autohaler, Easi-Breathe, Modulite, K-haler, Aerosphere are pressurised);
# "CFF"/"CFC free" marks a propellant (HFA) inhaler in BNF names, "Pdr For Inh" a dry powder one.
# "Inha" alone is weak evidence ("Terbut Sulf_B/A Inha 500mcg" is the Bricanyl Turbohaler generic):
# it is used only when neither the code's own name nor the names of the brands sharing its generic
# equivalent match a rule above.
NAME_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("nebuliser", re.compile(r"\bneb|nebul|respule|steri-neb|inh soln|\bud\b|unit dose|ampoule")),
    (
        "SMI",
        re.compile(r"respimat|solution for inhalation cartridge|inhalation solution cartridge"),
    ),
    (
        "DPI",
        re.compile(
            r"accuhaler|turbohaler|easyhaler|ellipta|genuair|breezhaler|spiromax|nexthaler|"
            r"novolizer|handihaler|zonda|diskhaler|clickhaler|twisthaler|aerolizer|forspiro|"
            r"cyclohaler|pdr for inh|pdr inh|dry powder|inhalation powder|inh cap"
        ),
    ),
    (
        "MDI",
        re.compile(
            r"evohaler|autohaler|e-breathe|easi-breathe|modulite|k-haler|aerosphere|\bcff\b|"
            r"cfc[- ]free|inhaler|aerosol|pressuri[sz]ed"
        ),
    ),
)
WEAK_MDI = re.compile(r"_inha\b|\binha\b")
DOSE_UNIT = re.compile(r"\bcap\b|capsule|blister")


class InhalerTableError(ValueError):
    """The CO2e table is malformed; the message names the file, line and field."""


@dataclass(frozen=True)
class Co2eRow:
    match: str
    value: str
    device: str
    kg_co2e: float
    level: str
    source: str
    note: str


@dataclass(frozen=True)
class Inhaler:
    """One chapter-3 inhaler presentation as the measures see it."""

    code: str
    name: str
    device: str
    kg_co2e: float  # per inhaler (device pack)
    doses_per_unit: int  # EPD quantity units per inhaler: 1, or 30 for capsules/blisters
    level: str
    source: str

    @property
    def kg_per_quantity_unit(self) -> float:
        return self.kg_co2e / self.doses_per_unit


def co2e_table(path: Path | None = None) -> tuple[Co2eRow, ...]:
    """``data/inhaler_co2e.csv`` validated: known match kinds, devices, levels; a source each."""
    source = path or resources.files("ipmo.analytics") / "data" / "inhaler_co2e.csv"
    where = str(source)
    out: list[Co2eRow] = []
    # Traversable.open() takes no newline argument; csv wants newline="" (quoted newlines)
    with io.StringIO(source.read_text(encoding="utf-8"), newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != TABLE_COLUMNS:
            raise InhalerTableError(f"{where}: columns must be {', '.join(TABLE_COLUMNS)}")
        for line, row in enumerate(reader, start=2):
            if None in row or any(row[c] is None for c in TABLE_COLUMNS):
                raise InhalerTableError(f"{where}, line {line}: wrong number of fields")
            values = {c: row[c].strip() for c in TABLE_COLUMNS}
            checks = (("match", MATCH_KINDS), ("device", DEVICES), ("level", LEVELS))
            for column, allowed in checks:
                if values[column] not in allowed:
                    raise InhalerTableError(
                        f"{where}, line {line}: {column} {values[column]!r} is not one of "
                        + ", ".join(allowed)
                    )
            if not values["source"] or not values["value"]:
                raise InhalerTableError(f"{where}, line {line}: value and source are required")
            try:
                kg = float(values["kg_co2e"])
            except ValueError:
                kg = -1.0
            if kg <= 0:
                raise InhalerTableError(
                    f"{where}, line {line}: kg_co2e {values['kg_co2e']!r} is not a positive number"
                )
            out.append(
                Co2eRow(
                    match=values["match"],
                    value=values["value"],
                    device=values["device"],
                    kg_co2e=kg,
                    level=values["level"],
                    source=values["source"],
                    note=values["note"],
                )
            )
    return tuple(out)


def _device_of_form(form: str) -> str | None:
    if "nebuliser" in form:
        return "nebuliser"
    if "dry powder" in form or "inhalation powder" in form:
        return "DPI"
    if "solution for inhalation cartridge" in form or "inhalation solution cartridge" in form:
        return "SMI"
    if "inhaler" in form:
        return "MDI"
    return None


def _by_name(name: str) -> str | None:
    lower = (name or "").lower()
    return next((device for device, pattern in NAME_RULES if pattern.search(lower)), None)


def device_of(
    code: str, name: str, index: DmdIndex | None = None, siblings: Iterable[str] = ()
) -> str | None:
    """The device class: MDI, DPI, SMI, "nebuliser", or None (not an inhaler / unknown).

    Evidence in order: the dm+d form of the generic-equivalent VMP; the name rules on ``name``;
    the name rules on ``siblings`` (names of presentations with the same generic equivalent,
    e.g. the brands of a generic); a bare "Inha" in ``name`` (MDI).
    """
    if not code.startswith(CHAPTER) or len(code) != 15:
        return None
    index = dmd_index() if index is None else index
    form = index.vmp_forms.get(generic_equivalent(code)) or index.vmp_forms.get(code)
    found = _device_of_form(form) if form else None
    found = found or _by_name(name)
    for sibling in siblings:
        found = found or _by_name(sibling)
    if found is None and WEAK_MDI.search((name or "").lower()):
        found = "MDI"
    return found


def _co2e_for(code: str, names: Iterable[str], device: str, table: tuple[Co2eRow, ...]) -> Co2eRow:
    """The most specific row for ``code``; ``names`` are its own name then its generic's."""
    rows = [r for r in table if r.device == device]
    for row in rows:
        if row.match == "bnf_code" and row.value == code:
            return row
    for lower in [(n or "").lower() for n in names]:
        for row in rows:
            if row.match == "name" and re.search(row.value, lower):
                return row
    prefixes = [r for r in rows if r.match == "bnf_prefix" and code.startswith(r.value)]
    if prefixes:
        return max(prefixes, key=lambda r: len(r.value))
    for row in rows:
        if row.match == "device":
            return row
    raise InhalerTableError(f"inhaler CO2e table has no default row for device {device}")


def _siblings(names: Mapping[str, str]) -> dict[str, list[str]]:
    """Generic-equivalent code → names of the chapter-3 presentations that share it."""
    out: dict[str, list[str]] = defaultdict(list)
    for code, name in sorted(names.items()):
        if code.startswith(CHAPTER) and len(code) == 15 and name:
            out[generic_equivalent(code)].append(name)
    return out


def inhalers(
    presentations: Mapping[str, str],
    table: tuple[Co2eRow, ...] | None = None,
    index: DmdIndex | None = None,
) -> dict[str, Inhaler]:
    """Every MDI/DPI/SMI presentation in ``presentations`` (BNF code → name) with its CO2e."""
    table = co2e_table() if table is None else table
    index, all_names = index_and_names(presentations, index)
    siblings = _siblings(all_names)
    out: dict[str, Inhaler] = {}
    for code, name in sorted(presentations.items()):
        related = siblings.get(generic_equivalent(code), [])
        device = device_of(code, name or "", index, related)
        if device not in DEVICES:
            continue
        form = index.vmp_forms.get(generic_equivalent(code), "")
        doses = DOSES_PER_DEVICE_PACK if DOSE_UNIT.search(f"{(name or '').lower()} {form}") else 1
        generic = all_names.get(generic_equivalent(code), "")
        row = _co2e_for(code, (name or "", generic), device, table)
        out[code] = Inhaler(code, name or "", device, row.kg_co2e, doses, row.level, row.source)
    return out


def unclassified(presentations: Mapping[str, str], index: DmdIndex | None = None) -> list[str]:
    """Chapter-3 codes whose name suggests inhalation but whose device class is unknown."""
    index, all_names = index_and_names(presentations, index)
    siblings = _siblings(all_names)
    hint = re.compile(r"inh|haler")
    return sorted(
        code
        for code, name in presentations.items()
        if code.startswith(CHAPTER)
        and hint.search((name or "").lower())
        and device_of(code, name or "", index, siblings.get(generic_equivalent(code), [])) is None
    )


def _weighted_sum(weights: Mapping[str, float], alias: str) -> str:
    """``SUM(CASE WHEN LEFT(bnf_code, 9) = chemical THEN CASE WHEN bnf_code IN (…) THEN
    quantity * w … END … ELSE 0 END) AS alias`` — OpenPrescribing's custom-SQL form (as in
    carbon_salbutamol), nested by BNF chemical so that evaluating it per presentation
    (``custom_sql.py``) compares a few codes rather than every inhaler code."""
    by_chemical: dict[str, dict[float, list[str]]] = defaultdict(lambda: defaultdict(list))
    for code, weight in weights.items():
        by_chemical[code[:9]][round(weight, 12)].append(code)
    outer = []
    for chemical, by_weight in sorted(by_chemical.items()):
        inner = " ".join(
            f"WHEN bnf_code IN ({', '.join(repr(c) for c in sorted(codes))}) "
            f"THEN quantity * {weight!r}"
            for weight, codes in sorted(by_weight.items())
        )
        outer.append(f"WHEN LEFT(bnf_code, 9) = '{chemical}' THEN CASE {inner} ELSE 0 END")
    return f"SUM(CASE {' '.join(outer) or 'WHEN 1 = 0 THEN quantity'} ELSE 0 END) AS {alias}"


def inhaler_definitions(
    presentations: Mapping[str, str],
    table: tuple[Co2eRow, ...] | None = None,
    index: DmdIndex | None = None,
) -> list[MeasureDefinition]:
    """The three inhaler measures over the presentations in the data."""
    found = inhalers(presentations, table, index)
    if not found:
        return []
    not_salbutamol = [i for i in found.values() if not i.code.startswith(SALBUTAMOL)]
    co2e = {c: i.kg_per_quantity_unit for c, i in found.items()}
    devices = {c: 1 / i.doses_per_unit for c, i in found.items()}
    common = {
        "is_cost_based": False,
        "low_is_good": True,
        "tags": ["greenernhs", "respiratory", "ipmo"],
        "why_it_matters": [
            "BTS/NICE/SIGN asthma guidance (NG245) asks prescribers to weigh the environmental "
            "impact of suitable devices; propellant (MDI) inhalers have footprints one to two "
            "orders of magnitude above dry powder and soft mist inhalers."
        ],
    }
    carbon_sql = {
        "numerator_type": "custom",
        "numerator_columns": _weighted_sum(co2e, "numerator"),
        "numerator_from": "{hscic}.normalised_prescribing",
        "numerator_where": "LEFT(bnf_code, 2) = '03'",
    }
    measures = {
        MDI_SHARE_ID: common
        | {
            "name": "Inhalers: MDI share (excluding salbutamol)",
            "title": "Pressurised metered-dose inhaler items as a share of MDI + DPI + soft "
            "mist inhaler items, BNF chapter 3 excluding salbutamol",
            "description": "As OpenPrescribing's environmental_inhalers, with device classes "
            "from the starter dictionary's dm+d forms and BNF names.",
            "is_percentage": True,
            "numerator_type": "bnf_items",
            "numerator_bnf_codes_filter": sorted(
                i.code for i in not_salbutamol if i.device == "MDI"
            )
            or ["~"],
            "denominator_type": "bnf_items",
            "denominator_bnf_codes_filter": sorted(i.code for i in not_salbutamol),
        },
        PER_1000_ID: common
        | carbon_sql
        | {
            "name": "Inhalers: kg CO2e per 1,000 patients",
            "title": "Estimated inhaler carbon footprint (kg CO2e) per 1,000 registered patients",
            "description": "Σ inhalers × kg CO2e per inhaler (product, product-family or class "
            "value from data/inhaler_co2e.csv) over BNF chapter 3, per 1,000 patients.",
            "is_percentage": False,
            "denominator_type": "list_size",
        },
        PER_INHALER_ID: common
        | carbon_sql
        | {
            "name": "Inhalers: mean kg CO2e per inhaler",
            "title": "Estimated mean carbon footprint per inhaler prescribed (kg CO2e)",
            "description": "Σ inhalers × kg CO2e per inhaler ÷ inhalers, over MDI, DPI and "
            "soft mist inhalers in BNF chapter 3 (capsule/blister doses ÷ 30 per device pack).",
            "is_percentage": False,
            "denominator_type": "custom",
            "denominator_columns": _weighted_sum(devices, "denominator"),
            "denominator_from": "{hscic}.normalised_prescribing",
            "denominator_where": "LEFT(bnf_code, 2) = '03'",
        },
    }
    return [
        parse_definition(measure_id, json.dumps(data), "ipmo:inhalers")
        for measure_id, data in measures.items()
    ]
