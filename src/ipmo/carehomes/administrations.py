"""eMAR administration records → one canonical :class:`Administration` (pure: no database).

Two inputs: a UK Core R4 ``MedicationAdministration`` (JSON or XML) and the CSV export format
documented in carehomes/README.md. No national eMAR standard exists (issue 17), so the CSV is ours;
unknown columns are refused naming the file and row rather than silently ignored.

How a FHIR resource becomes a kind of administration (the kinds of NICE SC1 section 1.12, "Care
home staff administering medicines to residents", which asks homes to record doses given,
refused and not given with the reason):
- ``status`` completed → given;
- ``status`` not-done → refused when ``statusReason`` says the resident declined (SNOMED CT
  182895007 "Drug declined by patient", or the reason's text says refused/declined), withheld
  when the reason's text records a decision to hold the dose ("withheld"/"held"), otherwise
  omitted (a reason we cannot place is kept as the reason text);
- other statuses (in-progress, on-hold, stopped, entered-in-error, unknown) are not an
  administration and are refused with the status named.
Covert and PRN are not outcomes but attributes of a dose: FHIR R4 has no element for either, so
they are read from ``dosage.method`` / ``dosage.text`` ("covert", "PRN" / "when required") —
ipmo's own convention, documented in the README.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ipmo.fhir.versions import FhirInputError, read_fhir
from ipmo.limits import BadText, CheckedDictReader, decode_utf8
from ipmo.patients import InvalidNhsNumber, normalise_nhs_number

GIVEN = "given"
REFUSED = "refused"
OMITTED = "omitted"
WITHHELD = "withheld"
OUTCOMES = (GIVEN, REFUSED, OMITTED, WITHHELD)

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
DMD_SYSTEMS = ("https://dmd.nhs.uk", "http://snomed.info/sct")
DECLINED_CODE = "182895007"  # SNOMED CT: Drug declined by patient

_REFUSED_TEXT = re.compile(r"\b(refus|declin)", re.I)
_WITHHELD_TEXT = re.compile(r"\b(withheld|withhold|held)\b", re.I)
_COVERT_TEXT = re.compile(r"\bcovert", re.I)
_PRN_TEXT = re.compile(r"\b(prn|when required|as required|as needed)\b", re.I)


@dataclass(frozen=True)
class Administration:
    """One dose event on a resident's MAR chart.

    ``at`` is when it was given (or recorded as not given); ``scheduled_at`` is the dose round's
    time when the source says it (the CSV does; a FHIR MedicationAdministration does not).
    """

    identifier: str
    nhs_number: str | None
    medicine_code: str
    medicine_name: str
    outcome: str  # one of OUTCOMES
    at: datetime
    scheduled_at: datetime | None = None
    reason: str | None = None
    dose_value: float | None = None
    dose_unit: str | None = None
    route: str | None = None
    prn: bool = False
    covert: bool = False

    @property
    def kinds(self) -> frozenset[str]:
        """The outcome plus "covert" / "prn" where they apply."""
        extra = {k for k, on in (("covert", self.covert), ("prn", self.prn)) if on}
        return frozenset({self.outcome} | extra)


def _aware(value: str, where: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FhirInputError("value", f"{where} {value!r} is not a date-time") from None
    if dt.tzinfo is None:
        raise FhirInputError("value", f"{where} {value!r} has no time zone", where)
    return dt.astimezone(UTC)


def _text_of(concept: dict[str, Any] | None) -> str:
    if not concept:
        return ""
    parts = [concept.get("text") or ""]
    parts += [c.get("display") or "" for c in concept.get("coding") or []]
    return " ".join(p for p in parts if p)


def _codes_of(concept: dict[str, Any] | None) -> list[str]:
    return [c.get("code") for c in (concept or {}).get("coding") or [] if c.get("code")]


def _medication(res: dict[str, Any]) -> tuple[str, str]:
    concept = res.get("medicationCodeableConcept")
    if concept is None:
        ref = (res.get("medicationReference") or {}).get("reference", "")
        contained = {
            f"#{c.get('id')}": c for c in res.get("contained") or [] if isinstance(c, dict)
        }
        if ref in contained:
            concept = contained[ref].get("code")
        else:
            raise FhirInputError(
                "not-supported",
                f"medicationReference {ref!r} is not contained in the resource; send "
                "medicationCodeableConcept with a dm+d code",
                "MedicationAdministration.medicationReference",
            )
    concept = concept or {}
    for coding in concept.get("coding") or []:
        if coding.get("system") in DMD_SYSTEMS and coding.get("code"):
            return str(coding["code"]), str(coding.get("display") or concept.get("text") or "")
    raise FhirInputError(
        "required",
        "the medication has no dm+d code",
        "MedicationAdministration.medicationCodeableConcept",
    )


def _nhs_number(res: dict[str, Any]) -> str | None:
    ident = (res.get("subject") or {}).get("identifier") or {}
    if ident.get("system") == NHS_NUMBER_SYSTEM and ident.get("value"):
        try:
            return normalise_nhs_number(str(ident["value"]))
        except InvalidNhsNumber:
            raise FhirInputError(
                "value", "subject.identifier is not a valid NHS number", "subject.identifier"
            ) from None
    return None


def _not_done_outcome(res: dict[str, Any]) -> tuple[str, str | None]:
    reasons = res.get("statusReason") or []
    text = " ".join(_text_of(r) for r in reasons)
    codes = [c for r in reasons for c in _codes_of(r)]
    if DECLINED_CODE in codes or _REFUSED_TEXT.search(text):
        return REFUSED, text or "declined"
    if _WITHHELD_TEXT.search(text):
        return WITHHELD, text
    return OMITTED, text or None


def from_fhir(data: bytes | str) -> Administration:
    """Read one UK Core MedicationAdministration (JSON or XML); FhirInputError says why not."""
    doc = read_fhir(data, version="R4")
    res = doc.resource
    if res.get("resourceType") != "MedicationAdministration":
        raise FhirInputError(
            "not-supported",
            f"expected a MedicationAdministration, got {res.get('resourceType')}",
            "resourceType",
        )
    status = res.get("status")
    if status == "completed":
        outcome, reason = GIVEN, None
    elif status == "not-done":
        outcome, reason = _not_done_outcome(res)
    else:
        raise FhirInputError(
            "not-supported",
            f"status {status!r} is not an administration (only completed or not-done are)",
            "MedicationAdministration.status",
        )
    when = res.get("effectiveDateTime") or (res.get("effectivePeriod") or {}).get("start")
    if not when:
        raise FhirInputError(
            "required", "no effective time", "MedicationAdministration.effective[x]"
        )
    at = _aware(str(when), "MedicationAdministration.effective[x]")
    idents = [i.get("value") for i in res.get("identifier") or [] if i.get("value")]
    identifier = idents[0] if idents else res.get("id")
    if not identifier:
        raise FhirInputError(
            "required", "no identifier or id", "MedicationAdministration.identifier"
        )
    code, name = _medication(res)
    dosage = res.get("dosage") or {}
    dose = dosage.get("dose") or {}
    method_text = " ".join([_text_of(dosage.get("method")), dosage.get("text") or ""])
    return Administration(
        identifier=str(identifier),
        nhs_number=_nhs_number(res),
        medicine_code=code,
        medicine_name=name,
        outcome=outcome,
        at=at,
        reason=reason,
        dose_value=float(dose["value"]) if dose.get("value") is not None else None,
        dose_unit=dose.get("code") or dose.get("unit"),
        route=_text_of(dosage.get("route")) or None,
        prn=bool(_PRN_TEXT.search(method_text)),
        covert=bool(_COVERT_TEXT.search(method_text)),
    )


# --- CSV export format (columns documented in carehomes/README.md) ---------------------------

REQUIRED = ("administration_id", "nhs_number", "medicine_code", "medicine_name", "outcome", "at")
OPTIONAL = ("scheduled_at", "reason", "dose_value", "dose_unit", "route", "prn", "covert")
_YES = {
    "y": True,
    "yes": True,
    "true": True,
    "1": True,
    "n": False,
    "no": False,
    "false": False,
    "0": False,
    "": False,
}


def from_csv(data: bytes | str, filename: str = "<csv>") -> list[Administration]:
    """Read an eMAR CSV export; any bad row refuses the whole file, naming file and row."""
    try:
        return _from_csv(data, filename)
    except BadText as exc:
        raise FhirInputError("invalid", f"{filename}: {exc}") from None


def _from_csv(data: bytes | str, filename: str) -> list[Administration]:
    reader = CheckedDictReader(decode_utf8(data))
    header = [h.strip() for h in reader.fieldnames or []]
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise FhirInputError(
            "structure", f"{filename} row 1: unknown column(s): " + ", ".join(unknown)
        )
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise FhirInputError(
            "structure", f"{filename} row 1: missing column(s): " + ", ".join(missing)
        )
    out: list[Administration] = []
    for row_no, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if None in raw:
            raise FhirInputError("structure", f"{filename} row {row_no}: more fields than columns")
        where = f"{filename} row {row_no}"
        for col in REQUIRED:
            if not row.get(col):
                raise FhirInputError("required", f"{where}: {col} is empty")
        outcome = row["outcome"].lower()
        if outcome not in OUTCOMES:
            raise FhirInputError(
                "value", f"{where}: outcome {row['outcome']!r} is not one of {', '.join(OUTCOMES)}"
            )
        try:
            nhs = normalise_nhs_number(row["nhs_number"])
        except InvalidNhsNumber:
            raise FhirInputError("value", f"{where}: nhs_number is not valid") from None
        flags = {}
        for col in ("prn", "covert"):
            value = row.get(col, "").lower()
            if value not in _YES:
                raise FhirInputError("value", f"{where}: {col} {row[col]!r} is not Y or N")
            flags[col] = _YES[value]
        dose: float | None = None
        if row.get("dose_value"):
            try:
                dose = float(row["dose_value"])
            except ValueError:
                raise FhirInputError(
                    "value", f"{where}: dose_value {row['dose_value']!r} is not a number"
                ) from None
            if not (0 <= dose < 1e6):
                raise FhirInputError("value", f"{where}: dose_value out of range")
        out.append(
            Administration(
                identifier=row["administration_id"],
                nhs_number=nhs,
                medicine_code=row["medicine_code"],
                medicine_name=row["medicine_name"],
                outcome=outcome,
                at=_aware(row["at"], f"{where}: at"),
                scheduled_at=(
                    _aware(row["scheduled_at"], f"{where}: scheduled_at")
                    if row.get("scheduled_at")
                    else None
                ),
                reason=row.get("reason") or None,
                dose_value=dose,
                dose_unit=row.get("dose_unit") or None,
                route=row.get("route") or None,
                prn=flags["prn"],
                covert=flags["covert"],
            )
        )
    return out
