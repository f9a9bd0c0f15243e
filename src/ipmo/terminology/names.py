"""Parse dm+d-style product names into substance, strength, form and supplier, and match names.

dm+d names follow the NHSBSA "dm+d Editorial Policy" naming conventions: a VMP is
``<substance(s)> <strength> <form>`` (e.g. "Ramipril 5mg capsules", "Amoxicillin 250mg/5ml oral
suspension sugar free", "Sitagliptin 50mg / Metformin 1g tablets"); an AMP description adds the
supplier in brackets ("Ramipril 5mg capsules (A A H Pharmaceuticals Ltd)"); a branded AMP puts the
brand where the substance is ("Tritace 5mg capsules (Sanofi)"). Legacy items and prescribing data
use abbreviations ("RAMIPRIL 5MG CAPS", BNF "Bendroflumethiazide_Tab 2.5mg"), which
:func:`normalise_form` maps back to dm+d form words so :class:`NameIndex` can match them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

_NUM = r"\d+(?:[.,]\d+)?"
_UNIT = (
    r"(?:million\s?units|micrograms?|microgram|mcg|nanograms?|ng|mg|grams?|g|kg|ml|mL|litres?|"
    r"units?|iu|IU|mmol|micromol|kBq|MBq|doses?|%|mega\s?units)"
)
_PER = r"(?:hours?|hrs?|h|day|24hours|72hours|actuation|application|spray|drop|vial|sachet)"
_STRENGTH = re.compile(
    rf"(?<![\w.])(?P<nv>{_NUM})\s?(?P<nu>{_UNIT})"
    rf"(?:\s?/\s?(?:(?P<dv>{_NUM})\s?)?(?P<du>{_UNIT}|{_PER}|\d+\s?{_PER}))?(?![\w])",
    re.IGNORECASE,
)
_COMPANY = re.compile(r"\b(?:ltd|limited|plc|pharma\w*|healthcare|inc|gmbh|uk)\b", re.I)
_SEMANTIC_TAG = re.compile(r"\s*\((?:product|clinical drug|medicinal product)\)\s*$", re.I)

_MASS_TO_MG = {
    "g": 1000.0,
    "gram": 1000.0,
    "grams": 1000.0,
    "kg": 1e6,
    "mg": 1.0,
    "microgram": 1e-3,
    "micrograms": 1e-3,
    "mcg": 1e-3,
    "nanogram": 1e-6,
    "nanograms": 1e-6,
    "ng": 1e-6,
}
_VOLUME_TO_ML = {"ml": 1.0, "litre": 1000.0, "litres": 1000.0}

# Abbreviations met in legacy systems and in BNF presentation names (EPD), mapped to the dm+d
# form words (NHSBSA dm+d Editorial Policy, "Dose form" naming).
_FORM_WORDS = {
    "tab": "tablets",
    "tabs": "tablets",
    "tablet": "tablets",
    "cap": "capsules",
    "caps": "capsules",
    "capsule": "capsules",
    "e/c": "gastro-resistant",
    "ec": "gastro-resistant",
    "g/r": "gastro-resistant",
    "m/r": "modified-release",
    "mr": "modified-release",
    "s/r": "modified-release",
    "sr": "modified-release",
    "xl": "modified-release",
    "s/f": "sugar free",
    "soln": "solution",
    "susp": "suspension",
    "inj": "injection",
    "oint": "ointment",
    "crm": "cream",
    "supps": "suppositories",
    "supp": "suppositories",
    "suppository": "suppositories",
    "pessary": "pessaries",
    "patch": "patches",
    "disp": "dispersible",
    "dispers": "dispersible",
    "orodisp": "orodispersible",
    "chew": "chewable",
    "eff": "effervescent",
    "gran": "granules",
    "inh": "inhaler",
    "neb": "nebuliser",
    "liq": "liquid",
    "oral": "oral",
    "drop": "drops",
    "eye": "eye",
    "ear": "ear",
}
_LOOSE_SYNONYMS = {"solution": "liquid", "suspension": "liquid", "caplets": "tablets"}
_FORM_FILLER = {
    "oral",
    "and",
    "for",
    "in",
    "the",
    "pack",
    "packs",
    "pre-filled",
    "vials",
    "ampoules",
    "syringes",
    "disposable",
    "devices",
    "bottle",
    "of",
}
_SALTS = {
    "sodium",
    "potassium",
    "calcium",
    "magnesium",
    "hydrochloride",
    "hydrobromide",
    "maleate",
    "besilate",
    "besylate",
    "mesilate",
    "mesylate",
    "fumarate",
    "succinate",
    "tartrate",
    "sulfate",
    "sulphate",
    "phosphate",
    "acetate",
    "citrate",
    "bromide",
    "chloride",
    "dihydrochloride",
    "monohydrate",
    "dihydrate",
    "trihydrate",
    "hyclate",
    "axetil",
    "medoxomil",
    "disodium",
    "dipropionate",
    "propionate",
    "valerate",
    "furoate",
    "xinafoate",
    "nitrate",
    "pivoxil",
    "lysine",
    "arginine",
    "erbumine",
    "tosilate",
    "hemihydrate",
    "anhydrous",
}


@dataclass(frozen=True, slots=True)
class Strength:
    """One ingredient's strength, as dm+d's VPI numerator/denominator (value, unit)."""

    num_value: float
    num_unit: str
    den_value: float | None = None
    den_unit: str | None = None

    def key(self, *, concentration: bool = False) -> tuple:
        """Canonical form for comparison: masses in mg, volumes in ml, units lower-case.
        ``concentration`` compares per one denominator unit (100mg/5ml == 20mg/ml)."""
        nv, nu = _canon(self.num_value, self.num_unit)
        if self.den_unit is None:
            return (nv, nu)
        dv, du = _canon(self.den_value if self.den_value is not None else 1.0, self.den_unit)
        if concentration and dv:
            return (round(nv / dv, 9), nu, 1.0, du)
        return (nv, nu, dv, du)

    def __str__(self) -> str:
        text = f"{_fmt(self.num_value)}{self.num_unit}"
        if self.den_unit:
            dv = "" if self.den_value in (None, 1.0) else _fmt(self.den_value)
            text += f"/{dv}{self.den_unit}"
        return text


def _fmt(v: float | None) -> str:
    return "" if v is None else (f"{v:g}")


def _canon(value: float, unit: str) -> tuple[float, str]:
    u = re.sub(r"\s+", "", unit.lower())
    if u in _MASS_TO_MG:
        return round(value * _MASS_TO_MG[u], 9), "mg"
    if u in _VOLUME_TO_ML:
        return round(value * _VOLUME_TO_ML[u], 9), "ml"
    if u in ("unit", "units", "iu", "u"):
        return value, "unit"
    if u in ("dose", "doses", "actuation", "spray"):
        return value, "dose"
    return value, u


@dataclass(frozen=True, slots=True)
class ParsedName:
    """The parts of a product name. ``substance`` joins several ingredients with " + " (the dm+d
    VTM convention, e.g. "Sitagliptin + Metformin")."""

    text: str
    substance: str
    strengths: tuple[Strength, ...]
    form: str
    supplier: str | None

    @property
    def strength(self) -> Strength | None:
        return self.strengths[0] if self.strengths else None

    @property
    def generic_name(self) -> str:
        """The name without the supplier: for a generic AMP this is its VMP's name."""
        return self.text

    def key(self, *, loose: bool = False) -> tuple:
        return (
            substance_key(self.substance, loose=loose),
            tuple(s.key(concentration=loose) for s in self.strengths),
            normalise_form(self.form, loose=loose),
        )


