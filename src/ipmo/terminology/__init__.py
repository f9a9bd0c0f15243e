"""Terminology: dm+d (VTM → VMP → AMP, VMPP/AMPP), BNF codes and product names.

Stable service API for other domains (keep these signatures; add, don't change):

- ``lookup(session, code) -> Concept | None`` — any VTM/VMP/AMP/VMPP/AMPP id, including previous
  ids (``VPIDPREV``, codelist "VMP previous to …"), to a :class:`Concept` with ``level``,
  ``name``, ``vmp_id``, ``vtm_id``, ``bnf_code``, ``form``, ``route``, ``supplier``, ``invalid``
  and ``replaced_id`` (the old id asked for, when one was followed).
- ``resolve_to_vmp_vtm(session, code) -> (vmp_id | None, vtm_id | None)``.
- ``search(session, text, limit=20) -> list[Concept]``.
- ``Dictionary`` — the same lookups in memory from the shipped starter dictionary, no database:
  ``Dictionary.load().lookup(code)``, ``.resolve_to_vmp_vtm(code)``, ``.search(text)``,
  ``.by_bnf(code)``, ``.match_by_name(name)``.
- ``read_artifact(path=None)`` — the dictionary file's rows; ``Dictionary.load`` and
  ``read_artifact`` raise ``DictionaryMissing`` when the file is not there (never an empty
  dictionary: a missing dm+d dictionary is an error, not a switch to name matching).
- ``load_starter_dictionary(session) -> dict[str, int]`` — bulk-load the shipped dictionary into
  the store (idempotent; seconds).
- ``parse_product_name(name) -> ParsedName`` and ``match_by_name(name, index)``;
  ``substance_key(name)`` and ``normalise_form(form)`` for comparing names.
- ``unit_prices(session, codes) -> {code: UnitPrice}`` — the Drug Tariff price of one unit of a
  VMP/AMP from dm+d (VMPP ``DTINFO`` price; the lowest per unit over its packs); codes with no
  priced pack are absent ("no price").
- ``therapeutic_class(bnf_code) -> str | None``, plus ``ipmo.terminology.bnf`` for chapters and
  sections.
- ``verhoeff_ok(code)`` / ``is_valid_sctid(code)`` for SNOMED CT / dm+d id checks.

Dose syntax lives in ``ipmo.terminology.dosage`` (separate owner).
"""

from ipmo.terminology.bnf import therapeutic_class
from ipmo.terminology.concept import Concept
from ipmo.terminology.dictionary import (
    Dictionary,
    DictionaryMissing,
    load_starter_dictionary,
    read_artifact,
)
from ipmo.terminology.names import (
    NameIndex,
    ParsedName,
    match_by_name,
    normalise_form,
    parse_product_name,
    substance_key,
)
from ipmo.terminology.prices import UnitPrice, unit_prices
from ipmo.terminology.service import lookup, resolve_to_vmp_vtm, search
from ipmo.terminology.verhoeff import is_valid_sctid, verhoeff_ok

__all__ = [
    "Concept",
    "Dictionary",
    "DictionaryMissing",
    "NameIndex",
    "ParsedName",
    "UnitPrice",
    "is_valid_sctid",
    "load_starter_dictionary",
    "lookup",
    "match_by_name",
    "normalise_form",
    "parse_product_name",
    "read_artifact",
    "resolve_to_vmp_vtm",
    "search",
    "unit_prices",
    "substance_key",
    "therapeutic_class",
    "verhoeff_ok",
]
