"""Walking a validated FHIR payload (plain dicts from :mod:`ipmo.fhir.versions`).

Small helpers shared by every adapter (records, referrals): list the resources of a Bundle,
resolve references (``fullUrl``, ``Type/id``, contained ``#id``), and read the NHS identifiers
whose systems are fixed by UK Core / CareConnect. Also the one data type both FHIR versions write
alike, a Duration in days (:func:`days_duration`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
# UK Core fixes ".../ods-organization-code"; its own guidance page spells "organisation"
# (STANDARDS.md §1.1 gotcha): accept both, and the site code used for acute trusts.
ODS_SYSTEMS = (
    "https://fhir.nhs.uk/Id/ods-organization-code",
    "https://fhir.nhs.uk/Id/ods-organisation-code",
    "https://fhir.nhs.uk/Id/ods-site-code",
)

Resource = dict[str, Any]

UCUM = "http://unitsofmeasure.org"


def days_duration(days: float) -> dict[str, Any]:
    """``days`` as a FHIR Duration (UCUM ``d``; STU3 and R4 alike): a dispense's ``daysSupply``."""
    return {"value": days, "unit": "day", "system": UCUM, "code": "d"}


class BundleIndex:
    """All resources of a payload, addressable by their references."""

    def __init__(self, root: Resource) -> None:
        self.root = root
        self.resources: list[Resource] = []
        self._by_ref: dict[str, Resource] = {}
        if root.get("resourceType") == "Bundle":
            for entry in root.get("entry") or []:
                res = entry.get("resource")
                if not res:
                    continue
                self._add(res, entry.get("fullUrl"))
        else:
            self._add(root, None)

    def _add(self, res: Resource, full_url: str | None) -> None:
        self.resources.append(res)
        rtype, rid = res.get("resourceType"), res.get("id")
        if full_url:
            self._by_ref[full_url] = res
            # "urn:patient-1" style fullUrls were turned into ids by safe_id(); index both.
        if rtype and not rid and full_url and "/" not in full_url and ":" not in full_url:
            rid = full_url  # a bare id written as fullUrl (seen in the IG hackathon examples)
        if rtype and rid:
            self._by_ref[f"{rtype}/{rid}"] = res
            if full_url and not full_url.startswith("urn:"):
                self._by_ref[full_url.rstrip("/")] = res

    def of_type(self, *types: str) -> Iterator[Resource]:
        return (r for r in self.resources if r.get("resourceType") in types)

    def resolve(
        self, reference: dict[str, Any] | None, holder: Resource | None = None
    ) -> Resource | None:
        """The resource a Reference points at, if it is in the payload (or contained)."""
        if not reference:
            return None
        ref = reference.get("reference")
        if not ref:
            return None
        if ref.startswith("#") and holder is not None:
            for contained in holder.get("contained") or []:
                if contained.get("id") == ref[1:]:
                    return contained
            return None
        if ref in self._by_ref:
            return self._by_ref[ref]
        # absolute URL ending in Type/id
        parts = ref.rstrip("/").split("/")
        if len(parts) >= 2:
            return self._by_ref.get(f"{parts[-2]}/{parts[-1]}")
        return None


def identifier_value(identifiers: list[dict[str, Any]] | None, *systems: str) -> str | None:
    for ident in identifiers or []:
        if ident.get("system") in systems and ident.get("value"):
            return str(ident["value"])
    return None


def nhs_number_of(patient: Resource | None) -> str | None:
    """The NHS number as written (not yet checked) from a Patient resource."""
    if not patient:
        return None
    return identifier_value(patient.get("identifier"), NHS_NUMBER_SYSTEM)


def ods_code_of(org: Resource | None) -> str | None:
    if not org:
        return None
    return identifier_value(org.get("identifier"), *ODS_SYSTEMS)


def fhir_date(value: str | None) -> date | None:
    """The calendar date of a FHIR date/dateTime (partial dates become the 1st)."""
    if not value:
        return None
    text = str(value)
    try:
        if len(text) == 4:
            return date(int(text), 1, 1)
        if len(text) == 7:
            return date(int(text[:4]), int(text[5:7]), 1)
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def first_coding(concept: dict[str, Any] | None, *systems: str) -> dict[str, Any] | None:
    codings = (concept or {}).get("coding") or []
    for coding in codings:
        if not systems or coding.get("system") in systems:
            return coding
    return None


def concept_text(concept: dict[str, Any] | None) -> str | None:
    if not concept:
        return None
    if concept.get("text"):
        return str(concept["text"])
    coding = first_coding(concept)
    return (coding or {}).get("display") or (coding or {}).get("code")


def extensions(resource: Resource | None, url_part: str) -> list[dict[str, Any]]:
    """Extensions whose URL contains ``url_part`` (UK Core and CareConnect URLs differ)."""
    return [e for e in (resource or {}).get("extension") or [] if url_part in e.get("url", "")]