def _split_supplier(text: str) -> tuple[str, str | None]:
    if not text.endswith(")"):
        return text, None
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        if text[i] == ")":
            depth += 1
        elif text[i] == "(":
            depth -= 1
            if depth == 0:
                inner = text[i + 1 : -1].strip()
                head = text[:i].rstrip()
                if (
                    head
                    and inner
                    and (inner[0].isupper() or inner[0].isdigit() or _COMPANY.search(inner))
                    and not _STRENGTH.search(inner)
                ):
                    return head, inner
                return text, None
    return text, None


def _bnf_style(text: str) -> str:
    """ "Bendroflumethiazide_Tab 2.5mg" → "Bendroflumethiazide 2.5mg Tab" (EPD/BNF names put the
    form after an underscore and the strength last)."""
    if "_" not in text:
        return text
    substance, rest = text.split("_", 1)
    m = _STRENGTH.search(rest)
    if not m:
        return f"{substance} {rest}"
    form = (rest[: m.start()] + " " + rest[m.end() :]).strip()
    return f"{substance} {m.group(0)} {form}".strip()


def _strength(m: re.Match) -> Strength:
    def num(s: str | None) -> float | None:
        return float(s.replace(",", ".")) if s else None

    du = m.group("du")
    dv = num(m.group("dv"))
    if du:
        dm = re.match(rf"({_NUM})\s?(\D+)", du)
        if dm and dv is None:
            dv, du = float(dm.group(1)), dm.group(2)
    return Strength(num(m.group("nv")) or 0.0, m.group("nu").lower(), dv, du.lower() if du else du)


