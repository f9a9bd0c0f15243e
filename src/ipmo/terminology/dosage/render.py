"""FHIR R4 ``Dosage`` → NHS dose text.

Rules: NHS England *Implementation guide for digital medicines*, pages "Dose to text
translation", "Translation logic – dosage", "Logical display order", "Component part separator"
and "Common principles" (Simplifier ``ukcoreimplementationguideformedicines``), as implemented by
the EPS FHIR API ``$dose-to-text`` (NHSDigital/electronic-prescription-service-api,
``packages/coordinator/src/services/translation/request/dosage.ts``, MIT). The EPS unit tests
(130 vectors, ../shared/fhir/dose_syntax/eps_dose_to_text_vectors.json) are the contract, so the
EPS behaviours are kept: count is prefixed with "take", ``boundsPeriod`` is rendered, and
``patientInstruction`` is appended last (the IG dropped it in Feb 2025; pass
``patient_instruction=False`` for IG-strict text).

The function works on plain JSON dicts (the shape ``Dosage.model_dump()`` gives) so it is fast
and independent of any model library. Anything that cannot be rendered safely raises
:class:`DoseTextError` naming the element and the reason: it never guesses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

Dosage = Mapping[str, Any]


class DoseTextError(ValueError):
    """The dosage cannot be turned into safe text; the message says which element and why."""


# IG "Common principles": time units are pluralised, every other unit is printed as given.
_TIME_UNITS = {"second", "minute", "hour", "day", "week", "month", "year"}
_UCUM_TIME = {
    "s": "second",
    "min": "minute",
    "h": "hour",
    "d": "day",
    "wk": "week",
    "mo": "month",
    "a": "year",
}
# "period = 1 and no frequency" → an adverb (IG "Translation logic – dosage", frequency/period).
_ADVERB = {
    "s": "every second",
    "min": "every minute",
    "h": "hourly",
    "d": "daily",
    "wk": "weekly",
    "mo": "monthly",
    "a": "annually",
}
_DAYS = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}
# FHIR EventTiming with the IG's display rewrites (PHS "once asleep", HS "before sleep", ...).
WHEN_TEXT = {
    "MORN": "in the morning",
    "MORN.early": "early in the morning",
    "MORN.late": "late in the morning",
    "NOON": "at noon",
    "AFT": "in the afternoon",
    "AFT.early": "early in the afternoon",
    "AFT.late": "late in the afternoon",
    "EVE": "in the evening",
    "EVE.early": "early in the evening",
    "EVE.late": "late in the evening",
    "NIGHT": "during the night",  # the IG's own examples (simvastatin, zopiclone)
    "PHS": "once asleep",
    "HS": "before sleep",
    "WAKE": "upon waking",
    "C": "at a meal",
    "CM": "at breakfast",
    "CD": "at lunch",
    "CV": "at dinner",
    "AC": "before a meal",
    "ACM": "before breakfast",
    "ACD": "before lunch",
    "ACV": "before dinner",
    "PC": "after a meal",
    "PCM": "after breakfast",
    "PCD": "after lunch",
    "PCV": "after dinner",
}
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.\d+)?)?$")
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def num(value: Any) -> str:
    """Digits as written: 100 not 1E+2, 0.5 not .5, 2 not 2.0."""
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise DoseTextError(f"{value!r} is not a number") from None
    text = format(d.normalize(), "f")
    return text


def _is_one(value: Any) -> bool:
    return Decimal(str(value)) == 1


def join_list(items: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c" (IG Common principles: lists end with " and ")."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _plural(unit: str, value: Any) -> str:
    return unit + "s" if unit in _TIME_UNITS and not _is_one(value) else unit


def _need(obj: Mapping[str, Any] | None, key: str, path: str) -> Any:
    if obj is None or obj.get(key) is None:
        raise DoseTextError(f"{path}.{key} is missing")
    return obj[key]


def _quantity(q: Mapping[str, Any], path: str) -> tuple[str, str]:
    value = _need(q, "value", path)
    unit = q.get("unit")
    if unit is None:
        raise DoseTextError(f"{path}.unit is missing")
    return num(value), str(unit)


def amount(value: str, unit: str) -> str:
    """A number and its unit. A unit that starts with a digit ("5ml spoonful", "2.5ml
    spoonful") is joined with " x ": "2 x 5ml spoonful", never "2 5ml spoonful", which reads
    as 25 ml (NHS England dose syntax implementation guide; the dm+d unit of measure
    "5ml spoonful" is written this way in NHS dose text)."""
    if unit[:1].isdigit():
        return f"{value} x {unit}"
    return f"{value} {unit}"


def _time_quantity(q: Mapping[str, Any], path: str) -> str:
    value = _need(q, "value", path)
    unit = q.get("unit")
    if unit is None and q.get("code") in _UCUM_TIME:
        unit = _UCUM_TIME[q["code"]]
    if unit is None:
        raise DoseTextError(f"{path}.unit is missing")
    return f"{num(value)} {_plural(str(unit), value)}"


def _display(concept: Mapping[str, Any] | None, path: str) -> str:
    codings = (concept or {}).get("coding") or []
    if not codings:
        text = (concept or {}).get("text")
        if text:
            return str(text)
        raise DoseTextError(f"{path}.coding is missing")
    display = codings[0].get("display")
    if not display:
        raise DoseTextError(f"{path}.coding[0].display is missing")
    return str(display)


def _range(r: Mapping[str, Any], path: str) -> str:
    high = _need(r, "high", path)
    hv, hu = _quantity(high, f"{path}.high")
    low = r.get("low")
    if low is None:
        # NHS England dose syntax implementation guide (doseRange): a range with only a high
        # value is an upper limit, "up to 2 tablet". A low that is present but has no value is
        # still an error (EPS vector "doseRange > missing low value results in an error").
        return "up to " + amount(hv, hu)
    lv = _need(low, "value", f"{path}.low")
    lu = low.get("unit")
    if lu is None or lu == hu:
        return f"{num(lv)} to {amount(hv, hu)}"
    return f"{amount(num(lv), str(lu))} to {amount(hv, hu)}"


def _period_unit(rep: Mapping[str, Any]) -> str:
    unit = rep.get("periodUnit")
    if unit is None:
        raise DoseTextError("Dosage.timing.repeat.periodUnit is missing")
    if unit not in _UCUM_TIME:
        raise DoseTextError(f"Dosage.timing.repeat.periodUnit {unit!r} is not a FHIR UnitsOfTime")
    return _UCUM_TIME[unit]


def _date(value: str, path: str) -> str:
    m = _DATE_RE.match(str(value))
    if not m:
        raise DoseTextError(f"{path} {value!r} is not a date")
    try:
        d = date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise DoseTextError(f"{path} {value!r} is not a valid date") from None
    return d.strftime("%d/%m/%Y")


# ---- the parts, in the IG's logical display order -------------------------------------------


def _dose(dosage: Dosage) -> str | None:
    entries = dosage.get("doseAndRate") or []
    doses: list[str] = []
    for i, entry in enumerate(entries):
        path = f"Dosage.doseAndRate[{i}]"
        if entry.get("doseQuantity") is not None:
            v, u = _quantity(entry["doseQuantity"], f"{path}.doseQuantity")
            doses.append(amount(v, u))
        elif entry.get("doseRange") is not None:
            doses.append(_range(entry["doseRange"], f"{path}.doseRange"))
    if not doses:
        return None
    # IG: methotrexate-style second dose expression in brackets, "2 tablet (5 milligram)".
    return doses[0] + "".join(f" ({d})" for d in doses[1:])


def _rate(dosage: Dosage) -> str | None:
    for i, entry in enumerate(dosage.get("doseAndRate") or []):
        path = f"Dosage.doseAndRate[{i}]"
        if entry.get("rateRatio") is not None:
            ratio = entry["rateRatio"]
            nv, nu = _quantity(_need(ratio, "numerator", f"{path}.rateRatio"), f"{path}.rateRatio")
            den = _need(ratio, "denominator", f"{path}.rateRatio")
            dv, du = _quantity(den, f"{path}.rateRatio.denominator")
            if _is_one(dv):
                return f"at a rate of {amount(nv, nu)} per {du}"
            return f"at a rate of {amount(nv, nu)} every {dv} {_plural(du, dv)}"
        if entry.get("rateRange") is not None:
            return "at a rate of " + _range(entry["rateRange"], f"{path}.rateRange")
        if entry.get("rateQuantity") is not None:
            v, u = _quantity(entry["rateQuantity"], f"{path}.rateQuantity")
            return f"at a rate of {amount(v, u)}"
    return None


def _with_max(rep: Mapping[str, Any], element: str) -> tuple[Any, Any]:
    """``repeat.<element>`` and ``repeat.<element>Max``; a maximum given alone is an error."""
    value, most = rep.get(element), rep.get(f"{element}Max")
    if value is None and most is not None:
        raise DoseTextError(f"Dosage.timing.repeat.{element}Max is given without {element}")
    return value, most


def _duration(rep: Mapping[str, Any]) -> str | None:
    duration, dmax = _with_max(rep, "duration")
    if duration is None:
        return None
    code = rep.get("durationUnit")
    if code not in _UCUM_TIME:
        raise DoseTextError("Dosage.timing.repeat.durationUnit is missing or invalid")
    unit = _UCUM_TIME[code]
    text = f"over {num(duration)} {_plural(unit, duration)}"
    if dmax is not None:
        text += f" (maximum {num(dmax)} {_plural(unit, dmax)})"
    return text


def _period_suffix(rep: Mapping[str, Any]) -> str:
    period, pmax = _with_max(rep, "period")
    if period is None:
        return ""
    unit = _period_unit(rep)
    if pmax is not None:
        return f" every {num(period)} to {num(pmax)} {_plural(unit, pmax)}"
    if _is_one(period):
        return f" {'an' if unit == 'hour' else 'a'} {unit}"
    return f" every {num(period)} {_plural(unit, period)}"


def _frequency(rep: Mapping[str, Any]) -> str | None:
    freq, fmax = rep.get("frequency"), rep.get("frequencyMax")
    period, pmax = _with_max(rep, "period")
    if freq is None and fmax is None:
        if period is None:
            return None
        if not _is_one(period):
            raise DoseTextError(
                "Dosage.timing.repeat.period other than 1 needs a frequency to be unambiguous"
            )
        if pmax is not None:
            raise DoseTextError(
                "Dosage.timing.repeat.periodMax needs a frequency to be unambiguous"
            )
        _period_unit(rep)
        return _ADVERB[rep["periodUnit"]]
    if fmax is None and freq is not None and _is_one(freq):
        # "once", "once a day"; but "every 2 days", not "once every 2 days"
        suffix = _period_suffix(rep)
        return suffix.lstrip() if suffix.startswith(" every ") else "once" + suffix
    if fmax is None and freq is not None and Decimal(str(freq)) == 2:
        return "twice" + _period_suffix(rep)
    if freq is not None and fmax is not None:
        head = f"{num(freq)} to {num(fmax)} times"
    elif freq is not None:
        head = f"{num(freq)} times"
    else:
        head = f"up to {num(fmax)} times"
    return head + _period_suffix(rep)


def _offset_when(rep: Mapping[str, Any]) -> str | None:
    when, offset = rep.get("when") or [], rep.get("offset")
    if not when:
        if offset is not None:
            raise DoseTextError("Dosage.timing.repeat.offset is given without when")
        return None
    texts = []
    for code in when:
        if code not in WHEN_TEXT:
            raise DoseTextError(f"Dosage.timing.repeat.when {code!r} is not a FHIR EventTiming")
        texts.append(WHEN_TEXT[code])
    text = join_list(texts)
    if offset is not None:
        minutes = int(offset)
        if minutes % 1440 == 0:
            value, unit = minutes // 1440, "day"
        elif minutes % 60 == 0:
            value, unit = minutes // 60, "hour"
        else:
            value, unit = minutes, "minute"
        text = f"{value} {_plural(unit, value)} {text}"
    return text


def _days_and_times(rep: Mapping[str, Any]) -> str | None:
    parts = []
    days = rep.get("dayOfWeek") or []
    if days:
        names = []
        for day in days:
            if day not in _DAYS:
                raise DoseTextError(f"Dosage.timing.repeat.dayOfWeek {day!r} is not a day")
            names.append(_DAYS[day])
        parts.append("on " + join_list(names))
    times = rep.get("timeOfDay") or []
    if times:
        shown = []
        for t in times:
            m = _TIME_RE.match(str(t))
            if not m:
                raise DoseTextError(f"Dosage.timing.repeat.timeOfDay {t!r} is not a time")
            shown.append(f"{m[1]}:{m[2]}" + (f":{m[3]}" if m[3] and m[3] != "00" else ""))
        parts.append("at " + join_list(shown))
    return " ".join(parts) or None


def _as_needed(dosage: Dosage) -> str | None:
    if dosage.get("asNeededCodeableConcept") is not None:
        concept = dosage["asNeededCodeableConcept"]
        codings = concept.get("coding") or []
        if not codings:
            if concept.get("text"):
                return f"as required for {concept['text']}"
            raise DoseTextError("Dosage.asNeededCodeableConcept.coding is missing")
        names = []
        for i, coding in enumerate(codings):
            if not coding.get("display"):
                raise DoseTextError(
                    f"Dosage.asNeededCodeableConcept.coding[{i}].display is missing"
                )
            names.append(coding["display"])
        return "as required for " + join_list(names)
    if dosage.get("asNeededBoolean"):
        return "as required"
    return None


def _bounds(rep: Mapping[str, Any]) -> str | None:
    path = "Dosage.timing.repeat"
    if rep.get("boundsDuration") is not None:
        return "for " + _time_quantity(rep["boundsDuration"], f"{path}.boundsDuration")
    if rep.get("boundsRange") is not None:
        r = rep["boundsRange"]
        low, high = r.get("low"), r.get("high")
        if low is None and high is None:
            raise DoseTextError(f"{path}.boundsRange has neither low nor high")
        if low is None:
            return "for up to " + _time_quantity(high, f"{path}.boundsRange.high")
        if high is None:
            return "for at least " + _time_quantity(low, f"{path}.boundsRange.low")
        lv, lu = _quantity(low, f"{path}.boundsRange.low")
        hv, hu = _quantity(high, f"{path}.boundsRange.high")
        if lu == hu:
            return f"for {lv} to {hv} {_plural(hu, high['value'])}"
        return f"for {lv} {_plural(lu, low['value'])} to {hv} {_plural(hu, high['value'])}"
    if rep.get("boundsPeriod") is not None:
        p = rep["boundsPeriod"]
        start, end = p.get("start"), p.get("end")
        if start and end:
            s, e = (
                _date(start, f"{path}.boundsPeriod.start"),
                _date(end, f"{path}.boundsPeriod.end"),
            )
            return f"from {s} to {e}"
        if start:
            return "from " + _date(start, f"{path}.boundsPeriod.start")
        if end:
            return "until " + _date(end, f"{path}.boundsPeriod.end")
        raise DoseTextError(f"{path}.boundsPeriod has neither start nor end")
    return None


def _times(n: Any) -> str:
    if _is_one(n):
        return "once"
    if Decimal(str(n)) == 2:
        return "twice"
    return f"{num(n)} times"


def _count(rep: Mapping[str, Any]) -> str | None:
    count, cmax = _with_max(rep, "count")
    if count is None:
        return None
    if cmax is not None:
        return f"take {num(count)} to {num(cmax)} times"
    return "take " + _times(count)


def _event(timing: Mapping[str, Any]) -> str | None:
    events = timing.get("event") or []
    if not events:
        return None
    return "on " + join_list([_date(e, "Dosage.timing.event") for e in events])


def _max_doses(dosage: Dosage) -> list[str]:
    out = []
    if dosage.get("maxDosePerPeriod") is not None:
        ratio = dosage["maxDosePerPeriod"]
        path = "Dosage.maxDosePerPeriod"
        nv, nu = _quantity(_need(ratio, "numerator", path), f"{path}.numerator")
        den = _need(ratio, "denominator", path)
        dv, du = _quantity(den, f"{path}.denominator")
        out.append(f"up to a maximum of {amount(nv, nu)} in {dv} {_plural(du, den['value'])}")
    if dosage.get("maxDosePerAdministration") is not None:
        v, u = _quantity(dosage["maxDosePerAdministration"], "Dosage.maxDosePerAdministration")
        out.append(f"up to a maximum of {amount(v, u)} per dose")
    if dosage.get("maxDosePerLifetime") is not None:
        v, u = _quantity(dosage["maxDosePerLifetime"], "Dosage.maxDosePerLifetime")
        out.append(f"up to a maximum of {amount(v, u)} for the lifetime of the patient")
    return out


def _additional(dosage: Dosage) -> str | None:
    items = dosage.get("additionalInstruction") or []
    if not items:
        return None
    return join_list(
        [_display(c, f"Dosage.additionalInstruction[{i}]") for i, c in enumerate(items)]
    )


def dosage_to_text(dosage: Dosage, *, patient_instruction: bool = True) -> str:
    """One ``Dosage`` → text, parts in the IG's logical display order separated by " - "."""
    if not isinstance(dosage, Mapping):
        raise DoseTextError("a Dosage must be a JSON object")
    timing = dosage.get("timing") or {}
    rep = timing.get("repeat") or {}
    parts: list[str | None] = []
    steps: list[Callable[[], str | None]] = [
        lambda: _dose(dosage),
        lambda: _rate(dosage),
        lambda: _duration(rep),
        lambda: _frequency(rep),
        lambda: _offset_when(rep),
        lambda: _days_and_times(rep),
        lambda: _display(dosage["route"], "Dosage.route") if dosage.get("route") else None,
        lambda: _display(dosage["site"], "Dosage.site") if dosage.get("site") else None,
        lambda: _as_needed(dosage),
        lambda: _bounds(rep),
        lambda: _count(rep),
        lambda: _event(timing),
    ]
    for step in steps:
        parts.append(step())
    parts.extend(_max_doses(dosage))
    parts.append(_additional(dosage))
    if patient_instruction and dosage.get("patientInstruction"):
        parts.append(str(dosage["patientInstruction"]))
    body = " - ".join(p for p in parts if p)
    if dosage.get("method") is not None:
        # IG "Component part separator": a single space, not " - ", after the method.
        method = _display(dosage["method"], "Dosage.method")
        return f"{method} {body}" if body else method
    return body


def dosages_to_text(dosages: Sequence[Dosage], *, patient_instruction: bool = True) -> str:
    """Several ``Dosage``s: the same ``sequence`` is concurrent (", and "), a higher one follows
    (", then "). With more than one dosage every one must carry a sequence (EPS rule)."""
    if isinstance(dosages, Mapping):
        return dosage_to_text(dosages, patient_instruction=patient_instruction)
    items = list(dosages)
    if not items:
        return ""
    if len(items) == 1:
        return dosage_to_text(items[0], patient_instruction=patient_instruction)
    groups: dict[int, list[str]] = {}
    for i, d in enumerate(items):
        if not isinstance(d, Mapping) or d.get("sequence") is None:
            raise DoseTextError(
                f"Dosage[{i}].sequence is missing: with several dosages each needs a sequence"
            )
        text = dosage_to_text(d, patient_instruction=patient_instruction)
        groups.setdefault(int(d["sequence"]), []).append(text)
    return ", then ".join(", and ".join(groups[k]) for k in sorted(groups))
