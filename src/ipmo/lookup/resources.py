"""FHIR R4 ``Patient`` and ``Organization`` resources (UK Core shape) from ipmo's tables.

Separate from the routes (:mod:`ipmo.lookup.fhir`) so other domains can include a Patient in
their searchsets (``_include=MedicationStatement:patient``) through ``ipmo.lookup``.
"""

from __future__ import annotations

from typing import Any

from ipmo.fhir.bundles import NHS_NUMBER_SYSTEM, ODS_SYSTEMS
from ipmo.fhir.capability import PROFILES
from ipmo.organisations import Organisation
from ipmo.patients import Patient

ODS_SYSTEM = ODS_SYSTEMS[0]


def _identified(resource_type: str, system: str, value: str) -> dict[str, Any]:
    """A UK Core resource whose logical id is its business identifier (NHS number, ODS code)."""
    return {
        "resourceType": resource_type,
        "id": value,
        "meta": {"profile": [PROFILES[resource_type]]},
        "identifier": [{"system": system, "value": value}],
    }


def patient_resource(p: Patient) -> dict[str, Any]:
    """A UK Core Patient: NHS number, name, gender, birth date, registered practice."""
    res = _identified("Patient", NHS_NUMBER_SYSTEM, p.nhs_number) | {
        "name": [{"use": "official", "family": p.family_name, "given": [p.given_name]}],
        "gender": p.sex if p.sex in ("male", "female", "other", "unknown") else "unknown",
        "birthDate": p.birth_date.isoformat(),
    }
    if p.date_of_death:
        res["deceasedDateTime"] = p.date_of_death.isoformat()
    if p.postcode:
        res["address"] = [{"use": "home", "postalCode": p.postcode}]
    if p.practice_code:
        res["generalPractitioner"] = [
            {
                "reference": f"Organization/{p.practice_code}",
                "identifier": {"system": ODS_SYSTEM, "value": p.practice_code},
            }
        ]
    return res


def organization_resource(o: Organisation) -> dict[str, Any]:
    res = _identified("Organization", ODS_SYSTEM, o.ods_code) | {
        "active": bool(o.active),
        "type": [{"text": o.kind}],
        "name": o.name,
    }
    if o.postcode:
        res["address"] = [{"postalCode": o.postcode}]
    if o.parent_code:
        res["partOf"] = {"reference": f"Organization/{o.parent_code}"}
    return res
