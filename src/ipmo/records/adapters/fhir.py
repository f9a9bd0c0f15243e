"""FHIR R4 UK Core and STU3 GP Connect medication payloads → :class:`SourceDocument`.

Both versions are read by one mapper because the medication resources differ in only a few
places (STANDARDS.md §0.1, §5): STU3 ``Dosage.dose[x]``/``rate[x]`` are wrapped in R4
``doseAndRate``; GP Connect's CareConnect extensions (PrescriptionType, PrescribingAgency,
MedicationStatementLastIssueDate) map to the UK Core ones (``courseOfTherapyType``,
``medicationPrescribingOrganizationType``, ``medicationStatementLastIssueDate``).

Lines, not resources (GP Connect Access Record: Structured, "medication resource
relationships"): a MedicationStatement + its authorisation (MedicationRequest ``intent=plan``)
+ its issues (``intent=order``, ``basedOn`` the plan) is *one* line; an issue or dispense with no
statement is a line of its own. When both a request and a dispense name a product, the dispense
is the more specific (UK Core MedicationStatement guidance, ``medication[x]``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ipmo.fhir.bundles import (
    BundleIndex,
    Resource,
    concept_text,
    extensions,
    fhir_date,
    first_coding,
    nhs_number_of,
    ods_code_of,
)
from ipmo.fhir.versions import STU3, FhirInputError, read_fhir
from ipmo.patients.identity import InvalidNhsNumber, normalise_nhs_number
from ipmo.records.canonical import MedItem, SourceDocument, content_hash
from ipmo.terminology.dosage import DoseTextError, dosages_to_text

MEDICATION_TYPES = ("MedicationStatement", "MedicationRequest", "MedicationDispense")
ACCEPTED = (*MEDICATION_TYPES, "Medication", "List", "Bundle")
MEDICATION_LIST_CODE = "933361000000108"  # SNOMED "Medications and medical devices"
DMD_SYSTEMS = ("https://dmd.nhs.uk", "http://snomed.info/sct", "https://dmd.nhs.uk/")
_STATUS = {
    "active": "active",
    "completed": "completed",
    "stopped": "stopped",
    "cancelled": "stopped",
    "declined": "stopped",
    "on-hold": "on-hold",
    "intended": "intended",
    "draft": "intended",
    "preparation": "intended",
    "in-progress": "active",
    "entered-in-error": "entered-in-error",
    "not-taken": "stopped",
    "unknown": "unknown",
}
_COURSE = {
    "acute": "acute",
    "continuous": "repeat",
    "continuous-repeating-dispensing": "repeat-dispensing",
    "repeat": "repeat",
    "repeat-dispensing": "repeat-dispensing",
    "delayed-prescribing": "acute",
    "acute-handwritten": "acute",
    "repeat-handwritten": "repeat",
}


def _r4_dosage(dosage: dict[str, Any], version: str) -> dict[str, Any]:
    """STU3 Dosage → R4: ``dose[x]``/``rate[x]`` move into one ``doseAndRate`` entry."""
    if version != STU3:
        return dosage
    out = {k: v for k, v in dosage.items() if not k.startswith(("dose", "rate"))}
    entry = {k: v for k, v in dosage.items() if k.startswith(("dose", "rate"))}
    if entry:
        out["doseAndRate"] = [entry]
    return out


def _dosages(resource: Resource, version: str) -> list[dict[str, Any]]:
    raw = resource.get("dosage") or resource.get("dosageInstruction") or []
    return [_r4_dosage(d, version) for d in raw]


def _dose_text(dosages: list[dict[str, Any]], warnings: list[str], where: str) -> str | None:
    texts = [d["text"] for d in dosages if d.get("text")]
    if texts:
        return "; ".join(texts)
    if not dosages:
        return None
    try:
        return dosages_to_text(dosages) or None
    except DoseTextError as exc:
        warnings.append(f"{where}: dosage kept structured but cannot be shown as text ({exc})")
        return None


def _medication(
    index: BundleIndex, resource: Resource
) -> tuple[str, str | None, str | None, str | None]:
    """(name, code, code system, form) from ``medicationCodeableConcept`` or the Medication."""
    concept = resource.get("medicationCodeableConcept")
    form = None
    if concept is None and resource.get("medicationReference"):
        med = index.resolve(resource["medicationReference"], resource)
        if med is None:
            ref = resource["medicationReference"].get("reference")
            display = resource["medicationReference"].get("display")
            if display:
                return display, None, None, None
            what = repr(ref) if ref else "by identifier only"
            raise FhirInputError(
                "not-found",
                f"{resource['resourceType']}/{resource.get('id')} refers to medication {what}, "
                "which is not in the payload",
                f"{resource['resourceType']}.medicationReference",
            )
        concept = med.get("code")
        form = concept_text(med.get("form"))
    coding = first_coding(concept, *DMD_SYSTEMS) or first_coding(concept)
    name = (concept or {}).get("text") or (coding or {}).get("display")
    if not name:
        raise FhirInputError(
            "required",
            f"{resource['resourceType']}/{resource.get('id')} names no medication",
            f"{resource['resourceType']}.medication",
        )
    code = (coding or {}).get("code")
    system = (coding or {}).get("system")
    return str(name), code, system, form


def _ext_code(resource: Resource | None, url_part: str) -> str | None:
    for ext in extensions(resource, url_part):
        coding = first_coding(ext.get("valueCodeableConcept"))
        if coding and coding.get("code"):
            return str(coding["code"])
        if ext.get("valueCode"):
            return str(ext["valueCode"])
    return None


def _ext_date(resource: Resource | None, url_part: str) -> date | None:
    for ext in extensions(resource, url_part):
        value = ext.get("valueDateTime") or ext.get("valueDate")
        if value:
            return fhir_date(value)
    return None


def _category(resource: Resource) -> str | None:
    course = first_coding(resource.get("courseOfTherapyType"))
    if course and course.get("code") in _COURSE:
        return _COURSE[course["code"]]
    gpc = _ext_code(resource, "PrescriptionType")
    if gpc:
        return _COURSE.get(gpc, gpc)
    cats = resource.get("category")
    cats = cats if isinstance(cats, list) else [cats] if cats else []
    for cat in cats:
        coding = first_coding(cat)
        if coding and coding.get("code"):
            return str(coding["code"])
    return None


def _item_from(index: BundleIndex, res: Resource, version: str, warnings: list[str]) -> MedItem:
    rtype = res["resourceType"]
    name, code, system, form = _medication(index, res)
    dosages = _dosages(res, version)
    where = f"{rtype}/{res.get('id')}"
    route = None
    if dosages and dosages[0].get("route"):
        route = concept_text(dosages[0]["route"])
    item = MedItem(
        name=name,
        code=code,
        code_system=system,
        form=form,
        status=_STATUS.get(str(res.get("status", "unknown")), "unknown"),
        dosage=dosages or None,
        dose_text=_dose_text(dosages, warnings, where),
        route=route,
        category=_category(res),
        resource_type=rtype,
        resource_id=res.get("id"),
        resource_version=(res.get("meta") or {}).get("versionId"),
        status_reason=concept_text((res.get("statusReason") or [None])[0])
        if isinstance(res.get("statusReason"), list)
        else concept_text(res.get("statusReason") or res.get("reasonNotTaken", [None])[0]),
        prescriber_type=_ext_code(res, "PrescribingOrganizationType")
        or _ext_code(res, "PrescribingAgency"),
    )
    if rtype == "MedicationStatement":
        period = res.get("effectivePeriod") or {}
        item.authored_on = fhir_date(
            res.get("effectiveDateTime") or period.get("start")
        ) or fhir_date(res.get("dateAsserted"))
        item.end_date = fhir_date(period.get("end"))
        item.last_issued = _ext_date(res, "LastIssueDate")
    elif rtype == "MedicationRequest":
        item.authored_on = fhir_date(res.get("authoredOn"))
        validity = (res.get("dispenseRequest") or {}).get("validityPeriod") or {}
        item.end_date = fhir_date(validity.get("end"))
        if res.get("intent") == "order":
            item.last_issued = item.authored_on
    else:  # MedicationDispense
        handed = fhir_date(res.get("whenHandedOver") or res.get("whenPrepared"))
        item.authored_on = handed
        item.last_issued = handed
        item.prescriber_type = (
            item.prescriber_type
            or _ext_code(res, "SupplyType")
            or ((first_coding(res.get("type")) or {}).get("code"))
        )
    return item


def _refs(res: Resource, key: str) -> list[dict[str, Any]]:
    value = res.get(key)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _patient(index: BundleIndex, meds: list[Resource]) -> tuple[str | None, str | None]:
    """(checked NHS number, patient reference); refuses a payload about two patients."""
    numbers: set[str] = set()
    refs: set[str] = set()
    for res in meds:
        subject = res.get("subject") or res.get("patient")
        if not subject:
            continue
        target = index.resolve(subject)
        number = nhs_number_of(target) if target else None
        ident = subject.get("identifier") or {}
        if not number and ident.get("system") == "https://fhir.nhs.uk/Id/nhs-number":
            number = ident.get("value")
        if number:
            try:
                numbers.add(normalise_nhs_number(number))
            except InvalidNhsNumber as exc:
                raise FhirInputError(
                    "value", f"invalid NHS number in the payload: {exc}", "Patient.identifier"
                ) from None
        elif subject.get("reference"):
            refs.add(subject["reference"])
    if len(numbers) > 1 or (not numbers and len(refs) > 1):
        raise FhirInputError(
            "business-rule",
            f"the payload mixes {max(len(numbers), len(refs))} patients; send one patient's "
            "medication per payload",
        )
    if numbers:
        return numbers.pop(), None
    return None, refs.pop() if refs else None


def _source_org(index: BundleIndex, meds: list[Resource]) -> str | None:
    for res in meds:
        for key in ("informationSource", "performer", "requester"):
            for ref in _refs(res, key):
                target = index.resolve(ref.get("actor") or ref) if isinstance(ref, dict) else None
                code = ods_code_of(target)
                if code:
                    return code
    for header in index.of_type("MessageHeader"):
        code = ods_code_of(index.resolve(header.get("sender") or {}))
        if code:
            return code
        ident = (header.get("sender") or {}).get("identifier") or {}
        if ident.get("value"):
            return str(ident["value"])
    for org in index.of_type("Organization"):
        code = ods_code_of(org)
        if code:
            return code
    return None


def _guess_kind(version: str, meds: list[Resource], items: list[MedItem]) -> str:
    if version == STU3:
        return "gp"
    if meds and all(r["resourceType"] == "MedicationDispense" for r in meds):
        return "pharmacy"
    if any(
        i.category in ("community", "primarycare", "repeat", "repeat-dispensing") for i in items
    ):
        return "gp"
    return "hospital"


def _precheck(rtype: str, entry_types: list[str]) -> None:
    """Refuse what is not a medication source before paying for validation."""
    if rtype not in ACCEPTED:
        raise FhirInputError(
            "not-supported",
            f"{rtype} is not a medication source; send a Bundle, List, MedicationStatement, "
            "MedicationRequest or MedicationDispense",
            rtype,
        )
    if rtype == "Medication":
        raise FhirInputError(
            "not-supported",
            "a Medication on its own describes a product, not what a patient takes; send it in a "
            "Bundle with the MedicationStatement/Request/Dispense that refers to it",
            "Medication",
        )
    if rtype == "Bundle" and not any(t in (*MEDICATION_TYPES, "List") for t in entry_types):
        raise FhirInputError(
            "not-supported",
            "the payload holds no medication resources (found: "
            + ", ".join(sorted({"Bundle", *entry_types}))
            + ")",
        )


def _medication_list(index: BundleIndex) -> Resource | None:
    for lst in index.of_type("List"):
        coding = first_coding(lst.get("code"))
        if coding and coding.get("code") == MEDICATION_LIST_CODE:
            return lst
    return None


def from_fhir(
    data: bytes | str,
    *,
    version: str | None = None,
    source_kind: str | None = None,
    source_org_code: str | None = None,
    source_system: str | None = None,
) -> SourceDocument:
    """Read one source's FHIR payload; raises :class:`FhirInputError` saying why not."""
    doc = read_fhir(data, version=version, precheck=_precheck)
    index = BundleIndex(doc.resource)
    warnings = list(doc.warnings)
    meds = [r for r in index.of_type(*MEDICATION_TYPES)]
    med_list = _medication_list(index)
    if index.root["resourceType"] == "List":
        coding = first_coding(index.root.get("code"))
        if not coding or coding.get("code") != MEDICATION_LIST_CODE:
            raise FhirInputError(
                "not-supported",
                f"List code {coding.get('code') if coding else None!r} is not a medication list "
                f"(expected SNOMED {MEDICATION_LIST_CODE} 'Medications and medical devices')",
                "List.code",
            )
        missing = [e["item"].get("reference") for e in index.root.get("entry") or []]
        if missing:
            raise FhirInputError(
                "not-found",
                f"the List refers to {len(missing)} resource(s) not in the payload "
                f"(first: {missing[0]!r}); send a Bundle that includes them",
                "List.entry",
            )
    if not meds and med_list is None:
        kinds = sorted({r.get("resourceType", "?") for r in index.resources})
        raise FhirInputError(
            "not-supported",
            "the payload holds no medication resources (found: " + ", ".join(kinds) + ")",
        )
    items: list[MedItem] = []
    by_request: dict[str, MedItem] = {}
    statements = [r for r in meds if r["resourceType"] == "MedicationStatement"]
    requests = [r for r in meds if r["resourceType"] == "MedicationRequest"]
    dispenses = [r for r in meds if r["resourceType"] == "MedicationDispense"]
    for st in statements:
        if st.get("status") == "entered-in-error":
            warnings.append(f"MedicationStatement/{st.get('id')} is entered-in-error: ignored")
            continue
        item = _item_from(index, st, doc.version, warnings)
        for ref in _refs(st, "basedOn"):
            plan = index.resolve(ref)
            if plan and plan.get("resourceType") == "MedicationRequest":
                by_request[f"MedicationRequest/{plan.get('id')}"] = item
                item.category = (
                    item.category
                    if item.category not in (None, "community")
                    else (_category(plan) or item.category)
                )
                item.authored_on = fhir_date(plan.get("authoredOn")) or item.authored_on
                if not item.dosage:
                    item.dosage = _dosages(plan, doc.version) or None
                    item.dose_text = item.dose_text or _dose_text(
                        item.dosage or [], warnings, f"MedicationRequest/{plan.get('id')}"
                    )
        items.append(item)
    # plans before orders so that an order can find its plan's line
    for req in sorted(requests, key=lambda r: r.get("intent") != "plan"):
        key = f"MedicationRequest/{req.get('id')}"
        if req.get("status") == "entered-in-error":
            warnings.append(f"{key} is entered-in-error: ignored")
            continue
        if key in by_request:
            continue
        line = None
        for ref in _refs(req, "basedOn"):
            target = index.resolve(ref)
            if target is not None:
                line = by_request.get(f"MedicationRequest/{target.get('id')}")
        if line is not None:  # an issue of a known authorisation: it dates the last issue
            issued = fhir_date(req.get("authoredOn"))
            if issued and (line.last_issued is None or issued > line.last_issued):
                line.last_issued = issued
            by_request[key] = line
            continue
        item = _item_from(index, req, doc.version, warnings)
        by_request[key] = item
        items.append(item)
    for disp in dispenses:
        if disp.get("status") == "entered-in-error":
            warnings.append(f"MedicationDispense/{disp.get('id')} is entered-in-error: ignored")
            continue
        line = None
        for ref in _refs(disp, "authorizingPrescription"):
            target = index.resolve(ref)
            if target is not None:
                line = by_request.get(f"MedicationRequest/{target.get('id')}")
        item = _item_from(index, disp, doc.version, warnings)
        if line is not None:
            # the dispense names the product most specifically (UK Core guidance)
            line.name, line.code, line.code_system = item.name, item.code, item.code_system
            if item.last_issued and (
                line.last_issued is None or item.last_issued > line.last_issued
            ):
                line.last_issued = item.last_issued
            continue
        items.append(item)
    nhs_number, patient_ref = _patient(index, meds + ([med_list] if med_list else []))
    root = index.root
    meta = root.get("meta") or {}
    kind = source_kind or _guess_kind(doc.version, meds, items)
    return SourceDocument(
        source_kind=kind,
        source_org_code=source_org_code or _source_org(index, meds) or "UNKNOWN",
        source_system=source_system or ("gpconnect" if doc.version == STU3 else "fhir-r4"),
        items=items,
        nhs_number=nhs_number,
        patient_ref=patient_ref,
        fhir_version=doc.version,
        resource_id=root.get("id"),
        resource_version=meta.get("versionId"),
        as_of=fhir_date(root.get("timestamp") or meta.get("lastUpdated") or root.get("date")),
        warnings=warnings,
        content_hash=content_hash(doc.resource),
    )
