"""Medicines optimisation in care homes (issue 17): eMAR administrations and what they reveal.

Also published: the use cases' errors (:class:`IngestError`, :class:`BestInterestsError`,
:class:`StaffInputError`, :class:`NotYourHome`, :class:`WasteInputError`,
:class:`WasteConflict`), whose
HTTP statuses are in the web app's one table (``ipmo.web.errors``); loaded on first use.
"""

from typing import TYPE_CHECKING

from ipmo.carehomes.administrations import Administration, from_csv, from_fhir
from ipmo.carehomes.findings import RULES as FINDING_RULES
from ipmo.carehomes.findings import Finding, all_findings
from ipmo.hooks import published_later

if TYPE_CHECKING:
    from ipmo.carehomes.actions import (
        BestInterestsError,
        NotYourHome,
        StaffInputError,
        WasteConflict,
        WasteInputError,
    )
    from ipmo.carehomes.ingest import IngestError

__all__ = [
    "FINDING_RULES",
    "Administration",
    "BestInterestsError",
    "Finding",
    "IngestError",
    "NotYourHome",
    "StaffInputError",
    "WasteConflict",
    "WasteInputError",
    "all_findings",
    "from_csv",
    "from_fhir",
]
__getattr__ = published_later(
    dict.fromkeys(
        [
            "BestInterestsError",
            "NotYourHome",
            "StaffInputError",
            "WasteConflict",
            "WasteInputError",
        ],
        "ipmo.carehomes.actions",
    )
    | {"IngestError": "ipmo.carehomes.ingest"}
)
