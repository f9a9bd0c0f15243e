"""Antibiotic stewardship: the share of antibacterial items in the WHO AWaRe Watch + Reserve groups.

Classification: UKHSA's AWaRe list by VTM (``data/aware_vtms.csv``, column ``aware_2024``; the
table OpenPrescribing's ``aware_antibiotics`` measure uses). OpenPrescribing maps VTMs to BNF codes
through dm+d; until our dm+d import provides that link, each BNF *chemical* (first 9 characters)
in section 5.1 is matched to a VTM by name: the generic presentation's name before ``_``
(e.g. ``Co-Amoxiclav_Tab 250mg/125mg`` → "co-amoxiclav") against the single-ingredient VTM names,
where the BNF's abbreviated first word may be a prefix of at least 5 letters ("Fluclox Sod" →
Flucloxacillin). Brands share their chemical's class. Chemicals that match nothing (or a class
other than Access/Watch/Reserve) are left out of both sides, as in the peer's measure;
``unmatched`` lists them so a reviewer can see coverage.

The result is an ordinary OpenPrescribing-format definition (``bnf_items`` / ``bnf_items``,
percentage, low is good) built from the data's presentations, so it runs through the same engine.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from importlib import resources

from ipmo.analytics.measures.definitions import MeasureDefinition, parse_definition

MEASURE_ID = "ipmo_aware_watch_reserve"
CLASSES = ("Access", "Watch", "Reserve")
# BNF 5.1 antibacterials, excluding antituberculosis (5.1.9), antileprotic (5.1.10) drugs and
# methenamine — the same scope as OpenPrescribing's all_antibiotics / aware_antibiotics
SECTION, EXCLUDED = "0501", ("050109", "050110", "0501130H0")


def aware_table() -> dict[str, str]:
    """Lower-case single-ingredient VTM name → AWaRe 2024 class.

    Where a VTM is classed by route (fosfomycin: oral Access, parenteral Reserve) the oral
    class is used: primary-care prescribing of these is oral.
    """
    path = resources.files("ipmo.analytics") / "data" / "aware_vtms.csv"
    out: dict[str, str] = {}
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            name = row["vtm_nm"].strip().lower()
            if "+" not in name and (name not in out or row["atc_route"].strip() == "O"):
                out[name] = row["aware_2024"].strip()
    return out


def _chemical_name(presentation_name: str) -> str:
    return presentation_name.split("_", 1)[0].strip().lower()


def classify(presentations: Mapping[str, str], table: Mapping[str, str]) -> dict[str, str]:
    """BNF chemical (9 characters) → AWaRe class, for the antibacterials in ``presentations``."""
    names: dict[str, str] = {}
    for code, name in sorted(presentations.items()):
        if code.startswith(SECTION) and not code.startswith(EXCLUDED) and code[9:11] == "AA":
            names.setdefault(code[:9], _chemical_name(name or ""))
    out: dict[str, str] = {}
    for chemical, name in names.items():
        first = name.split()[0] if name else ""
        for vtm, klass in table.items():
            if (
                name == vtm
                or name.startswith(vtm + " ")
                or (len(first) >= 5 and vtm.split()[0].startswith(first) and " " not in vtm)
            ):
                out[chemical] = klass
                break
    return out


def unmatched(presentations: Mapping[str, str], table: Mapping[str, str]) -> list[str]:
    chemicals = {c[:9] for c in presentations if c.startswith(SECTION)}
    chemicals = {c for c in chemicals if not c.startswith(EXCLUDED)}
    return sorted(chemicals - set(classify(presentations, table)))


def aware_definition(presentations: Mapping[str, str]) -> MeasureDefinition:
    classes = classify(presentations, aware_table())
    watch = sorted(c for c, k in classes.items() if k in ("Watch", "Reserve"))
    every = sorted(c for c, k in classes.items() if k in CLASSES)
    data = {
        "name": "Antibiotics in the AWaRe Watch and Reserve groups",
        "title": "Watch + Reserve antibiotic items as a share of Access + Watch + Reserve items",
        "description": "Share of antibacterial items (BNF 5.1) in UKHSA AWaRe 2024 Watch or "
        "Reserve groups (NHS England target: Access ≥ 70%).",
        "is_percentage": True,
        "is_cost_based": False,
        "low_is_good": True,
        "tags": ["antimicrobial", "ipmo"],
        "numerator_type": "bnf_items",
        "numerator_bnf_codes_filter": watch or ["~"],
        "denominator_type": "bnf_items",
        "denominator_bnf_codes_filter": every or ["~"],
    }
    return parse_definition(MEASURE_ID, json.dumps(data), "ipmo:aware")
