"""The few dm+d facts the analytics measures need, read once from the terminology dictionary.

The starter dictionary (``ipmo/terminology/data/starter_dictionary.csv.gz``, built from public
dm+d and BNF sources; provenance in that folder's SOURCE.md) links VMPs to their VTM and to a
generic BNF presentation code, and names each VMP's form ("dry powder inhaler", "inhaler CFC
free", …). The biosimilar measures use it to find a molecule's BNF chemical; the inhaler measures
use it to tell a pressurised inhaler from a dry powder one. It is not the full dm+d: codes it does
not hold fall back to rules on the BNF presentation name, documented where they are used.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ipmo.caching import load_once


@dataclass(frozen=True)
class DmdIndex:
    bnf_names: Mapping[str, str]  # BNF presentation code → name (BNF rows of the dictionary)
    vmp_forms: Mapping[str, str]  # generic BNF code → lower-case VMP form ("dry powder inhaler")
    vtm_chemicals: Mapping[str, frozenset[str]]  # lower-case VTM name → BNF chemicals (9 chars)


def generic_equivalent(code: str) -> str:
    """The generic presentation a 15-character BNF code is equivalent to (characters 14–15 name
    the generic's strength/formulation); any string in, no check (``bnf.generic_equivalent``
    is the checked one)."""
    return code[:9] + "AA" + code[13:15] + code[13:15]


def index_and_names(
    presentations: Mapping[str, str], index: DmdIndex | None = None
) -> tuple[DmdIndex, dict[str, str]]:
    """The index (the shipped one by default) and the names of every BNF code it or
    ``presentations`` (BNF code → name) know: the data's own names win."""
    index = dmd_index() if index is None else index
    return index, {**index.bnf_names, **presentations}


def build_index(rows: Iterable[Mapping[str, str]]) -> DmdIndex:
    """Index dictionary rows (columns as in the starter dictionary CSV)."""
    rows = list(rows)
    vtm_names = {r["id"]: r["name"].strip().lower() for r in rows if r["kind"] == "VTM"}
    bnf_names: dict[str, str] = {}
    forms: dict[str, str] = {}
    chemicals: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        code = (r.get("bnf_code") or "").strip()
        if r["kind"] == "BNF" and len(r["id"]) == 15:
            bnf_names[r["id"]] = r["name"]
        if r["kind"] != "VMP" or len(code) != 15:
            continue
        if r.get("form"):
            forms.setdefault(code, r["form"].strip().lower())
        vtm = vtm_names.get(r.get("vtm_id") or "")
        if vtm:
            chemicals[vtm].add(code[:9])
    return DmdIndex(bnf_names, forms, {k: frozenset(v) for k, v in chemicals.items()})


@load_once
def dmd_index() -> DmdIndex:
    """The index of the shipped starter dictionary (read once per process, ~0.3 s)."""
    from ipmo.terminology import read_artifact

    return build_index(read_artifact())
