"""CSV from legacy and specialist systems → :class:`SourceDocument` (columns in records/README.md).

One file is one source's list for one patient. Dates are ISO (YYYY-MM-DD). ``dose_text`` is also
read into a structured dose when the free-text reader is sure of it, so CSV sources take part in
dose and frequency comparison like FHIR ones.
"""

from __future__ import annotations

from datetime import date

from ipmo.fhir.versions import FhirInputError
from ipmo.limits import BadText, CheckedDictReader, decode_utf8
from ipmo.patients.identity import InvalidNhsNumber, normalise_nhs_number
from ipmo.records.canonical import MedItem, SourceDocument, content_hash
from ipmo.terminology.dosage import DoseParseError, parse_dose_text

REQUIRED = ("nhs_number", "source_kind", "source_org_code", "name", "status")
OPTIONAL = (
    "source_system",
    "dmd_code",
    "category",
    "dose_text",
    "route",
    "authored_on",
    "last_issued",
    "end_date",
    "prescriber_type",
    "item_id",
)
KINDS = ("gp", "pharmacy", "hospital", "specialist")
STATUSES = ("active", "stopped", "completed", "on-hold", "intended", "unknown")


def _date(value: str, line: int, column: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FhirInputError(
            "value", f"line {line}: {column} {value!r} is not a date (YYYY-MM-DD)"
        ) from None


def from_csv(data: bytes | str) -> SourceDocument:
    """Read a CSV source; any bad row rejects the whole file (nothing is half-loaded)."""
    try:
        return _from_csv(data)
    except BadText as exc:  # not UTF-8, malformed, or a field over the csv limit
        raise FhirInputError("invalid", str(exc)) from None


def _from_csv(data: bytes | str) -> SourceDocument:
    reader = CheckedDictReader(decode_utf8(data))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise FhirInputError("structure", "CSV is missing column(s): " + ", ".join(missing))
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise FhirInputError("structure", "CSV has unknown column(s): " + ", ".join(unknown))
    rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in reader]
    if not rows:
        raise FhirInputError("invalid", "CSV has no rows")
    first = rows[0]
    try:
        nhs = normalise_nhs_number(first["nhs_number"])
    except InvalidNhsNumber as exc:
        raise FhirInputError("value", f"line 2: invalid NHS number: {exc}") from None
    items = []
    for n, row in enumerate(rows, start=2):
        try:
            if normalise_nhs_number(row["nhs_number"]) != nhs:
                raise FhirInputError(
                    "business-rule", f"line {n}: the CSV mixes two patients; send one per file"
                )
        except InvalidNhsNumber as exc:
            raise FhirInputError("value", f"line {n}: invalid NHS number: {exc}") from None
        for col in ("source_kind", "source_org_code"):
            if row[col] != first[col]:
                raise FhirInputError("business-rule", f"line {n}: the CSV mixes two sources")
        if row["source_kind"] not in KINDS:
            raise FhirInputError(
                "value", f"line {n}: source_kind must be one of {', '.join(KINDS)}"
            )
        if row["status"] not in STATUSES:
            raise FhirInputError("value", f"line {n}: status must be one of {', '.join(STATUSES)}")
        if not row["name"]:
            raise FhirInputError("required", f"line {n}: name is empty")
        dosage = None
        if row.get("dose_text"):
            try:
                dosage = [parse_dose_text(row["dose_text"])]
            except DoseParseError:
                dosage = None
        items.append(
            MedItem(
                name=row["name"],
                status=row["status"],
                code=row.get("dmd_code") or None,
                code_system="https://dmd.nhs.uk" if row.get("dmd_code") else None,
                dose_text=row.get("dose_text") or None,
                dosage=dosage,
                route=row.get("route") or None,
                category=row.get("category") or None,
                authored_on=_date(row.get("authored_on", ""), n, "authored_on"),
                last_issued=_date(row.get("last_issued", ""), n, "last_issued"),
                end_date=_date(row.get("end_date", ""), n, "end_date"),
                prescriber_type=row.get("prescriber_type") or None,
                resource_type="csv",
                resource_id=row.get("item_id") or f"row-{n}",
            )
        )
    return SourceDocument(
        source_kind=first["source_kind"],
        source_org_code=first["source_org_code"],
        source_system=first.get("source_system") or "csv",
        items=items,
        nhs_number=nhs,
        content_hash=content_hash(rows),
        kind_reason="stated in the file (source_kind column)",
        resources_read=len(items),
    )
