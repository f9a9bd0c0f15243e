"""The reconciled record as FHIR R4 (UK Core): ``List`` + ``MedicationStatement``s +
``DetectedIssue`` per open discrepancy + ``Provenance``.

Shape: STANDARDS.md §7.3 step 7 — a UK Core List coded 933361000000108 "Medications and medical
devices" (``mode=working`` for the live list), whose entries are MedicationStatements with
``derivedFrom`` naming the contributing source resources; discrepancies as DetectedIssue
(UK Core has no discrepancy code system, so a local one is used, as the notes recommend); a
Provenance for audit. Amendments made on the record (an accepted proposed change: stop, start,
dose change) show in the statements' status, dosage and ``note`` (``statusReason`` for a stop).
Plain dicts, checked against ``fhir.resources.R4B`` in the tests.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from ipmo.fhir.bundles import NHS_NUMBER_SYSTEM
from ipmo.records.canonical import SourceDocument
from ipmo.records.current import explain
from ipmo.records.reconcile import Discrepancy, Line, Reconciliation, line_facts

DMD_SYSTEM = "https://dmd.nhs.uk"
SNOMED = "http://snomed.info/sct"
DISCREPANCY_SYSTEM = "https://ipmo.nhs.uk/CodeSystem/medication-reconciliation-discrepancy"
DECISION_SYSTEM = "https://ipmo.nhs.uk/CodeSystem/medication-reconciliation-decision"
_NS = uuid.UUID("6f1c1d2e-7c3a-4a43-9a9e-2f1f4b3f0b11")


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(_NS, "|".join(parts)))


def _patient(nhs_number: str) -> dict[str, Any]:
    return {"identifier": {"system": NHS_NUMBER_SYSTEM, "value": nhs_number}}


def _medication(line: Line) -> dict[str, Any]:
    if line.vmp:
        return {
            "coding": [
                {"system": DMD_SYSTEM, "code": line.vmp, "display": line.vmp_name or line.name}
            ]
        }
    if line.vtm:
        return {
            "coding": [
                {"system": DMD_SYSTEM, "code": line.vtm, "display": line.vtm_name or line.name}
            ]
        }
    return {"text": line.name}


def medication_statement(line: Line, nhs_number: str, asserted: str) -> dict[str, Any]:
    derived = []
    for label, items in line.by_source.items():
        for item in items:
            ref: dict[str, Any] = {"display": f"{label}: {item.name}"}
            if item.resource_id and item.resource_type and item.resource_type != "csv":
                ref["identifier"] = {
                    "system": f"urn:ipmo:source:{label}",
                    "value": f"{item.resource_type}/{item.resource_id}",
                }
            derived.append(ref)
    ms: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "id": _uuid(nhs_number, line.key),
        "meta": {
            "profile": ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-MedicationStatement"]
        },
        "status": "active" if line.status == "current" else "stopped",
        "medicationCodeableConcept": _medication(line),
        "subject": _patient(nhs_number),
        "dateAsserted": asserted,
        "derivedFrom": derived,
    }
    if line.dose_text:
        ms["dosage"] = [{"text": line.dose_text}]
    if line.changes:  # amendments made on the record (records.amend): said in notes
        ms["note"] = [
            {"authorString": c["by"], "time": c["on"], "text": c["text"]} for c in line.changes
        ]
        stops = [c for c in line.changes if c["kind"] == "stop"]
        if line.status == "stopped" and stops and stops[-1]["reason"]:
            ms["statusReason"] = [{"text": stops[-1]["reason"]}]
    return ms


def detected_issue(
    d: Discrepancy, nhs_number: str, ms_ids: dict[str, str], identified: str
) -> dict[str, Any]:
    issue: dict[str, Any] = {
        "resourceType": "DetectedIssue",
        "id": _uuid(nhs_number, "issue", d.id),
        # UK Core has no DetectedIssue profile: the R4 base definition
        "meta": {"profile": ["http://hl7.org/fhir/StructureDefinition/DetectedIssue"]},
        "identifier": [{"system": "urn:ipmo:discrepancy", "value": d.id}],
        "status": "preliminary",
        "code": {
            "coding": [
                {"system": DISCREPANCY_SYSTEM, "code": d.type, "display": d.type.replace("_", " ")}
            ]
        },
        "severity": d.severity,
        "patient": _patient(nhs_number),
        "identifiedDateTime": identified,
        "detail": f"{d.medication}: {d.detail}",
    }
    implicated = [{"reference": f"urn:uuid:{ms_ids[k]}"} for k in d.key.split(",") if k in ms_ids]
    if implicated:
        issue["implicated"] = implicated
    return issue


def _resource(thing: Any) -> str:
    if getattr(thing, "resource_type", None) and getattr(thing, "resource_id", None):
        return f"{thing.resource_type}/{thing.resource_id} "
    resource = getattr(thing, "resource", None)
    return f"{resource} " if resource else ""


def publish_bundle(
    rec: Reconciliation,
    nhs_number: str,
    *,
    open_ids: set[str] | None = None,
    version: int | None = None,
    recorded: datetime | None = None,
) -> dict[str, Any]:
    """A FHIR R4 ``collection`` Bundle with the List, its statements, open issues and Provenance."""
    when = (recorded or datetime.now(UTC)).replace(microsecond=0).isoformat()
    statements = [medication_statement(line, nhs_number, when) for line in rec.lines]
    ms_ids = {line.key: ms["id"] for line, ms in zip(rec.lines, statements, strict=True)}
    issues = [
        detected_issue(d, nhs_number, ms_ids, when)
        for d in rec.discrepancies
        if open_ids is None or d.id in open_ids
    ]
    list_id = _uuid(nhs_number, "list")
    med_list: dict[str, Any] = {
        "resourceType": "List",
        "id": list_id,
        "meta": {"profile": ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-List"]},
        "status": "current",
        "mode": "working",
        "title": "Reconciled medication list",
        "code": {
            "coding": [
                {
                    "system": SNOMED,
                    "code": "933361000000108",
                    "display": "Medications and medical devices",
                }
            ]
        },
        "subject": _patient(nhs_number),
        "date": when,
        "entry": [{"item": {"reference": f"urn:uuid:{ms['id']}"}} for ms in statements],
    }
    if version is not None:
        med_list["meta"]["versionId"] = str(version)
    if not statements:
        med_list["emptyReason"] = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/list-empty-reason",
                    "code": "nilknown",
                }
            ]
        }
        del med_list["entry"]
    # lines left out of the list, each with its reason (issue 13: nothing dropped silently)
    notes = [
        {"text": f"not current: {label}: {_resource(i)}{i.name}: {explain(i, i.clause)}"}
        for label, i in rec.not_current
        if i.clause
    ] + [
        {"text": f"not used: {label}: {_resource(n)}{n.name or 'no name'}: {n.reason}"}
        for label, n in rec.not_used
    ]
    if notes:
        med_list["note"] = notes
    # what made this version of the list and its statements: the reconciliation, from the
    # sources named (a stable id per record version, so a client can tell two versions apart)
    provenance = {
        "resourceType": "Provenance",
        "id": _uuid(nhs_number, "provenance", str(version) if version is not None else when),
        "meta": {"profile": ["http://hl7.org/fhir/StructureDefinition/Provenance"]},
        "target": [{"reference": f"urn:uuid:{list_id}"}]
        + [{"reference": f"urn:uuid:{ms['id']}"} for ms in statements],
        "recorded": when,
        "activity": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation",
                    "code": "UPDATE",
                    "display": "revise",
                }
            ]
        },
        "agent": [{"who": {"display": "ipmo medication reconciliation"}}],
        "entity": [{"role": "source", "what": {"display": label}} for label in rec.sources],
    }
    resources = [med_list, *statements, *issues, provenance]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": when,
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }


def as_json(
    rec: Reconciliation,
    nhs_number: str,
    *,
    decisions: dict[str, Any] | None = None,
    sources: list[SourceDocument] | None = None,
) -> dict[str, Any]:
    """The CLI/API JSON shape (issue 4 "Interfaces"), with every line not in the list under
    ``not_current`` (the clause that decided it) or ``not_used`` (the reason) — issue 13."""
    decisions = decisions or {}
    body: dict[str, Any] = {
        "patient": {"nhs_number": nhs_number},
        "index_date": rec.index_date.isoformat(),
        "reference_source": rec.reference,
        "sources": rec.sources,
        "medications": [line.to_json() for line in rec.lines],
        "discrepancies": [
            d.to_json() | ({"decision": decisions[d.id]} if d.id in decisions else {})
            for d in rec.discrepancies
        ],
        "not_current": [
            {
                "source": label,
                "name": item.name,
                "status": item.status,
                "resource": f"{item.resource_type}/{item.resource_id}"
                if item.resource_id
                else None,
                **line_facts(item),
            }
            for label, item in rec.not_current
        ],
        "not_used": [{"source": label, **n.to_json()} for label, n in rec.not_used],
    }
    if sources is not None:
        body["source_kinds"] = [
            {
                "source": label,
                "kind": doc.source_kind,
                "organisation": doc.source_org_code,
                "why": doc.kind_reason,
            }
            for label, doc in zip(rec.sources, sources, strict=True)
        ]
    return body
