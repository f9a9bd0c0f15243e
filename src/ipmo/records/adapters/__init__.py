"""Source adapters: each turns one source's payload into a :class:`SourceDocument`.

``load_source`` picks the adapter from the content (FHIR JSON/XML in R4 or STU3, or CSV).
Errors are :class:`ipmo.fhir.versions.FhirInputError` (``.outcome()`` is the OperationOutcome).
"""

from __future__ import annotations

from ipmo.fhir.versions import FhirInputError
from ipmo.records.adapters.csv import from_csv
from ipmo.records.adapters.fhir import KINDS, from_fhir
from ipmo.records.canonical import SourceDocument

__all__ = ["FhirInputError", "SourceDocument", "from_csv", "from_fhir", "load_source"]


def load_source(
    data: bytes | str,
    *,
    filename: str = "",
    source_kind: str | None = None,
    source_org_code: str | None = None,
    source_system: str | None = None,
) -> SourceDocument:
    """Read one source from bytes; CSV by extension or by a header line, else FHIR. A stated
    ``source_kind`` wins over what the content says (FHIR) or the file's column (CSV)."""
    head = data[:200].decode("utf-8", "replace") if isinstance(data, bytes) else data[:200]
    stripped = head.lstrip("\ufeff \t\r\n")
    if filename.lower().endswith(".csv") or stripped.startswith("nhs_number"):
        doc = from_csv(data)
        kind = source_kind
        if kind:  # what the caller states wins over the file's column
            if kind not in KINDS:
                raise FhirInputError(
                    "value", f"source_kind {kind!r} is not one of {', '.join(KINDS)}", "source_kind"
                )
            doc.source_kind, doc.kind_reason = kind, "stated by the caller"
        return doc
    return from_fhir(
        data,
        source_kind=source_kind,
        source_org_code=source_org_code,
        source_system=source_system,
    )
