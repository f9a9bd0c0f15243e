"""The discharge medicines on the DMS referral form (issue 14): typed rows, or read from an
uploaded FHIR discharge bundle, each with its change at discharge.

NHS England, "Discharge Medicines Service toolkit for pharmacy staff" (PAR366), stage 1: the
referral carries the medicines at discharge *and the changes made in hospital* (started, stopped,
changed, unchanged), which the community pharmacist compares with the GP list. Without them every
GP medicine read "was it stopped?" (``dms.FINDINGS["missing-from-discharge"]``).

Rows are form fields ``dm-<n>-name``, ``dm-<n>-dmd`` (the dm+d code, optional), ``dm-<n>-dose``,
``dm-<n>-change``. A bundle's MedicationStatement / MedicationRequest / MedicationDispense
entries fill the rows; the change comes from the CareConnect / UK Core medication change summary
extension (``status``: added, removed, changed, unchanged) or a stopped statement; a line whose
change the bundle does not say is left for the pharmacist to select.
"""

from __future__ import annotations

from typing import Any

from ipmo.fhir.bundles import BundleIndex, concept_text, extensions, first_coding
from ipmo.fhir.versions import FhirInputError, read_fhir
from ipmo.referrals.errors import ReferralError
from ipmo.referrals.new_referrals import CHANGE_MARKERS

MAX_ROWS = 30  # a discharge letter with more medicines is sent as a bundle by the API
MAX_BUNDLE_BYTES = 2_000_000
CHANGES = [
    ("started", "Started in hospital"),
    ("stopped", "Stopped in hospital"),
    ("changed", "Dose or directions changed"),
    ("unchanged", "Unchanged"),
]
SNOMED = "http://snomed.info/sct"
_CHANGE_STATUS = {
    "added": "started",
    "new": "started",
    "removed": "stopped",
    "stopped": "stopped",
    "discontinued": "stopped",
    "changed": "changed",
    "amended": "changed",
    "unchanged": "unchanged",
}


def discharge_rows(form: dict[str, str]) -> list[dict[str, Any]]:
    """The rows to show: what was typed (or read from a bundle), plus empty rows up to five."""
    rows: list[dict[str, Any]] = [
        {
            "n": n,
            "name": form.get(f"dm-{n}-name", ""),
            "dmd": form.get(f"dm-{n}-dmd", ""),
            "dose": form.get(f"dm-{n}-dose", ""),
            "change": form.get(f"dm-{n}-change", ""),
        }
        for n in range(1, MAX_ROWS + 1)
    ]
    filled = max((r["n"] for r in rows if r["name"] or r["dose"] or r["change"]), default=0)
    return rows[: min(MAX_ROWS, max(5, filled + 2))]


def discharge_items_from(form: dict[str, str], bundle: bytes) -> list[dict[str, Any]]:
    """The referral's discharge items. An uploaded bundle fills ``form``'s rows first (so a
    change the bundle does not say is asked for, with the rows shown again). Raises
    :class:`ReferralError` naming the row at fault; at least one medicine is required."""
    if bundle:
        form.update(rows_from_bundle(bundle))
    items = []
    for row in discharge_rows(form):
        name, change = row["name"].strip(), row["change"]
        if not name and not row["dose"].strip() and not change:
            continue
        n = row["n"]
        if not name:
            raise ReferralError(f"Enter the name of discharge medicine {n}", f"dm-{n}-name")
        if change not in CHANGE_MARKERS:
            raise ReferralError(
                f"Select whether {name} was started, stopped, changed or unchanged",
                f"dm-{n}-change",
            )
        code = row["dmd"].strip()
        items.append(
            {
                "name": name[:255],
                "dmd_code": code if code.isdigit() and 6 <= len(code) <= 18 else None,
                "dose_text": row["dose"].strip()[:500] or None,
                "change": change,
            }
        )
    if not items:
        raise ReferralError(
            "Enter the discharge medicines (or upload the FHIR discharge bundle): the pharmacy "
            "compares them with the GP list",
            "dm-1-name",
        )
    return items


def rows_from_bundle(data: bytes) -> dict[str, str]:
    """Form rows from a FHIR R4 or STU3 discharge bundle (JSON or XML)."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise ReferralError(
            f"The discharge bundle must be smaller than {MAX_BUNDLE_BYTES // 1_000_000} MB",
            "discharge_bundle",
        )
    try:
        doc = read_fhir(data)
    except FhirInputError as exc:
        raise ReferralError(
            f"The discharge bundle could not be read: {exc}", "discharge_bundle"
        ) from None
    index = BundleIndex(doc.resource)
    rows: dict[str, str] = {}
    n = 0
    for res in index.of_type("MedicationStatement", "MedicationRequest", "MedicationDispense"):
        concept = res.get("medicationCodeableConcept")
        if concept is None:
            med = index.resolve(res.get("medicationReference"), res) or {}
            concept = med.get("code")
        name = concept_text(concept)
        if not name or n >= MAX_ROWS:
            continue
        n += 1
        coding = first_coding(concept, SNOMED) or {}
        dosage = (res.get("dosage") or res.get("dosageInstruction") or [{}])[0]
        rows[f"dm-{n}-name"] = name
        rows[f"dm-{n}-dmd"] = str(coding.get("code") or "")
        rows[f"dm-{n}-dose"] = str(dosage.get("text") or "")
        rows[f"dm-{n}-change"] = _change_of(res)
    if not n:
        raise ReferralError(
            "The discharge bundle has no medicines in it (MedicationStatement, "
            "MedicationRequest or MedicationDispense)",
            "discharge_bundle",
        )
    return rows


def _change_of(res: dict[str, Any]) -> str:
    for ext in extensions(res, "ChangeSummary"):
        for sub in ext.get("extension") or []:
            if sub.get("url") == "status":
                code = str(sub.get("valueCode") or "").lower()
                if code in _CHANGE_STATUS:
                    return _CHANGE_STATUS[code]
    if res.get("status") == "stopped":
        return "stopped"
    return ""
