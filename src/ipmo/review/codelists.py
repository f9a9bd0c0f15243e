"""Code sets shipped in ``data/codes.csv`` (built by ``scripts/build_review_data.py``; sources in
SOURCE.md).

A set holds SNOMED CT clinical codes (conditions, tests) or dm+d ids (medicine lists such as
``pincer_nsaid``). Tests are also matched by the store's short ``kind`` name so that records
coded only by kind (``egfr``, ``potassium`` …) are still found.
"""

from __future__ import annotations

import csv
import gzip
from collections import defaultdict
from pathlib import Path

from ipmo.caching import load_once

DATA = Path(__file__).with_name("data")

#: test/event set -> observation kinds (the store's ``Observation.kind``) that also belong to it.
KINDS: dict[str, frozenset[str]] = {
    "pincer_egfr": frozenset({"egfr"}),
    "pincer_renal": frozenset({"egfr", "creatinine", "crcl", "u_and_e"}),
    "pincer_electro": frozenset({"potassium", "sodium", "u_and_e"}),
    "pincer_fbc": frozenset({"fbc"}),
    "pincer_lft": frozenset({"lft"}),
    "pincer_tft": frozenset({"tft"}),
    "pincer_lith_lev": frozenset({"lithium"}),
    "potassium": frozenset({"potassium"}),
    "sodium": frozenset({"sodium"}),
    "creatinine": frozenset({"creatinine"}),
    "crcl": frozenset({"crcl"}),
    "weight": frozenset({"weight"}),
    "renal_function": frozenset({"egfr", "creatinine", "crcl"}),
    "smr": frozenset({"smr"}),
    "falls": frozenset({"fall"}),
    "efi": frozenset({"frailty_score"}),
    "heart_rate": frozenset({"heart_rate"}),
    "bp_systolic": frozenset({"bp_systolic"}),
}

#: sets assembled from others (union), so rules name one thing.
UNIONS: dict[str, tuple[str, ...]] = {
    "pep_or_gi_bleed": ("pincer_pep", "pincer_gi_bleed"),
    "renal_function": ("pincer_egfr", "creatinine", "crcl"),
    # serum potassium codes are part of pincer_electro; the kind keeps the set specific
    "potassium": (),
    "heart_rate": (),
    "bp_systolic": (),
}

# SNOMED codes of the potassium observables inside pincer-electro (serum/plasma potassium).
_POTASSIUM_TERMS = ("potassium",)


@load_once
def code_sets() -> dict[str, frozenset[str]]:
    sets: dict[str, set[str]] = defaultdict(set)
    terms: dict[tuple[str, str], str] = {}
    with (DATA / "codes.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            sets[row["set"]].add(row["code"])
            terms[(row["set"], row["code"])] = row["term"]
    sets["potassium"] = {
        c
        for c in sets["pincer_electro"]
        if any(t in terms[("pincer_electro", c)].lower() for t in _POTASSIUM_TERMS)
    }
    for name, parts in UNIONS.items():
        for p in parts:
            sets[name] |= sets[p]
    return {k: frozenset(v) for k, v in sets.items()}


def codes(name: str) -> frozenset[str]:
    try:
        return code_sets()[name]
    except KeyError:
        if name in KINDS:
            return frozenset()
        raise KeyError(f"unknown code set {name!r}") from None


def kinds(name: str) -> frozenset[str]:
    return KINDS.get(name, frozenset())


@load_once
def product_dictionary() -> dict[str, tuple[str, str]]:
    """dm+d id -> (name, BNF code) from the public medicine codelists (starter dictionary)."""
    out: dict[str, tuple[str, str]] = {}
    with gzip.open(DATA / "products.csv.gz", "rt", newline="") as f:
        for row in csv.DictReader(f):
            out[row["dmd_id"]] = (row["name"], row["bnf_code"])
    return out


@load_once
def dmd_routes() -> dict[str, str]:
    """dm+d id (VMP or AMP) -> dm+d route ("Oral", "Rectal", …), where the dictionary has one."""
    with gzip.open(DATA / "dmd_routes.csv.gz", "rt", newline="") as f:
        return {row["dmd_id"]: row["route"] for row in csv.DictReader(f)}
