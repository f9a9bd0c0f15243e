"""Find a patient and see their summary; the patient banner every patient page shows.

This sits above the security spine (every read is relationship-checked and audited), so it is
kept apart from ``ipmo.patients`` (the identity and registration tables and NHS number checks),
which security itself reads: the two in one package made a package cycle.
"""

from ipmo.lookup.resources import patient_resource
from ipmo.lookup.service import age_on, banner, format_nhs_number, referral_banner, summary

__all__ = [
    "age_on",
    "banner",
    "format_nhs_number",
    "patient_resource",
    "referral_banner",
    "summary",
]
