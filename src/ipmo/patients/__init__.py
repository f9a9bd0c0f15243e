"""Patients of the ICS and their GP-record facts (conditions, observations, medication issues,
admissions): part of the spine.

Published names (other packages import only these): the tables :class:`Patient`,
:class:`Condition`, :class:`Observation`, :class:`MedicationIssue`, :class:`Admission`; NHS number
checks :func:`normalise_nhs_number`, :class:`InvalidNhsNumber`, :func:`is_synthetic`. (Finding a
patient and the patient banner are the ``lookup`` package's.)
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
    "is_synthetic",
    "normalise_nhs_number",
]