def parse_product_name(name: str) -> ParsedName:
    """Split a product name into substance, strength(s), form and supplier.

    >>> p = parse_product_name("Ramipril 5mg capsules (A A H Pharmaceuticals Ltd)")
    >>> (p.substance, str(p.strength), p.form, p.supplier)
    ('Ramipril', '5mg', 'capsules', 'A A H Pharmaceuticals Ltd')
    """
    text = re.sub(r"\s+", " ", name).strip()
    text = _SEMANTIC_TAG.sub("", text)
    text, supplier = _split_supplier(text)
    text = _bnf_style(text)
    substances: list[str] = []
    strengths: list[Strength] = []
    form = ""
    parts = re.split(r"\s+/\s+|\s+\+\s+", text)
    for idx, part in enumerate(parts):
        matches = list(_STRENGTH.finditer(part))
        if not matches:
            substances.append(part)
            continue
        first = matches[0]
        # Only the run of strengths right after the substance counts ("… 100units/ml suspension
        # for injection 3ml pre-filled …": the 3ml is a pack volume in the form text).
        run = [first]
        for m in matches[1:]:
            if part[run[-1].end() : m.start()].strip(" ,"):
                break
            run.append(m)
        matches = run
        head = part[: first.start()].strip()
        if head:
            substances.append(head)
        # "10mg/160mg" is two ingredients' strengths written together (mass / mass).
        for m in matches:
            s = _strength(m)
            if s.den_unit and _canon(1, s.den_unit)[1] == "mg" and _canon(1, s.num_unit)[1] == "mg":
                strengths.append(Strength(s.num_value, s.num_unit))
                strengths.append(Strength(s.den_value or 0.0, s.den_unit))
            else:
                strengths.append(s)
        if idx == len(parts) - 1:
            form = part[matches[-1].end() :].strip()
    if not strengths and substances:
        # No strength ("Generic Nutrison liquid", "Aqueous cream"): the form is the known form
        # words at the end of the name.
        words = substances[-1].split(" ")
        cut = len(words)
        while cut > 1 and _is_form_word(words[cut - 1]):
            cut -= 1
        substances[-1] = " ".join(words[:cut])
        form = " ".join(words[cut:])
    substance = " + ".join(s.strip(" ,") for s in substances if s.strip(" ,"))
    return ParsedName(
        text=text,
        substance=substance,
        strengths=tuple(strengths),
        form=form,
        supplier=supplier,
    )


_FORM_VOCAB = {
    "tablets",
    "capsules",
    "solution",
    "suspension",
    "liquid",
    "cream",
    "ointment",
    "gel",
    "drops",
    "spray",
    "inhaler",
    "injection",
    "infusion",
    "suppositories",
    "pessaries",
    "patches",
    "granules",
    "powder",
    "lotion",
    "shampoo",
    "foam",
    "enema",
    "paste",
    "emulsion",
    "syrup",
    "elixir",
    "linctus",
    "mixture",
    "lozenges",
    "pastilles",
    "sachets",
    "oral",
    "eye",
    "ear",
    "nasal",
    "chewable",
    "dispersible",
    "effervescent",
    "soluble",
    "orodispersible",
    "modified-release",
    "gastro-resistant",
    "sugar",
    "free",
    "preservative",
    "vials",
    "ampoules",
    "nebuliser",
    "inhalation",
    "for",
    "pre-filled",
    "syringes",
    "pens",
    "cartridges",
    "bags",
}


