"""The CapabilityStatement (``GET /fhir/R4/metadata``), generated from the routes actually mounted.

Nothing here is a hand-kept list of what the server does: the resource types, interactions and
operations come from the ``/fhir/R4/...`` paths and methods of the app's routes, and the search
parameters from the query parameters each search route declares (the same declaration
:func:`ipmo.fhir.search.strict_search` enforces). What a path cannot say is looked up in the small
tables below (a parameter's FHIR type, a type's UK Core profile); a route using a name missing
from them fails the capability test, not silently. Shape: FHIR R4 CapabilityStatement
(https://hl7.org/fhir/R4/capabilitystatement.html), as HAPI FHIR and Medplum publish theirs.
"""

from __future__ import annotations

from typing import Any

from ipmo.fhir.search import RESULT_PARAMETERS

BASE = "/fhir/R4"
UK_CORE = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-"
# the profile each served type declares in meta.profile (UK Core STU3 of the R4 IG)
PROFILES: dict[str, str] = {
    t: f"{UK_CORE}{t}"
    for t in (
        "Patient",
        "Organization",
        "MedicationStatement",
        "Medication",
        "List",
        "Task",
        "ServiceRequest",
        "MedicationRequest",
        "MedicationDispense",
    )
}
# DetectedIssue and Provenance have no UK Core profile: the base R4 definitions
PROFILES["DetectedIssue"] = "http://hl7.org/fhir/StructureDefinition/DetectedIssue"
PROFILES["Provenance"] = "http://hl7.org/fhir/StructureDefinition/Provenance"
# FHIR search parameter types of the parameters ipmo's routes declare
PARAMETER_TYPES: dict[str, tuple[str, str]] = {
    "identifier": ("token", "a business identifier, system|value"),
    "patient": ("reference", "the patient: NHS number, Patient/<nhs number> or system|value"),
    "patient:identifier": ("token", "the patient's NHS number as system|value"),
    "status": ("token", "the resource status (several, comma-separated: any of them)"),
    "_id": ("token", "the logical id"),
    "_lastUpdated": ("date", "when the resource last changed (meta.lastUpdated), ge/le/gt/lt/eq"),
    "authoredon": ("date", "MedicationRequest.authoredOn, with a prefix (ge2025-01-01)"),
    "whenhandedover": ("date", "MedicationDispense.whenHandedOver, with a prefix"),
}
# where an operation is defined (FHIR core unless an IG defines it)
OPERATION_DEFINITIONS = {
    "export": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
}
INTERACTIONS = {
    ("GET", False): "search-type",
    ("POST", False): "create",
    ("GET", True): "read",
    ("PUT", True): "update",
    ("PATCH", True): "patch",
    ("DELETE", True): "delete",
}


def fhir_operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """``(path, METHOD, operation)`` for every ``/fhir/R4/...`` route in the app's OpenAPI
    document (FastAPI derives it from the routes mounted, so it is the routes' own account)."""
    found = []
    for path, item in openapi.get("paths", {}).items():
        if not path.startswith(BASE + "/"):
            continue
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                found.append((path, method.upper(), operation))
    return found


def _interaction(path: str, method: str) -> tuple[str, str]:
    parts = path[len(BASE) + 1 :].split("/")
    if parts == ["metadata"]:
        return ("*", "capabilities")
    if parts[0].startswith("$"):
        return (parts[0], "system-operation")
    if parts[-1].startswith("$"):
        return (parts[0], f"operation:{parts[-1]}")
    return (parts[0], INTERACTIONS[(method, len(parts) > 1)])


def interactions(openapi: dict[str, Any]) -> set[tuple[str, str]]:
    """``(resource type or "$operation", interaction code)`` for every FHIR route mounted."""
    return {_interaction(path, method) for path, method, _ in fhir_operations(openapi)}


def query_parameters(operation: dict[str, Any]) -> list[str]:
    return [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"]


def _definition(name: str) -> str:
    return OPERATION_DEFINITIONS.get(name, f"http://hl7.org/fhir/OperationDefinition/{name}")


def capability_statement(openapi: dict[str, Any], base_url: str, version: str) -> dict[str, Any]:
    by_type: dict[str, dict[str, Any]] = {}
    operations: list[dict[str, Any]] = []
    for rtype, code in sorted(interactions(openapi)):
        if code == "capabilities":
            continue
        if code == "system-operation":
            name = rtype[1:]
            operations.append({"name": name, "definition": _definition(name)})
            continue
        entry = by_type.setdefault(
            rtype,
            {
                "type": rtype,
                "profile": PROFILES[rtype],
                "interaction": [],
                "versioning": "versioned-update" if rtype == "Task" else "no-version",
                "readHistory": False,
                "conditionalCreate": False,
                "conditionalUpdate": False,
            },
        )
        if code.startswith("operation:"):
            name = code.split(":", 1)[1][1:]
            entry.setdefault("operation", []).append(
                {"name": name, "definition": _definition(name)}
            )
        else:
            entry["interaction"].append({"code": code})
    for path, method, operation in fhir_operations(openapi):
        rtype, code = _interaction(path, method)
        if code != "search-type":
            continue
        entry = by_type[rtype]
        for name in query_parameters(operation):
            if name in RESULT_PARAMETERS:
                continue
            if name == "_include":
                entry["searchInclude"] = list(operation.get("x-fhir-include", []))
                continue
            if name == "_revinclude":
                entry["searchRevInclude"] = list(operation.get("x-fhir-revinclude", []))
                continue
            ptype, doc = PARAMETER_TYPES[name]
            entry.setdefault("searchParam", []).append(
                {"name": name, "type": ptype, "documentation": doc}
            )
    rest: dict[str, Any] = {
        "mode": "server",
        "documentation": (
            "Strict search: an unknown parameter is refused with an OperationOutcome naming it. "
            "Paging with _count and _offset (next/previous links); _summary=count. Responses "
            "are application/fhir+json only (another Accept: 406). $export (Bulk Data Access "
            "IG v2): pseudonymised, disclosure-controlled NDJSON for ICS analysts; kick-off "
            "with Prefer: respond-async, poll the Content-Location, DELETE to cancel."
        ),
        "security": {
            "cors": False,
            "service": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                            "code": "OAuth",
                            "display": "OAuth",
                        }
                    ],
                    "text": "Bearer token",
                }
            ],
            "description": (
                "Authorization: Bearer <token> from POST /api/auth/token (OAuth2 password flow) "
                "or `ipmo users token` for a system; the token's role decides the activities "
                "(record.view, referral.receive, ...) and every read of a patient is checked "
                "against a legitimate relationship and audited."
            ),
        },
        "resource": [by_type[t] for t in sorted(by_type)],
    }
    if operations:
        rest["operation"] = operations
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-07",
        "kind": "instance",
        "software": {"name": "ipmo", "version": version},
        "implementation": {
            "description": "Integrated Pharmacy and Medicines Optimisation FHIR API",
            "url": base_url,
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [rest],
    }
