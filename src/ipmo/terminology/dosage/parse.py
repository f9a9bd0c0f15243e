"""Common free-text dose instructions → structured FHIR R4 ``Dosage`` (only where unambiguous).

GP systems still send most dosage as ``dosage.text`` only (GP Connect Access Record: Structured
medication guidance; STANDARDS.md §5), so reconciliation needs a structured reading of phrases
like "1 tablet twice a day", "take two capsules at night" or "5ml three times daily when
required". The reader is deliberately small: it recognises a dose, a frequency, times of day, a
route, "as required", a duration and a 24-hour maximum, in any order, and refuses (raising
:class:`DoseParseError`) as soon as any word is left over, appears twice, or implies a sequence
("then"). A wrong structured dose is worse than text, so unknown wording is never guessed.

The output uses the same words the renderer (:mod:`.render`) prints, so rendering a parsed dose
and reading a rendered dose both round-trip (tested with Hypothesis).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any


class DoseParseError(ValueError):
    """The text is not a dose instruction this reader can structure without guessing."""


SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"

# canonical unit → (system, code); dose-form units are SNOMED (dm+d UoM), SI units are UCUM.
UNITS: dict[str, tuple[str, str] | None] = {
    "tablet": (SNOMED, "428673006"),
    "capsule": (SNOMED, "428641000"),
    "millilitre": (UCUM, "mL"),
    "milligram": (UCUM, "mg"),
    "microgram": (UCUM, "ug"),
    "gram": (UCUM, "g"),
    "puff": None,
    "drop": None,
    "sachet": None,
    "patch": None,
    "suppository": None,
    "pessary": None,
    "spray": None,
    "unit": None,
}
_UNIT_WORDS = {
    "tablet": "tablet",
    "tablets": "tablet",
    "tab": "tablet",
    "tabs": "tablet",
    "capsule": "capsule",
    "capsules": "capsule",
    "cap": "capsule",
    "caps": "capsule",
    "ml": "millilitre",
    "mls": "millilitre",
    "millilitre": "millilitre",
    "millilitres": "millilitre",
    "milliliter": "millilitre",
    "milliliters": "millilitre",
    "mg": "milligram",
    "milligram": "milligram",
    "milligrams": "milligram",
    "mcg": "microgram",
    "microgram": "microgram",
    "micrograms": "microgram",
    "g": "gram",
    "gram": "gram",
    "grams": "gram",
    "puff": "puff",
    "puffs": "puff",
    "drop": "drop",
    "drops": "drop",
    "sachet": "sachet",
    "sachets": "sachet",
    "patch": "patch",
    "patches": "patch",
    "suppository": "suppository",
    "suppositories": "suppository",
    "pessary": "pessary",
    "pessaries": "pessary",
    "spray": "spray",
    "sprays": "spray",
    "unit": "unit",
    "units": "unit",
}
_NUMBER_WORDS = {
    "half": 0.5,
    "half a": 0.5,
    "a half": 0.5,
    "one": 1,
    "a": 1,
    "an": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
_TIME_UNIT = {
    "minute": "min",
    "hour": "h",
    "day": "d",
    "week": "wk",
    "month": "mo",
    "year": "a",
}
_TIME_NAME = {v: k for k, v in _TIME_UNIT.items()}
_ADVERBS = {
    "hourly": "h",
    "daily": "d",
    "weekly": "wk",
    "monthly": "mo",
    "annually": "a",
    "yearly": "a",
}
# (regex, EventTiming) — the renderer's wording first, then common clinical shorthand.
_WHEN = [
    (r"early in the morning", "MORN.early"),
    (r"late in the morning", "MORN.late"),
    (r"in the morning|each morning|every morning|mane", "MORN"),
    (r"at noon|at midday", "NOON"),
    (r"early in the afternoon", "AFT.early"),
    (r"late in the afternoon", "AFT.late"),
    (r"in the afternoon", "AFT"),
    (r"early in the evening", "EVE.early"),
    (r"late in the evening", "EVE.late"),
    (r"in the evening|each evening|every evening", "EVE"),
    (r"during the night|at night|each night|every night|nocte", "NIGHT"),
    (r"once asleep", "PHS"),
    (r"before sleep|before bed|at bedtime", "HS"),
    (r"upon waking|on waking", "WAKE"),
    (r"at a meal|with food|with meals|with a meal", "C"),
    (r"at breakfast|with breakfast", "CM"),
    (r"at lunch|with lunch", "CD"),
    (r"at dinner|with dinner|with the evening meal", "CV"),
    (r"before a meal|before food|before meals", "AC"),
    (r"before breakfast", "ACM"),
    (r"before lunch", "ACD"),
    (r"before dinner", "ACV"),
    (r"after a meal|after food|after meals", "PC"),
    (r"after breakfast", "PCM"),
    (r"after lunch", "PCD"),
    (r"after dinner", "PCV"),
]
_WHEN_ALT = "|".join(f"(?:{pattern})" for pattern, _ in _WHEN)
_ROUTES = {
    "oral": ("26643006", "oral"),
    "orally": ("26643006", "oral"),
    "by mouth": ("26643006", "oral"),
    "oral route": ("26643006", "oral"),
    "subcutaneous": ("34206005", "subcutaneous route"),
    "subcutaneous route": ("34206005", "subcutaneous route"),
    "subcutaneously": ("34206005", "subcutaneous route"),
    "inhaled": ("18679011000001101", "inhalation"),
    "inhalation": ("18679011000001101", "inhalation"),
    "topical": ("6064005", "topical route"),
    "topical route": ("6064005", "topical route"),
}
_ABBREVIATIONS = {
    r"\bo\.?d\.?\b": "once a day",
    r"\bb\.?d\.?\b": "twice a day",
    r"\bb\.?i\.?d\.?\b": "twice a day",
    r"\bt\.?d\.?s\.?\b": "3 times a day",
    r"\bt\.?i\.?d\.?\b": "3 times a day",
    r"\bq\.?d\.?s\.?\b": "4 times a day",
    r"\bq\.?i\.?d\.?\b": "4 times a day",
    r"\bp\.?r\.?n\.?\b": "as required",
}
_NUM = r"(?:\d+(?:\.\d+)?|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")"
_UNIT = "|".join(sorted(_UNIT_WORDS, key=len, reverse=True))
_PER = r"(?:a|an|per|each|every)"
_TUNIT = r"(minute|hour|day|week|month|year)s?"
# words that end an "as required for <reason>" phrase because another part starts there
_STOP = r"for|up|max|maximum|every|daily|once|twice|at|in|with|before|after|and|then|take"
_REASON_WORD = rf"(?:(?!(?:{_STOP})\b)[a-z']+)"


def _number(word: str) -> int | float:
    word = word.strip()
    value = _NUMBER_WORDS.get(word)
    if value is None:
        value = float(word)
    return int(value) if float(value).is_integer() else float(value)


def _quantity(value: int | float, unit_word: str) -> dict[str, Any]:
    unit = _UNIT_WORDS[unit_word]
    q: dict[str, Any] = {"value": value, "unit": unit}
    coded = UNITS.get(unit)
    if coded:
        q["system"], q["code"] = coded
    return q


def _duration(value: int | float, unit_name: str) -> dict[str, Any]:
    code = _TIME_UNIT[unit_name]
    return {"value": value, "unit": unit_name, "system": UCUM, "code": code}


class _Reader:
    """Consumes recognised phrases from the front of the text, filling one Dosage."""

    def __init__(self, text: str) -> None:
        self.rest = text
        self.dosage: dict[str, Any] = {}
        self.repeat: dict[str, Any] = {}

    def take(self, pattern: str) -> re.Match[str] | None:
        m = re.match(rf"(?:{pattern})(?=$|[\s,.;-])", self.rest)
        if m:
            self.rest = self.rest[m.end() :].lstrip(" ,;.-")
            self.rest = re.sub(r"^(?:and|&)\s+", "", self.rest)
        return m

    def once(self, key: str, holder: dict[str, Any]) -> None:
        if key in holder:
            raise DoseParseError(f"the instruction gives the {key} twice")

    def step(self) -> bool:
        rest_before = self.rest
        for consume in (
            self._verb,
            self._dose,
            self._frequency,
            self._when,
            self._route,
            self._as_needed,
            self._bounds,
            self._maximum,
        ):
            if consume():
                return True
        return self.rest != rest_before

    def _verb(self) -> bool:
        return bool(self.take(r"take|apply|use|inhale|instil|insert|give|to be taken"))

    def _dose(self) -> bool:
        m = self.take(rf"({_NUM})\s*(?:to|-|or)\s*({_NUM})\s*(?:x\s*)?({_UNIT})")
        if m:
            self.once("doseAndRate", self.dosage)
            low, high = _number(m[1]), _number(m[2])
            if low >= high:
                raise DoseParseError("a dose range must run from low to high")
            rng = {"low": _quantity(low, m[3]), "high": _quantity(high, m[3])}
            self.dosage["doseAndRate"] = [{"doseRange": rng}]
            return True
        m = self.take(rf"({_NUM})\s*(?:x\s*)?({_UNIT})")
        if m:
            self.once("doseAndRate", self.dosage)
            value = _number(m[1])
            if value <= 0:
                raise DoseParseError("a dose must be more than zero")
            self.dosage["doseAndRate"] = [{"doseQuantity": _quantity(value, m[2])}]
            return True
        return False

    def _set_frequency(self, **values: Any) -> None:
        for key in ("frequency", "frequencyMax", "period"):
            self.once(key, self.repeat)
        self.repeat.update({k: v for k, v in values.items() if v is not None})

    def _frequency(self) -> bool:
        m = self.take(rf"every\s+({_NUM})\s+to\s+({_NUM})\s+{_TUNIT}")
        if m:
            self._set_frequency(
                frequency=1,
                period=_number(m[1]),
                periodMax=_number(m[2]),
                periodUnit=_TIME_UNIT[m[3]],
            )
            return True
        m = self.take(rf"every\s+({_NUM})\s+{_TUNIT}")
        if m:
            self._set_frequency(frequency=1, period=_number(m[1]), periodUnit=_TIME_UNIT[m[2]])
            return True
        m = self.take(
            rf"(?:(up to)\s+)?(once|twice|({_NUM})(?:\s+to\s+({_NUM}))?\s+times)"
            rf"(?:\s+(?:{_PER}\s+{_TUNIT}|(daily|weekly|hourly)|every\s+({_NUM})\s+{_TUNIT}))?"
        )
        if m:
            freq: float | None = 1 if m[2] == "once" else 2 if m[2] == "twice" else _number(m[3])
            fmax: float | None = _number(m[4]) if m[4] else None
            if m[1]:
                if fmax is not None:
                    raise DoseParseError("'up to' with a frequency range is ambiguous")
                freq, fmax = None, freq
            period: float | None = None
            unit: str | None = None
            if m[5]:
                period, unit = 1, _TIME_UNIT[m[5]]
            elif m[6]:
                period, unit = 1, _ADVERBS[m[6]]
            elif m[7]:
                period, unit = _number(m[7]), _TIME_UNIT[m[8]]
            self._set_frequency(frequency=freq, frequencyMax=fmax, period=period, periodUnit=unit)
            return True
        m = self.take(r"(hourly|daily|weekly|monthly|annually|yearly|every day|each day)")
        if m:
            unit = _ADVERBS.get(m[1], "d")
            self._set_frequency(period=1, periodUnit=unit)
            return True
        return False

    def _when(self) -> bool:
        m = self.take(
            rf"(?:({_NUM})\s+{_TUNIT}\s+)?((?:{_WHEN_ALT})(?:(?:,\s*|\s+and\s+)(?:{_WHEN_ALT}))*)"
        )
        if not m:
            return False
        self.once("when", self.repeat)
        codes = []
        for phrase in re.split(r",\s*|\s+and\s+", m[3]):
            code = next(c for p, c in _WHEN if re.fullmatch(p, phrase))
            codes.append(code)
        if len(set(codes)) != len(codes):
            raise DoseParseError("the same time of day is given twice")
        self.repeat["when"] = codes
        if m[1]:
            minutes = _number(m[1]) * {"min": 1, "h": 60, "d": 1440}.get(_TIME_UNIT[m[2]], 0)
            if not minutes:
                raise DoseParseError("an offset must be in minutes, hours or days")
            self.repeat["offset"] = int(minutes)
        return True

    def _field(
        self, pattern: str, key: str, holder: dict[str, Any], value: Callable[[re.Match[str]], Any]
    ) -> bool:
        """Take ``pattern``; when it matches, ``holder[key]`` (given once only) is ``value(m)``."""
        m = self.take(pattern)
        if not m:
            return False
        self.once(key, holder)
        holder[key] = value(m)
        return True

    def _route(self) -> bool:
        pattern = "|".join(sorted(_ROUTES, key=len, reverse=True))
        return self._field(rf"({pattern})", "route", self.dosage, _route_coding)

    def _as_needed(self) -> bool:
        m = self.take(
            rf"(?:as|when|if)\s+(?:required|needed|necessary)(?:\s+for\s+({_REASON_WORD}"
            rf"(?:\s+{_REASON_WORD})*))?"
        )
        if not m:
            return False
        if "asNeededBoolean" in self.dosage or "asNeededCodeableConcept" in self.dosage:
            raise DoseParseError("'as required' is given twice")
        reason = (m[1] or "").strip()
        if reason:
            self.dosage["asNeededCodeableConcept"] = {"text": reason}
        else:
            self.dosage["asNeededBoolean"] = True
        return True

    def _bounds(self) -> bool:
        return self._field(
            rf"for\s+({_NUM})\s+{_TUNIT}",
            "boundsDuration",
            self.repeat,
            lambda m: _duration(_number(m[1]), m[2]),
        )

    def _maximum(self) -> bool:
        return self._field(
            rf"(?:up to\s+)?(?:a\s+)?max(?:imum)?(?:\s+of)?\s+({_NUM})\s*({_UNIT})"
            rf"\s+(?:in|per)\s+({_NUM})\s+{_TUNIT}",
            "maxDosePerPeriod",
            self.dosage,
            _max_per_period,
        )


def _route_coding(m: re.Match[str]) -> dict[str, Any]:
    code, display = _ROUTES[m[1]]
    return {"coding": [{"system": SNOMED, "code": code, "display": display}]}


def _max_per_period(m: re.Match[str]) -> dict[str, Any]:
    den = _duration(_number(m[3]), m[4])
    return {"numerator": _quantity(_number(m[1]), m[2]), "denominator": den}


def _normalise(text: str) -> str:
    out = " ".join(text.lower().replace("\u2013", "-").split())
    for pattern, replacement in _ABBREVIATIONS.items():
        out = re.sub(pattern, replacement, out)
    # "5ml" → "5 ml", "1x" → "1 x"
    out = re.sub(r"(\d)(?=[a-z])", r"\1 ", out)
    return out.strip(" .")


def parse_dose_text(text: str, *, keep_text: bool = True) -> dict[str, Any]:
    """Read a free-text instruction as a FHIR R4 ``Dosage`` dict, or raise :class:`DoseParseError`.

    >>> parse_dose_text("1 tablet twice a day", keep_text=False)["timing"]
    {'repeat': {'frequency': 2, 'period': 1, 'periodUnit': 'd'}}
    """
    if not isinstance(text, str) or not text.strip():
        raise DoseParseError("there is no dose text")
    normal = _normalise(text)
    if re.search(r"\bthen\b|\bor\b(?!\s*\d)", normal) and not re.search(
        rf"{_NUM}\s+or\s+{_NUM}", normal
    ):
        raise DoseParseError("a sequence or alternative ('then', 'or') cannot be structured safely")
    reader = _Reader(normal)
    while reader.rest:
        if not reader.step():
            word = reader.rest.split()[0]
            raise DoseParseError(f"cannot read {word!r} in the dose text")
    dosage = reader.dosage
    as_needed = "asNeededBoolean" in dosage or "asNeededCodeableConcept" in dosage
    if not dosage.get("doseAndRate") and not reader.repeat and not as_needed:
        raise DoseParseError("no dose or timing found in the text")
    if reader.repeat:
        dosage["timing"] = {"repeat": reader.repeat}
    if keep_text:
        dosage = {"text": text.strip(), **dosage}
    return dosage
