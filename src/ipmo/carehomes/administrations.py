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

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import repeat
from operator import itemgetter
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from ipmo.fhir.versions import FhirInputError, read_fhir
from ipmo.limits import MAX_CSV_FIELD, BadText, decode_utf8
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

# One administration as the batch ingest carries it, in this order (times naive UTC, as stored):
# identifier, nhs_number, medicine_code, medicine_name, outcome, at, scheduled_at, reason,
# dose_value, dose_unit, route, prn, covert. A plain tuple: a year of doses is ~90 million.
ROW_FIELDS = (
    "identifier",
    "nhs_number",
    "medicine_code",
    "medicine_name",
    "outcome",
    "at",
    "scheduled_at",
    "reason",
    "dose_value",
    "dose_unit",
    "route",
    "prn",
    "covert",
)
Row = tuple[Any, ...]


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

    def row(self) -> Row:
        """This administration as a :data:`Row` (times naive UTC)."""
        return (
            self.identifier,
            self.nhs_number,
            self.medicine_code,
            self.medicine_name,
            self.outcome,
            _naive_utc(self.at),
            _naive_utc(self.scheduled_at) if self.scheduled_at else None,
            self.reason,
            self.dose_value,
            self.dose_unit,
            self.route,
            self.prn,
            self.covert,
        )

    @classmethod
    def from_row(cls, row: Row) -> Administration:
        """From a :data:`Row` (naive UTC times)."""
        values = dict(zip(ROW_FIELDS, row, strict=True))
        values["at"] = values["at"].replace(tzinfo=UTC)
        if values["scheduled_at"] is not None:
            values["scheduled_at"] = values["scheduled_at"].replace(tzinfo=UTC)
        return cls(**values)

    @property
    def kinds(self) -> frozenset[str]:
        """The outcome plus "covert" / "prn" where they apply."""
        extra = {k for k, on in (("covert", self.covert), ("prn", self.prn)) if on}
        return frozenset({self.outcome} | extra)


def _naive_utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None)


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
    return [Administration.from_row(r) for r in csv_rows(data, filename)]


def csv_rows(data: bytes | str, filename: str = "<csv>") -> list[Row]:
    """The CSV export as :data:`Row` tuples (the batch ingest's input: no object per dose).

    Any bad row refuses the whole file with FhirInputError naming the file and row. A plain
    file is read column-wise by Arrow (:func:`_arrow_rows`); anything it does not accept as
    plain — a bad value, a ragged row, a blank line between rows — is read again row by row
    below, which gives the same rows or names the file and row that is refused."""
    try:
        return _arrow_rows(data)
    except _NotPlain:
        return _rows_one_by_one(data, filename)


def _rows_one_by_one(data: bytes | str, filename: str) -> list[Row]:
    try:
        text = decode_utf8(data)
    except BadText as exc:
        raise FhirInputError("invalid", f"{filename}: {exc}") from None
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader, [])]
        return _CsvRows(filename, header).read(reader)
    except csv.Error as exc:
        raise FhirInputError(
            "invalid", f"{filename} row {reader.line_num}: malformed CSV ({exc})"
        ) from None


class _CsvRows:
    """One file's rows → :data:`Row`. NHS numbers, times and flags repeat across a file, so each
    distinct value is checked once (a year of a home's doses has a few thousand distinct times)."""

    def __init__(self, filename: str, header: list[str]) -> None:
        self.filename = filename
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
        self.width = len(header)
        # every column by position; an absent optional column reads an empty value appended
        # at position ``width``
        self.get = itemgetter(
            *(header.index(c) if c in header else self.width for c in REQUIRED + OPTIONAL)
        )
        self.nhs: dict[str, str | None] = {}
        self.times: dict[str, datetime] = {}

    def _nhs(self, value: str, row_no: int) -> str:
        found = self.nhs.get(value, "")
        if found == "":
            try:
                found = self.nhs[value] = normalise_nhs_number(value)
            except InvalidNhsNumber:
                found = self.nhs[value] = None
        if found is None:
            raise FhirInputError("value", f"{self.filename} row {row_no}: nhs_number is not valid")
        return found

    def _time(self, value: str, row_no: int, column: str) -> datetime:
        found = self.times.get(value)
        if found is None:
            where = f"{self.filename} row {row_no}: {column}"
            found = self.times[value] = _aware(value, where).replace(tzinfo=None)
        return found

    def _bad(self, row_no: int, row: list[str]) -> FhirInputError:
        """Why a row that failed the quick checks is refused."""
        where = f"{self.filename} row {row_no}"
        if len(row) != self.width + 1:
            return FhirInputError(
                "structure", f"{where}: {len(row) - 1} fields, the header has {self.width}"
            )
        if max(map(len, row)) > MAX_CSV_FIELD:
            return FhirInputError("invalid", f"{where}: a value is too long")
        values = [v.strip() for v in self.get(row)]
        for name, value in zip(REQUIRED, values, strict=False):
            if not value:
                return FhirInputError("required", f"{where}: {name} is empty")
        outcome = values[4]
        if outcome.lower() not in OUTCOMES:
            return FhirInputError(
                "value", f"{where}: outcome {outcome!r} is not one of {', '.join(OUTCOMES)}"
            )
        for name, value in zip(("prn", "covert"), values[11:], strict=True):
            if value.lower() not in _YES:
                return FhirInputError("value", f"{where}: {name} {value!r} is not Y or N")
        return FhirInputError("invalid", f"{where}: cannot be read")

    def read(self, reader: Iterator[list[str]]) -> list[Row]:
        get, width, nhs_of, time_of = self.get, self.width, self._nhs, self._time
        outcomes = {o: o for o in OUTCOMES}
        out: list[Row] = []
        append = out.append
        for row_no, row in enumerate(reader, start=2):
            if len(row) != width and not any(row):
                continue  # a blank line
            row.append("")
            try:
                ident, nhs, code, name, outcome, at, sched, reason, dv, du, route, prn, cov = (
                    v.strip() for v in get(row)
                )
                if not (ident and nhs and code and name and at) or len(row) != width + 1:
                    raise KeyError
                outcome = outcomes[outcome.lower()]
                prn_flag, covert_flag = _YES[prn.lower()], _YES[cov.lower()]
                if max(map(len, row)) > MAX_CSV_FIELD:
                    raise KeyError
            except (KeyError, ValueError, IndexError):  # IndexError: a short row
                raise self._bad(row_no, row) from None
            append(
                (
                    ident,
                    nhs_of(nhs, row_no),
                    code,
                    name,
                    outcome,
                    time_of(at, row_no, "at"),
                    time_of(sched, row_no, "scheduled_at") if sched else None,
                    reason or None,
                    _dose(dv, f"{self.filename} row {row_no}") if dv else None,
                    du or None,
                    route or None,
                    prn_flag,
                    covert_flag,
                )
            )
        return out


