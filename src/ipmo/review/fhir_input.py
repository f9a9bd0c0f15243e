"""Read a patient's FHIR R4 bundle(s) into ``PatientFacts`` for ``ipmo review check``.

Parsed with ``fhir.resources.R4B`` (never the R5 default). What is read:
- ``Patient``: birthDate, gender.
- ``MedicationRequest`` (authoredOn), ``MedicationDispense`` (whenHandedOver/whenPrepared),
  ``MedicationStatement`` (effective[x], dateAsserted): the dm+d code (system
  ``https://dmd.nhs.uk`` or ``http://snomed.info/sct``) and name of ``medicationCodeableConcept``
  or of the referenced/contained ``Medication``; ``dosageInstruction``/``dosage`` text.
- ``Condition`` (onset/recordedDate; abatement or clinicalStatus resolved/inactive),
  ``Procedure`` (performed — e.g. a structured medication review code).
- ``Observation``: SNOMED CT or LOINC code, valueQuantity (value, unit, comparator), effective[x].

Bad input (documented behaviour, never a crash):
- unknown codes are kept; they simply match no rule; unrecognised medicines are listed in warnings;
- an observation without a unit is read in the canonical unit of its kind (``units.py``); one with
  an unknown unit keeps "test done" but no usable value; comparators ("<1", ">90") are kept and
  handled by the rules (``expr.LabLatest``);
- a medication without any date is ignored (with a warning), except an *active*
  MedicationStatement, which is taken as current on the as-of date; an undated observation is
  ignored (with a warning); an undated condition counts as long-standing (``facts.UNDATED``);
- input that is not JSON, not a FHIR resource, or fails R4 validation raises ``BundleError``.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ipmo.review.codelists import codes
from ipmo.review.facts import Event, Issue, Obs, PatientFacts
from ipmo.review.products import product_info
from ipmo.review.units import normalise

DMD_SYSTEMS = {
    "https://dmd.nhs.uk",
    "http://snomed.info/sct",
    "https://fhir.nhs.uk/Id/dmd",
    "http://snomed.info/sct/999000011000001104",
}
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
#: code set -> observation kind (the store's vocabulary)
KIND_OF_SET = {
    "pincer_egfr": "egfr",
    "creatinine": "creatinine",
    "crcl": "crcl",
    "potassium": "potassium",
    "sodium": "sodium",
    "weight": "weight",
    "pincer_fbc": "fbc",
    "pincer_lft": "lft",
    "pincer_tft": "tft",
    "pincer_lith_lev": "lithium",
    "smr": "smr",
    "falls": "fall",
    "efi": "frailty_score",
}
#: well-known codes outside the shipped sets (LOINC and SNOMED vital signs)
KIND_OF_CODE = {
    "33914-3": "egfr",
    "62238-1": "egfr",
    "69405-9": "egfr",
    "2160-0": "creatinine",
    "14682-9": "creatinine",
    "2823-3": "potassium",
    "6298-4": "potassium",
    "2951-2": "sodium",
    "29463-7": "weight",
    "3141-9": "weight",
    "8867-4": "heart_rate",
    "8480-6": "bp_systolic",
    "27113001": "weight",
    "364075005": "heart_rate",
    "78564009": "heart_rate",
    "271649006": "bp_systolic",
    "72313002": "bp_systolic",
}


class BundleError(ValueError):
    """Structurally invalid input; the message is one readable line."""


def _kind(code: str) -> str:
    if code in KIND_OF_CODE:
        return KIND_OF_CODE[code]
    for s, k in KIND_OF_SET.items():
        if code in codes(s):
            return k
    return "other"


def _date(v: Any) -> date | None:
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    text = str(v)
    try:
        return (
            date.fromisoformat(text[:10])
            if len(text) >= 10
            else date.fromisoformat((text + "-01-01")[:10] if len(text) == 4 else text + "-01")
        )
    except ValueError:
        return None


def _coding(cc: Any, systems: set[str] | None = None) -> tuple[str, str]:
    """(code, display) of the first coding in the systems (or any), else ("", text)."""
    if cc is None:
        return "", ""
    for c in cc.coding or []:
        if c.code and (systems is None or (c.system or "") in systems):
            return str(c.code), c.display or cc.text or ""
    return "", cc.text or ""


def load_resources(path: Path) -> list[Any]:
    """All resources in a file: a Bundle (entries) or a single resource."""
    from fhir.resources.R4B import get_fhir_model_class

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path}: cannot read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise BundleError(f"{path}: not JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(raw, dict) or "resourceType" not in raw:
        raise BundleError(f"{path}: not a FHIR resource (no resourceType)")
    try:
        model = get_fhir_model_class(raw["resourceType"])
    except (KeyError, ValueError):
        raise BundleError(
            f"{path}: unknown FHIR R4 resource type {raw['resourceType']!r}"
        ) from None
    try:
        res = model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ()))
        raise BundleError(
            f"{path}: invalid FHIR R4 {raw['resourceType']} at {where}: {err.get('msg')}"
        ) from None
    if raw["resourceType"] == "Bundle":
        entries = getattr(res, "entry", None) or []  # a Bundle model (the class is looked up)
        return [e.resource for e in entries if e.resource is not None]
    return [res]


def facts_from_files(paths: list[Path], as_of: date) -> tuple[PatientFacts, list[str]]:
    resources = [r for p in paths for r in load_resources(p)]
    return facts_from_resources(resources, as_of)


def facts_from_resources(resources: list[Any], as_of: date) -> tuple[PatientFacts, list[str]]:
    warnings: list[str] = []
    by_ref: dict[str, Any] = {}
    for r in resources:
        if getattr(r, "id", None):
            by_ref[f"{type(r).__name__}/{r.id}"] = r
        for c in getattr(r, "contained", None) or []:
            if getattr(c, "id", None):
                by_ref[f"#{c.id}"] = c
    patients = [r for r in resources if type(r).__name__ == "Patient"]
    if not patients:
        raise BundleError("no Patient resource in the input")
    if len({(str(p.birthDate), p.gender) for p in patients}) > 1:
        raise BundleError("the input holds more than one patient")
    p = patients[0]
    birth = _date(p.birthDate)
    if birth is None:
        raise BundleError("Patient.birthDate is missing: age-based rules need it")
    facts = PatientFacts(1, birth, p.gender or "unknown")
    for r in resources:
        kind = type(r).__name__
        if kind in ("MedicationRequest", "MedicationDispense", "MedicationStatement"):
            issue = _medication(r, kind, by_ref, as_of, warnings)
            if issue:
                facts.issues.append(issue)
        elif kind in ("Condition", "Procedure"):
            code, term = _coding(r.code, {SNOMED})
            if not code:
                warnings.append(f"{kind} without a SNOMED CT code ignored")
                continue
            if kind == "Condition":
                onset = _date(r.onsetDateTime) or _date(getattr(r, "recordedDate", None))
                resolved = _date(r.abatementDateTime)
                status = _coding(r.clinicalStatus)[0]
                if resolved is None and status in ("resolved", "inactive", "remission"):
                    resolved = as_of
            else:
                onset = _date(r.performedDateTime) or _date(
                    r.performedPeriod.start if r.performedPeriod else None
                )
                resolved = None
            facts.events.append(Event(code, term, onset, resolved))
        elif kind == "Observation":
            ob = _observation(r, warnings)
            if ob:
                facts.observations.append(ob)
    return facts, warnings


def _medication(
    r: Any, kind: str, by_ref: dict[str, Any], as_of: date, warnings: list[str]
) -> Issue | None:
    cc = getattr(r, "medicationCodeableConcept", None)
    ref = getattr(r, "medicationReference", None)
    if cc is None and ref is not None and ref.reference in by_ref:
        cc = by_ref[ref.reference].code
    code, name = _coding(cc, DMD_SYSTEMS)
    if not code and not name:
        warnings.append(f"{kind} without a medicine code or name ignored")
        return None
    when = {
        "MedicationRequest": lambda: _date(r.authoredOn),
        "MedicationDispense": lambda: _date(r.whenHandedOver) or _date(r.whenPrepared),
        "MedicationStatement": lambda: (
            _date(r.effectiveDateTime)
            or _date(r.effectivePeriod.start if r.effectivePeriod else None)
            or _date(r.dateAsserted)
        ),
    }[kind]()
    if when is None:
        if kind == "MedicationStatement" and r.status == "active":
            when = as_of
            warnings.append(f"undated active MedicationStatement {name or code} taken as current")
        else:
            warnings.append(f"undated {kind} {name or code} ignored")
            return None
    dosage = getattr(r, "dosageInstruction", None) or getattr(r, "dosage", None) or []
    dose_text = next((d.text for d in dosage if d.text), None)
    info = product_info(code, name or "")
    if not info.classes and not info.bnf_code:
        warnings.append(f"medicine not recognised by any rule: {name or code}")
    return Issue(code or "unknown", name or "", when, dose_text=dose_text)


def _observation(r: Any, warnings: list[str]) -> Obs | None:
    code, term = _coding(r.code, {SNOMED, LOINC})
    if not code:
        code, term = _coding(r.code)
    when = (
        _date(r.effectiveDateTime)
        or _date(r.effectivePeriod.start if r.effectivePeriod else None)
        or _date(r.issued)
    )
    if when is None:
        warnings.append(f"undated Observation {term or code} ignored")
        return None
    kind = _kind(code)
    q = r.valueQuantity
    value, unit, comparator = None, None, None
    if q is not None and q.value is not None:
        unit = q.code or q.unit
        comparator = q.comparator
        value = normalise(kind, float(q.value), unit)
        if value is None:
            warnings.append(f"Observation {term or code}: unit {unit!r} not usable; value ignored")
    return Obs(code, kind, when, value, unit, comparator)