def _is_form_word(word: str) -> bool:
    w = word.lower()
    return w in _FORM_VOCAB or _FORM_WORDS.get(w, "") in _FORM_VOCAB


def normalise_form(form: str, *, loose: bool = False) -> str:
    """Canonical form text: lower case, abbreviations expanded ("e/c tab" → "gastro-resistant
    tablets"). ``loose`` keeps only the head words (drops packaging and "oral" fillers)."""
    words = []
    for raw in re.split(r"[\s,]+", form.lower()):
        if not raw:
            continue
        words.extend(_FORM_WORDS.get(raw, raw).split(" "))
    if loose:
        # Special-order oral solutions/suspensions map to dm+d "oral liquid" VMPs; caplets are
        # tablets; for injections the vehicle word adds nothing.
        words = [_LOOSE_SYNONYMS.get(w, w) for w in words if w not in _FORM_FILLER]
        if "injection" in words or "infusion" in words:
            words = [w for w in words if w != "liquid"]
    return " ".join(words)


def substance_key(substance: str, *, loose: bool = False) -> str:
    """Lower-case substance; ``loose`` also drops salts ("Levothyroxine sodium" → "levothyroxine")
    and the "generic" prefix."""
    words = re.split(r"[\s]+", substance.lower().strip())
    if loose:
        words = [w for w in words if w not in _SALTS and w != "generic"]
    return " ".join(w for w in words if w)


def normalise_name(name: str) -> str:
    """Case- and space-insensitive name without semantic tag or supplier, for exact matching."""
    text = _SEMANTIC_TAG.sub("", re.sub(r"\s+", " ", name).strip())
    return _split_supplier(text)[0].lower()


@dataclass(frozen=True, slots=True)
class NameMatch:
    vmp_id: str
    name: str
    how: str  # "exact" | "parsed" | "loose"


class NameIndex:
    """Finds VMPs by name. Built from ``(vmp_id, name)`` pairs; pure, no database."""

    def __init__(self, vmps: Iterable[tuple[str, str]]) -> None:
        self._names: dict[str, str] = {}
        self._exact: dict[str, list[str]] = defaultdict(list)
        self._parsed: dict[tuple, list[str]] = defaultdict(list)
        self._loose: dict[tuple, list[str]] = defaultdict(list)
        self._no_form: dict[tuple, list[str]] = defaultdict(list)
        for vmp_id, name in vmps:
            if not name:
                continue
            self._names[vmp_id] = name
            self._exact[normalise_name(name)].append(vmp_id)
            p = parse_product_name(name)
            if p.strengths:
                self._parsed[p.key()].append(vmp_id)
                loose = p.key(loose=True)
                self._loose[loose].append(vmp_id)
                self._no_form[loose[:2]].append(vmp_id)

    def match(self, name: str) -> list[NameMatch]:
        """VMPs whose name matches ``name``, best tier only (exact > parsed > loose)."""
        tiers: list[tuple[str, list[str]]] = [("exact", self._exact.get(normalise_name(name), []))]
        p = parse_product_name(name)
        if p.strengths:
            tiers.append(("parsed", self._parsed.get(p.key(), [])))
            loose = p.key(loose=True)
            tiers.append(("loose", self._loose.get(loose, [])))
            if not loose[2]:
                tiers.append(("loose", self._no_form.get(loose[:2], [])))
        for how, ids in tiers:
            if ids:
                return [NameMatch(i, self._names[i], how) for i in dict.fromkeys(ids)]
        return []


def match_by_name(name: str, index: NameIndex) -> list[NameMatch]:
    """Candidate VMPs for a free-text or AMP name (see :class:`NameIndex`)."""
    return index.match(name)
