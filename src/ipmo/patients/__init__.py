"""Patients of the ICS and their GP-record facts (conditions, observations, medication issues,
admissions): part of the spine.

Published names (other packages import only these): the tables :class:`Patient`,
:class:`Condition`, :class:`Observation`, :class:`MedicationIssue`, :class:`Admission`; NHS number
checks :func:`normalise_nhs_number`, :class:`InvalidNhsNumber`, :func:`is_synthetic`; and the
patient banner every patient page shows, :func:`banner` / :func:`referral_banner`.
"""

from ipmo.patients.identity import InvalidNhsNumber, is_synthetic, normalise_nhs_number
from ipmo.patients.models import Admission, Condition, MedicationIssue, Observation, Patient

__all__ = [
    "Admission",
    "Condition",
    "InvalidNhsNumber",
    "MedicationIssue",
    "Observation",
    "Patient",
    "banner",
    "is_synthetic",
    "normalise_nhs_number",
    "referral_banner",
]


def __getattr__(name: str):
    # the banner reads relationships (ipmo.security), which itself imports the patient tables:
    # loaded on first use so importing the tables never needs the security package
    if name in ("banner", "referral_banner"):
        from ipmo.patients import service

        return getattr(service, name)
    raise AttributeError(name)
