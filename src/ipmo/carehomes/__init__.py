"""Medicines optimisation in care homes (issue 17): eMAR administrations and what they reveal."""

from ipmo.carehomes.administrations import Administration, from_csv, from_fhir
from ipmo.carehomes.findings import RULES as FINDING_RULES
from ipmo.carehomes.findings import Finding, all_findings

__all__ = ["FINDING_RULES", "Administration", "Finding", "all_findings", "from_csv", "from_fhir"]
