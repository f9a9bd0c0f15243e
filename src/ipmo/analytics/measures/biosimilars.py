"""Biosimilar uptake: biosimilar-brand items as a share of all items of a molecule, per molecule.

Why: NHS England's "Commissioning framework for best value biological medicines" (2017, updated
2025) asks systems to move new and existing patients to the best-value biological medicine once a
biosimilar is available; the MHRA asks for biological medicines to be prescribed by brand so the
product dispensed is the one intended. OpenPrescribing and the other peers publish no biosimilar
measure.

How a presentation is classified (``classify``):

* **Molecule** — a BNF chemical (first 9 characters) belongs to a molecule when the starter
  dictionary's VMPs of that VTM carry BNF codes under it (``dmd_index``), or when a branded
  presentation under it names a brand of that molecule in ``data/biosimilar_brands.csv``.
* **Brand** — the part of the BNF presentation name before ``_`` (abbreviated EPD names such as
  "Ins Lantus SoloStar_100u/ml 3ml Pf Pen") or before the first word holding a digit (dm+d-style
  names such as "Clexane Forte 120mg/0.8ml …"), matched word-wise against the table.
* **Role** — generic presentations (product characters ``AA``) are *generic*: they count in the
  denominator only (a generic prescription may be dispensed as any brand, which is what
  prescribing by brand avoids). A branded presentation takes its brand's role in the table:
  *originator*, *biosimilar* or *excluded* (a brand outside the comparison, e.g. Toujeo: insulin
  glargine 300 units/ml has no biosimilar and is not interchangeable with 100 units/ml). Generic
  presentations equivalent to an excluded brand (same BNF strength characters 14–15) are excluded
  too. A branded presentation whose brand is not in the table is counted as a biosimilar — every
  non-originator brand of these molecules is a biosimilar or a licensed copy — and listed in
  ``MoleculeScope.unlisted`` so a reviewer can add it to the table.

Each molecule found in the data becomes an ordinary OpenPrescribing-format definition
(``bnf_items`` over exact presentation codes, percentage, high is good) run by the same engine.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ipmo.analytics.measures.definitions import MeasureDefinition, parse_definition
from ipmo.analytics.measures.dmd_index import (
    DmdIndex,
    generic_equivalent,
    index_and_names,
)

MEASURE_PREFIX = "ipmo_biosimilar_"
ROLES = ("originator", "biosimilar", "excluded")
TABLE_COLUMNS = ("molecule", "brand", "role", "source")


class BrandTableError(ValueError):
    """The brand table is malformed; the message names the file, line and field."""


@dataclass(frozen=True)
class Brand:
    molecule: str
    brand: str
    role: str
    source: str


@dataclass(frozen=True)
class MoleculeScope:
    """The presentations of one molecule in the data and the role of each."""

    molecule: str
    chemicals: frozenset[str]
    roles: dict[str, str] = field(default_factory=dict)  # code → originator|biosimilar|generic|…
    unlisted: tuple[str, ...] = ()  # brands not in the table, counted as biosimilars

    def codes(self, *roles: str) -> list[str]:
        return sorted(code for code, role in self.roles.items() if role in roles)


def brand_table(path: Path | None = None) -> tuple[Brand, ...]:
    """The cited originator/biosimilar brand table (``data/biosimilar_brands.csv``), validated."""
    source = path or resources.files("ipmo.analytics") / "data" / "biosimilar_brands.csv"
    where = str(source)
    # Traversable.open() takes no newline argument; csv wants newline="" (quoted newlines)
    with io.StringIO(source.read_text(encoding="utf-8"), newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != TABLE_COLUMNS:
            raise BrandTableError(f"{where}: columns must be {', '.join(TABLE_COLUMNS)}")
        out: list[Brand] = []
        seen: set[tuple[str, str]] = set()
        for line, row in enumerate(reader, start=2):
            brand = Brand(*(str(row[c] or "").strip() for c in TABLE_COLUMNS))
            for column in TABLE_COLUMNS:
                if not getattr(brand, column):
                    raise BrandTableError(f"{where}, line {line}: {column} is empty")
            if brand.role not in ROLES:
                raise BrandTableError(
                    f"{where}, line {line}: role {brand.role!r} is not one of {', '.join(ROLES)}"
                )
            key = (brand.molecule.lower(), brand.brand.lower())
            if key in seen:
                raise BrandTableError(f"{where}, line {line}: {brand.brand} listed twice")
            seen.add(key)
            out.append(Brand(brand.molecule.lower(), brand.brand, brand.role, brand.source))
    return tuple(out)


def brand_of(name: str) -> str:
    """The brand words of a BNF presentation name (see the module docstring)."""
    name = (name or "").strip()
    if "_" in name:
        return name.split("_", 1)[0].strip()
    words: list[str] = []
    for word in name.split():
        if any(ch.isdigit() for ch in word):
            break
        words.append(word)
    return " ".join(words)


class _BrandMatcher:
    """Finds the table's brands in brand words, whole words, case-insensitive (one regex)."""

    def __init__(self, table: tuple[Brand, ...]) -> None:
        self.rows: dict[str, list[Brand]] = {}
        for brand in table:
            self.rows.setdefault(brand.brand.lower(), []).append(brand)
        names = sorted(self.rows, key=len, reverse=True)
        alternatives = "|".join(re.escape(n) for n in names) or "(?!)"
        self.pattern = re.compile(rf"(?<![a-z])({alternatives})(?![a-z])")

    def __call__(self, brand_words: str) -> list[Brand]:
        found = self.pattern.findall(brand_words.lower())
        return [row for name in found for row in self.rows[name]]


