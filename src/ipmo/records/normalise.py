"""Map each source line to dm+d (AMP → VMP → VTM) and derive what reconciliation compares.

Codes are looked up in a terminology :class:`DictionaryLike` (``ipmo.terminology``'s in-memory
``Dictionary`` satisfies it). Unknown codes — and GP Connect "Transfer-degraded medication
entry" (196421000000109) lines — are kept, flagged ``unmapped``, and matched by product name
where exactly one VMP (or one VTM) fits; a name match is never silently treated as certain
(``mapping="name"``). STANDARDS.md §7.3 step 1.

The dose is reduced to comparable numbers (§7.3 step 4): administrations per day for regular
doses, the amount per administration, and, where the product strength is known, the amount of
substance per day in base units (mg, ml, unit) so that "2 × 5mg" and "1 × 10mg" agree.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from ipmo.records.canonical import MedItem
from ipmo.terminology.bnf import therapeutic_class
from ipmo.terminology.concept import Concept
from ipmo.terminology.names import NameMatch, normalise_form, parse_product_name, substance_key

TRANSFER_DEGRADED = "196421000000109"
_PER_DAY = {
    "s": 86400.0,
    "min": 1440.0,
    "h": 24.0,
    "d": 1.0,
    "wk": 1 / 7,
    "mo": 1 / 30,
    "a": 1 / 365,
}
_MASS = {
    "g": 1000.0,
    "gram": 1000.0,
    "mg": 1.0,
    "milligram": 1.0,
    "microgram": 0.001,
    "mcg": 0.001,
    "ug": 0.001,
    "nanogram": 1e-6,
}
_VOLUME = {"ml": 1.0, "millilitre": 1.0, "milliliter": 1.0, "l": 1000.0, "litre": 1000.0}
# units that count doses of the product itself: amount × strength gives the substance amount
_PRODUCT_UNITS = {
    "tablet",
    "tablets",
    "capsule",
    "capsules",
    "sachet",
    "sachets",
    "suppository",
    "pessary",
    "patch",
    "lozenge",
    "dose",
    "puff",
    "actuation",
    "spray",
    "drop",
}


class DictionaryLike(Protocol):
    """What reconciliation needs from terminology (pure, in memory)."""

    def lookup(self, code: str) -> Concept | None: ...

    def match_by_name(self, name: str) -> Sequence[NameMatch]: ...


class EmptyDictionary:
    """No terminology: every line is matched by its parsed name only."""

    def lookup(self, code: str) -> Concept | None:
        return None

    def match_by_name(self, name: str) -> list[NameMatch]:
        return []


def _num(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _fmt(value: float) -> str:
    return f"{value:g}"


def summarise_dosage(dosages: list[dict[str, Any]] | None) -> tuple[str | None, float | None, bool]:
    """(amount per administration, regular administrations per day, as needed) of the first
    phase of a structured dose. ``None`` where the dose does not say."""
    if not dosages:
        return None, None, False
    first = min(dosages, key=lambda d: d.get("sequence") or 0)
    amount = None
    for entry in first.get("doseAndRate") or []:
        if entry.get("doseQuantity"):
            q = entry["doseQuantity"]
            v = _num(q.get("value"))
            if v is not None:
                amount = f"{_fmt(v)} {str(q.get('unit') or q.get('code') or '').lower()}".strip()
        elif entry.get("doseRange"):
            r = entry["doseRange"]
            lo, hi = (
                _num((r.get("low") or {}).get("value")),
                _num((r.get("high") or {}).get("value")),
            )
            unit = str((r.get("high") or {}).get("unit") or "").lower()
            if lo is not None and hi is not None:
                amount = f"{_fmt(lo)}-{_fmt(hi)} {unit}".strip()
        if amount:
            break
    as_needed = bool(first.get("asNeededBoolean") or first.get("asNeededCodeableConcept"))
    repeat = (first.get("timing") or {}).get("repeat") or {}
    per_day = None
    freq = _num(repeat.get("frequency")) or _num(repeat.get("frequencyMax"))
    period, period_unit = _num(repeat.get("period")), repeat.get("periodUnit")
    if period and period_unit in _PER_DAY:
        per_day = (freq or 1.0) * _PER_DAY[period_unit] / period
    elif repeat.get("when"):
        per_day = float(len(repeat["when"]))
    elif repeat.get("timeOfDay"):
        per_day = float(len(repeat["timeOfDay"]))
    elif freq and not period:
        per_day = None
    if per_day is not None and repeat.get("dayOfWeek"):
        per_day = per_day * len(repeat["dayOfWeek"]) / 7
    return amount, (round(per_day, 6) if per_day is not None else None), as_needed


def daily_total(
    amount: str | None, per_day: float | None, strength: tuple | None
) -> tuple[float, str] | None:
    """Substance per day in base units, when the dose and (for product units) strength allow."""
    if amount is None or per_day is None or "-" in amount.split(" ")[0]:
        return None
    value_text, _, unit = amount.partition(" ")
    value = float(value_text)
    unit = unit.strip()
    if unit in _MASS:
        return round(value * _MASS[unit] * per_day, 6), "mg"
    if unit in ("unit", "units"):
        return round(value * per_day, 6), "unit"
    if strength and len(strength) >= 2:
        if unit in _PRODUCT_UNITS and len(strength) == 2:
            return round(value * strength[0] * per_day, 6), strength[1]
        if unit in _VOLUME and len(strength) == 4 and strength[3] == "ml" and strength[2]:
            ml = value * _VOLUME[unit]
            return round(ml * strength[0] / strength[2] * per_day, 6), strength[1]
    if unit in _VOLUME:
        return round(value * _VOLUME[unit] * per_day, 6), "ml"
    return None


def name_key(name: str) -> str:
    """Grouping key for a line with no dm+d mapping: the parsed substance, case-folded."""
    parsed = parse_product_name(name)
    return "name:" + substance_key(parsed.substance or name)


def _apply_concept(item: MedItem, concept: Concept, dictionary: DictionaryLike, how: str) -> None:
    item.mapping = how
    level = concept.level
    if level == "VTM":
        item.vtm = concept.id
        item.vtm_name = concept.name
    else:
        item.vmp = concept.vmp_id
        item.vtm = concept.vtm_id
        vmp = dictionary.lookup(concept.vmp_id) if concept.vmp_id else None
        item.vmp_name = vmp.name if vmp else (concept.name if level == "VMP" else None)
        if concept.vtm_id:
            vtm = dictionary.lookup(concept.vtm_id)
            item.vtm_name = vtm.name if vtm else None
        item.form = item.form or concept.form or (vmp.form if vmp else None)
        if not item.route:
            item.route = concept.route or (vmp.route if vmp else None)
        item.bnf_code = concept.bnf_code or (vmp.bnf_code if vmp else None)


_DERIVED = (
    "vmp", "vmp_name", "vtm", "vtm_name", "mapping", "form", "route", "bnf_code", "strength",
    "strength_key", "therapeutic_class", "dose_amount", "per_day", "as_needed", "daily_total",
    "key", "signature",
)  # fmt: skip
_CACHE: dict[tuple, tuple] = {}
_CACHE_MAX = 100_000
# dictionaries whose id() is in a cache key stay referenced, so an id is never reused for another
_CACHE_OWNERS: dict[int, DictionaryLike] = {}


def normalise_item(item: MedItem, dictionary: DictionaryLike) -> MedItem:
    """Fill dm+d levels, mapping, strength, therapeutic class and dose summary (in place).

    Results are memoised per (dictionary, code, name, form, route, dosage): a record read
    re-normalises the same lines over and over, and name matching is the costly part.
    """
    cache_key = (
        id(dictionary),
        item.code,
        item.name,
        item.form,
        item.route,
        json.dumps(item.dosage, sort_keys=True, default=str) if item.dosage else None,
    )
    hit = _CACHE.get(cache_key)
    if hit is not None:
        for attr, value in zip(_DERIVED, hit, strict=True):
            setattr(item, attr, value)
        return item
    _normalise_uncached(item, dictionary)
    if len(_CACHE) >= _CACHE_MAX or len(_CACHE_OWNERS) > 8:
        _CACHE.clear()
        _CACHE_OWNERS.clear()
    _CACHE_OWNERS[id(dictionary)] = dictionary
    _CACHE[cache_key] = tuple(getattr(item, attr) for attr in _DERIVED)
    return item


def _normalise_uncached(item: MedItem, dictionary: DictionaryLike) -> MedItem:
    concept = None
    if item.code and item.code != TRANSFER_DEGRADED:
        concept = dictionary.lookup(item.code)
    if concept is not None:
        how = {"VMP": "vmp", "AMP": "amp", "VTM": "vtm", "VMPP": "vmp", "AMPP": "amp"}.get(
            concept.level, "unmapped"
        )
        _apply_concept(item, concept, dictionary, how)
    else:
        item.mapping = "unmapped"
        matches = dictionary.match_by_name(item.name)
        candidates = [c for c in (dictionary.lookup(m.vmp_id) for m in matches) if c is not None]
        if len(candidates) == 1:
            _apply_concept(item, candidates[0], dictionary, "name")
        elif candidates and len({c.vtm_id for c in candidates}) == 1 and candidates[0].vtm_id:
            # several VMPs fit the name (e.g. a re-coded duplicate): the substance is certain,
            # the product is not, so only the VTM is taken
            first = candidates[0]
            item.mapping = "name-vtm"
            item.vtm = first.vtm_id
            vtm = dictionary.lookup(first.vtm_id) if first.vtm_id else None
            item.vtm_name = vtm.name if vtm else None
            if len({(c.bnf_code, c.form) for c in candidates}) == 1:
                item.bnf_code, item.form = first.bnf_code, item.form or first.form
    label = item.vmp_name or item.name
    parsed = parse_product_name(label)
    if parsed.strengths and len(parsed.strengths) == 1:
        item.strength_key = parsed.strength.key() if parsed.strength else None
        item.strength = str(parsed.strength)
    item.form = item.form or parsed.form or None
    if item.form:
        item.form = normalise_form(item.form)
    item.therapeutic_class = therapeutic_class(item.bnf_code)
    item.dose_amount, item.per_day, item.as_needed = summarise_dosage(item.dosage)
    item.daily_total = daily_total(item.dose_amount, item.per_day, item.strength_key)
    item.key = match_key(item)
    item.signature = (
        item.vmp or item.name.lower(),
        item.form,
        (item.route or "").lower(),
        item.as_needed,
        item.daily_total,
        item.dose_amount,
        item.per_day,
        item.strength_key,
        bool(item.dosage),
    )
    return item


def normalise(items: Iterable[MedItem], dictionary: DictionaryLike | None = None) -> list[MedItem]:
    dictionary = dictionary or EmptyDictionary()
    return [normalise_item(item, dictionary) for item in items]


def match_key(item: MedItem) -> str:
    """Lines with the same key are the same medicine (VTM first: STANDARDS.md §7.3 step 3)."""
    if item.vtm:
        return "vtm:" + item.vtm
    if item.vmp:
        return "vmp:" + item.vmp
    return name_key(item.name)
