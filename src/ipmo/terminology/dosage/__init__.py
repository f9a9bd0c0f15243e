"""NHS dose syntax: structured FHIR R4 ``Dosage`` ↔ dose text.

``dosage_to_text`` / ``dosages_to_text`` render (NHS England digital medicines dose-to-text
rules); ``parse_dose_text`` reads common free-text instructions back where unambiguous.
"""

from ipmo.terminology.dosage.parse import DoseParseError, parse_dose_text
from ipmo.terminology.dosage.render import DoseTextError, dosage_to_text, dosages_to_text

__all__ = [
    "DoseParseError",
    "DoseTextError",
    "dosage_to_text",
    "dosages_to_text",
    "parse_dose_text",
]