def classify(
    presentations: Mapping[str, str],
    table: tuple[Brand, ...] | None = None,
    index: DmdIndex | None = None,
) -> dict[str, MoleculeScope]:
    """Molecule → its presentations in ``presentations`` (BNF code → name) with their roles."""
    table = brand_table() if table is None else table
    index, names = index_and_names(presentations, index)
    molecules = list(dict.fromkeys(b.molecule for b in table))
    chemical_of: dict[str, str] = {}
    for name in molecules:
        for chemical in sorted(index.vtm_chemicals.get(name, ())):
            chemical_of.setdefault(chemical, name)
    brands_in = _BrandMatcher(table)
    for code, name in sorted(names.items()):
        if len(code) == 15 and code[9:11] != "AA":
            hits = brands_in(brand_of(name))
            if hits:
                chemical_of.setdefault(code[:9], hits[0].molecule)

    def brand_row(code: str, molecule: str) -> Brand | None:
        hits = brands_in(brand_of(names.get(code, "")))
        return next((b for b in hits if b.molecule == molecule), None)

    excluded_strengths = set()
    for code in names:
        molecule = chemical_of.get(code[:9]) if len(code) == 15 else None
        if molecule and code[9:11] != "AA":
            row = brand_row(code, molecule)
            if row is not None and row.role == "excluded":
                excluded_strengths.add(generic_equivalent(code))

    scopes: dict[str, MoleculeScope] = {}
    unlisted: dict[str, set[str]] = {}
    for code in sorted(presentations):
        molecule = chemical_of.get(code[:9])
        if molecule is None or len(code) != 15:
            continue
        scope = scopes.setdefault(
            molecule,
            MoleculeScope(molecule, frozenset(c for c, m in chemical_of.items() if m == molecule)),
        )
        if code[9:11] == "AA":
            role = "generic"
        else:
            row = brand_row(code, molecule)
            if row is None:
                role = "biosimilar"
                unlisted.setdefault(molecule, set()).add(brand_of(names.get(code, "")) or code)
            else:
                role = row.role
        if generic_equivalent(code) in excluded_strengths:
            role = "excluded"
        scope.roles[code] = role
    return {
        m: MoleculeScope(s.molecule, s.chemicals, s.roles, tuple(sorted(unlisted.get(m, ()))))
        for m, s in scopes.items()
    }


def measure_id(molecule: str) -> str:
    return MEASURE_PREFIX + re.sub(r"[^a-z0-9]+", "_", molecule.lower()).strip("_")


def biosimilar_definitions(
    presentations: Mapping[str, str],
    table: tuple[Brand, ...] | None = None,
    index: DmdIndex | None = None,
) -> list[MeasureDefinition]:
    """One uptake measure per molecule that has in-scope presentations in the data."""
    out: list[MeasureDefinition] = []
    for molecule, scope in sorted(classify(presentations, table, index).items()):
        numerator = scope.codes("biosimilar")
        denominator = scope.codes("originator", "biosimilar", "generic")
        if not denominator:
            continue
        data = {
            "name": f"Biosimilar uptake: {molecule}",
            "title": f"Biosimilar-brand {molecule} items as a share of all {molecule} items",
            "description": (
                f"Items prescribed as a biosimilar brand of {molecule}, as a percentage of all "
                f"{molecule} items (originator, biosimilar and generic-name prescriptions). "
                "Prescribing biological medicines by brand is MHRA advice; generic-name items "
                "count in the denominator only."
            ),
            "why_it_matters": [
                "NHS England's commissioning framework for best value biological medicines asks "
                "systems to use the best-value biological medicine, usually a biosimilar, for "
                "new and existing patients."
            ],
            "is_percentage": True,
            "is_cost_based": False,
            "low_is_good": False,
            "tags": ["biosimilars", "ipmo", "value"],
            "numerator_type": "bnf_items",
            "numerator_bnf_codes_filter": numerator or ["~"],
            "denominator_type": "bnf_items",
            "denominator_bnf_codes_filter": denominator,
        }
        out.append(parse_definition(measure_id(molecule), json.dumps(data), "ipmo:biosimilars"))
    return out
