"""The dm+d dictionary reconciliation uses: the terminology domain's shipped starter dictionary.

A missing dictionary is an error (``ipmo.terminology.DictionaryMissing``), never a silent switch to
matching lines by parsed product name only: without dm+d, brands (Eliquis) and generics
(apixaban) would no longer be recognised as one medicine.

Every AMP maps to its VMP (issue 13 item 6). The starter dictionary leaves the VMP of some AMPs
empty (parallel imports and re-suppliers are listed without their VMPP/VMP link, e.g. "Eliquis
2.5mg tablets (Waymade Healthcare Plc)"). :class:`CompletedDictionary` fills the link the way a
pharmacist would read the name: an AMP is the same product as another AMP of the same name (the
supplier in brackets aside) that has its VMP; or as the VMP of exactly that name; or, for a brand,
as the one VMP of the brand's substance (learnt from the brand's other AMPs) with the same
strength and form. What is still unknown stays unknown (the line is then matched "by name").
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import replace
from functools import cached_property

from ipmo.caching import load_once
from ipmo.records.normalise import DictionaryLike
from ipmo.terminology import Concept, Dictionary, parse_product_name

_SUPPLIER = re.compile(r"\s*\([^()]*\)\s*$")


def _base(name: str) -> str:
    return _SUPPLIER.sub("", name).strip().lower()


def _shape(name: str) -> tuple[object, str] | None:
    parsed = parse_product_name(name)
    if not parsed.strength or not parsed.form:
        return None
    return parsed.strength.key(), parsed.form.lower()


class CompletedDictionary(Dictionary):
    """The starter :class:`~ipmo.terminology.Dictionary` whose AMPs all name their VMP where
    the dictionary's own data can tell it (module doc); lookups otherwise unchanged."""

    @cached_property
    def amp_vmp(self) -> dict[str, tuple[str, str]]:
        """AMP id → (VMP id, how) for AMPs the dictionary lists without their VMP."""
        rows = self.rows
        amps = [r for r in rows.values() if r["kind"] == "AMP"]
        by_name: dict[str, set[str]] = defaultdict(set)
        brand_vtms: dict[str, set[str]] = defaultdict(set)
        for r in amps:
            vmp = rows.get(r["vmp_id"]) if r["vmp_id"] else None
            if vmp is None:
                continue
            by_name[_base(r["name"])].add(vmp["id"])
            if vmp["vtm_id"]:
                brand_vtms[_base(r["name"]).split(" ")[0]].add(vmp["vtm_id"])
        vmp_by_name = {r["name"].lower(): r["id"] for r in rows.values() if r["kind"] == "VMP"}
        vmps_of_vtm: dict[str, list[dict[str, str]]] = defaultdict(list)
        for r in rows.values():
            if r["kind"] == "VMP" and r["vtm_id"]:
                vmps_of_vtm[r["vtm_id"]].append(r)
        out: dict[str, tuple[str, str]] = {}
        for r in amps:
            if r["vmp_id"] and r["vmp_id"] in rows:
                continue
            base = _base(r["name"])
            same = by_name.get(base, set())
            if len(same) == 1:
                out[r["id"]] = (next(iter(same)), "another AMP of the same name")
                continue
            if base in vmp_by_name:
                out[r["id"]] = (vmp_by_name[base], "the VMP of the same name")
                continue
            vtms = brand_vtms.get(base.split(" ")[0], set())
            shape = _shape(base) if len(vtms) == 1 else None
            if shape is None:
                continue
            fits = [v for v in vmps_of_vtm[next(iter(vtms))] if _shape(v["name"]) == shape]
            if len(fits) == 1:
                out[r["id"]] = (fits[0]["id"], "the brand's substance, strength and form")
        return out

    def lookup(self, code: str) -> Concept | None:
        concept = super().lookup(code)
        if concept is None or concept.level != "AMP" or concept.vmp_id:
            return concept
        found = self.amp_vmp.get(concept.id)
        vmp = super().lookup(found[0]) if found else None
        if vmp is None:
            return concept
        return replace(
            concept,
            vmp_id=vmp.id,
            vtm_id=concept.vtm_id or vmp.vtm_id,
            bnf_code=concept.bnf_code or vmp.bnf_code,
            form=concept.form or vmp.form,
            route=concept.route or vmp.route,
        )


@load_once
def default_dictionary() -> DictionaryLike:
    """The shipped starter dictionary (``DictionaryMissing`` when it is not there)."""
    return CompletedDictionary.load()