class _NotPlain(Exception):
    """The column-wise reader does not vouch for this file: read it row by row."""


_BOM = "\ufeff".encode()


def _arrow_rows(data: bytes | str) -> list[Row]:
    """The rows :class:`_CsvRows` would read, column by column: Arrow parses the file (C++,
    one pass), each column's distinct values are checked and converted once in Python (a home's
    file has a few thousand distinct times and NHS numbers among 100,000s of doses), and the
    tuples are zipped from the columns. Raises :class:`_NotPlain` at the first thing it does
    not accept — never a refusal of its own, so the messages stay those of the row reader."""
    try:
        raw = data.lstrip("\ufeff").encode() if isinstance(data, str) else data
        raw = raw[len(_BOM) :] if raw.startswith(_BOM) else raw
        table = pa_csv.read_csv(
            pa.py_buffer(raw),
            read_options=pa_csv.ReadOptions(use_threads=False, block_size=1 << 24),
            # a quoted value may hold a line break; without quotes none can (and parsing is
            # twice as fast without the check)
            parse_options=pa_csv.ParseOptions(newlines_in_values=b'"' in raw),
            convert_options=pa_csv.ConvertOptions(
                column_types={c: pa.string() for c in REQUIRED + OPTIONAL}
            ),
        )
    except (pa.ArrowException, UnicodeError) as exc:
        raise _NotPlain from exc
    names = table.column_names
    if (
        len(set(names)) != len(names)
        or set(REQUIRED) - set(names)
        or set(names) - {*REQUIRED, *OPTIONAL}
    ):
        raise _NotPlain
    columns = {n: table.column(n).combine_chunks() for n in names}
    if any((pc.max(pc.utf8_length(c)).as_py() or 0) > MAX_CSV_FIELD for c in columns.values()):
        raise _NotPlain  # the row reader names the row
    ident = [v.strip() for v in columns["administration_id"].to_pylist()]
    if not all(ident):
        raise _NotPlain
    outcomes = {o: o for o in OUTCOMES}

    def each(name: str, convert: Callable[[str], Any], absent: Any = None) -> Iterable[Any]:
        """The column's values converted (each distinct one once); ``absent`` for a column the
        file does not have; a value ``convert`` refuses makes the file not plain. The converters
        refuse with ValueError (FhirInputError and InvalidNhsNumber are ValueErrors) or KeyError
        (an unknown outcome or yes/no word); anything else is a fault and is raised."""
        if name not in columns:
            return repeat(absent)
        encoded = columns[name].dictionary_encode()
        try:
            values = [convert(v.strip()) for v in encoded.dictionary.to_pylist()]
        except (ValueError, KeyError) as exc:  # the row reader refuses it with the row named
            raise _NotPlain from exc
        return map(values.__getitem__, encoded.indices.to_pylist())

    def required(value: str) -> str:
        if not value:
            raise ValueError("empty")
        return value

    def time(value: str) -> datetime:
        return _aware(required(value), "").replace(tzinfo=None)

    def dose(value: str) -> float | None:
        return _dose(value, "") if value else None

    return list(
        zip(
            ident,
            each("nhs_number", lambda v: normalise_nhs_number(required(v))),
            each("medicine_code", required),
            each("medicine_name", required),
            each("outcome", lambda v: outcomes[v.lower()]),
            each("at", time),
            each("scheduled_at", lambda v: time(v) if v else None),
            each("reason", lambda v: v or None),
            each("dose_value", dose),
            each("dose_unit", lambda v: v or None),
            each("route", lambda v: v or None),
            each("prn", lambda v: _YES[v.lower()], False),
            each("covert", lambda v: _YES[v.lower()], False),
            strict=False,  # an absent column repeats its one value without end
        )
    )


def _dose(value: str, where: str) -> float | None:
    if not value:
        return None
    try:
        dose = float(value)
    except ValueError:
        raise FhirInputError("value", f"{where}: dose_value {value!r} is not a number") from None
    if not (0 <= dose < 1e6):
        raise FhirInputError("value", f"{where}: dose_value out of range")
    return dose
