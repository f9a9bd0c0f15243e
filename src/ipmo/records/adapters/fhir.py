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

from collections.abc import Callable
from datetime import date, timedelta
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
from ipmo.records.canonical import MedItem, NotUsed, SourceDocument, content_hash
from ipmo.records.normalise import summarise_dosage
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
    "suspended": "on-hold",  # STU3 MedicationRequest
}
_COURSE = {
    "acute": "acute",
    "continuous": "repeat",
    "continuous-repeating-dispensing": "repeat-dispensing",
    "continuous-repeat-dispensing": "repeat-dispensing",  # EPS medicationrequest-course-of-therapy
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


ORDER_INTENTS = frozenset({"order", "original-order", "instance-order", "reflex-order"})
KINDS = ("gp", "pharmacy", "hospital", "specialist")
UNKNOWN_KIND = "unknown"
# ODS organisation role codes (https://fhir.nhs.uk/CodeSystem/organisation-role, as EPS sends
# them in Organization.type) → source kind
_ROLE_KIND = {
    "76": ("gp", "a GP practice"),
    "182": ("pharmacy", "a pharmacy"),
    "197": ("hospital", "an NHS trust"),
    "198": ("hospital", "an NHS trust site"),
}
# the organisations table's kinds (ipmo.organisations.OrgKind values) → source kind
ORG_KIND_TO_SOURCE = {"practice": "gp", "pcn": "gp", "pharmacy": "pharmacy", "trust": "hospital"}
_GP_CATEGORIES = frozenset({"community", "primarycare", "repeat", "repeat-dispensing"})
_HOSPITAL_CATEGORIES = frozenset({"inpatient", "outpatient", "discharge", "leave"})
# a line may be dated ahead (an ``intended`` start), but not by more than this: a start date in
# 2999 is a malformed message, refused (issue 12)
MAX_DAYS_AHEAD = 366
_STU3_PROFILE = ("/STU3/", "CareConnect-")
_R4_PROFILE = ("UKCore-",)
_STATUS_TEXT = {"cancelled": "cancelled", "declined": "declined", "not-taken": "not taken"}


class _Dates:
    """The dates a message itself carries, for lines that carry none (issue 13 item 2)."""

    def __init__(self, index: BundleIndex) -> None:
        self.recorded: dict[int, date] = {}  # id(resource) → its signature's Provenance.recorded
        self.only_recorded: date | None = None
        provenances = list(index.of_type("Provenance"))
        for prov in provenances:
            when = fhir_date(prov.get("recorded"))
            if when is None:
                continue
            for target in prov.get("target") or []:
                res = index.resolve(target)
                if res is not None:
                    self.recorded.setdefault(id(res), when)
        if len(provenances) == 1:
            self.only_recorded = fhir_date(provenances[0].get("recorded"))
        root = index.root
        self.timestamp = fhir_date(root.get("timestamp")) if root.get("resourceType") else None
        self.timestamp_source = "Bundle.timestamp"

    def request(self, res: Resource) -> tuple[date | None, str | None]:
        """authoredOn, else validityPeriod.start, else the signature, else the message time."""
        when = fhir_date(res.get("authoredOn"))
        if when:
            return when, "authoredOn"
        validity = (res.get("dispenseRequest") or {}).get("validityPeriod") or {}
        when = fhir_date(validity.get("start"))
        if when:
            return when, "dispenseRequest.validityPeriod.start"
        when = self.recorded.get(id(res)) or self.only_recorded
        if when:
            return when, "Provenance.recorded"
        if self.timestamp:
            return self.timestamp, self.timestamp_source
        return None, None

    def dispense(self, res: Resource) -> tuple[date | None, str | None]:
        for element in ("whenHandedOver", "whenPrepared"):
            when = fhir_date(res.get(element))
            if when:
                return when, element
        if self.timestamp:
            return self.timestamp, self.timestamp_source
        return None, None


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _singular(unit: str) -> str:
    unit = unit.strip().lower()
    return unit[:-1] if unit.endswith("s") else unit


def dispense_supply(
    res: Resource, dosages: list[dict[str, Any]]
) -> tuple[float | None, str | None]:
    """Days a dispense lasts: ``daysSupply``, else quantity ÷ the daily dose of its dosage
    (same unit, regular doses only); ``(None, None)`` when neither says (records.current D1
    then uses its stated default)."""
    days = _num((res.get("daysSupply") or {}).get("value"))
    if days is not None:
        return days, "daysSupply"
    quantity = res.get("quantity") or {}
    amount_value = _num(quantity.get("value"))
    amount, per_day, as_needed = summarise_dosage(dosages)
    if amount_value is None or amount is None or not per_day or as_needed:
        return None, None
    dose_text, _, dose_unit = amount.partition(" ")
    dose = _num(dose_text) if "-" not in dose_text else None
    unit = str(quantity.get("unit") or "")
    if dose is None or (unit and _singular(unit) != _singular(dose_unit)):
        return None, None
    return round(amount_value / (dose * per_day), 2), "quantity ÷ daily dose"


def _item_from(
    index: BundleIndex, res: Resource, version: str, warnings: list[str], dates: _Dates
) -> MedItem:
    rtype = res["resourceType"]
    where = f"{rtype}/{res.get('id')}"
    raw_status = str(res.get("status", "unknown"))
    if raw_status not in _STATUS:
        raise FhirInputError(
            "value",
            f"{where}: status {raw_status!r} is not a FHIR {rtype} status",
            f"{rtype}.status",
        )
    name, code, system, form = _medication(index, res)
    dosages = _dosages(res, version)
    route = None
    if dosages and dosages[0].get("route"):
        route = concept_text(dosages[0]["route"])
    reason = (
        concept_text((res.get("statusReason") or [None])[0])
        if isinstance(res.get("statusReason"), list)
        else concept_text(res.get("statusReason") or res.get("reasonNotTaken", [None])[0])
    )
    item = MedItem(
        name=name,
        code=code,
        code_system=system,
        form=form,
        status=_STATUS[raw_status],
        dosage=dosages or None,
        dose_text=_dose_text(dosages, warnings, where),
        route=route,
        category=_category(res),
        resource_type=rtype,
        resource_id=res.get("id"),
        resource_version=(res.get("meta") or {}).get("versionId"),
        status_reason=reason or _STATUS_TEXT.get(raw_status),
        prescriber_type=_ext_code(res, "PrescribingOrganizationType")
        or _ext_code(res, "PrescribingAgency"),
    )
    if rtype == "MedicationStatement":
        period = res.get("effectivePeriod") or {}
        for element, value in (
            ("effectiveDateTime", res.get("effectiveDateTime")),
            ("effectivePeriod.start", period.get("start")),
            ("dateAsserted", res.get("dateAsserted")),
        ):
            when = fhir_date(value)
            if when:
                item.authored_on, item.date_source = when, element
                break
        item.end_date = fhir_date(period.get("end"))
        item.last_issued = _ext_date(res, "LastIssueDate")
    elif rtype == "MedicationRequest":
        item.authored_on, item.date_source = dates.request(res)
        validity = (res.get("dispenseRequest") or {}).get("validityPeriod") or {}
        item.end_date = fhir_date(validity.get("end"))
        if res.get("intent") in ORDER_INTENTS:  # an issue: its date is the last issue
            item.last_issued = item.authored_on
    else:  # MedicationDispense
        handed, item.date_source = dates.dispense(res)
        item.authored_on = handed
        item.last_issued = handed
        item.supply_days, item.supply_basis = dispense_supply(res, dosages)
        item.prescriber_type = (
            item.prescriber_type
            or _ext_code(res, "SupplyType")
            or ((first_coding(res.get("type")) or {}).get("code"))
        )
    _check_not_far_ahead(item, where, rtype, dates)
    return item


def _check_not_far_ahead(item: MedItem, where: str, rtype: str, dates: _Dates) -> None:
    if item.authored_on is None:
        return
    # measured from the message's own time when it has one, so the check does not drift
    reference = dates.timestamp or date.today()
    if item.authored_on > reference + timedelta(days=MAX_DAYS_AHEAD):
        element = item.date_source or "date"
        raise FhirInputError(
            "value",
            f"{where}: {element} {item.authored_on.isoformat()} is more than a year after "
            f"{'the message' if dates.timestamp else 'today'}; a medication line cannot start then",
            f"{rtype}.{element}",
        )


def _refs(res: Resource, key: str) -> list[dict[str, Any]]:
    value = res.get(key)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _checked_number(number: str) -> str:
    try:
        return normalise_nhs_number(number)
    except InvalidNhsNumber as exc:
        raise FhirInputError(
            "value", f"invalid NHS number in the payload: {exc}", "Patient.identifier"
        ) from None


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
            numbers.add(_checked_number(number))
        elif subject.get("reference"):
            refs.add(subject["reference"])
    if len(numbers) > 1 or (not numbers and len(refs) > 1):
        raise FhirInputError(
            "business-rule",
            f"the payload mixes {max(len(numbers), len(refs))} patients; send one patient's "
            "medication per payload",
            "subject",
        )
    # a Bundle with a second Patient (another NHS number) is malformed even when no line
    # refers to it: which patient the message is about cannot be trusted (issue 12)
    listed: set[str] = set()
    for patient in index.of_type("Patient"):
        try:  # a Patient no line refers to is checked only against the others
            listed.add(normalise_nhs_number(nhs_number_of(patient) or ""))
        except InvalidNhsNumber:
            continue
    if len(listed | numbers) > 1:
        raise FhirInputError(
            "business-rule",
            f"the Bundle holds {len(listed | numbers)} patients with different NHS numbers; "
            "send one patient's medication per payload",
            "Bundle.entry.resource.ofType(Patient).identifier",
        )
    if numbers:
        return numbers.pop(), None
    return None, refs.pop() if refs else None


def _check_profiles(index: BundleIndex, version: str) -> None:
    """Refuse content whose ``meta.profile`` names the other FHIR version (issue 12): an STU3
    CareConnect profile on R4 content, or a UK Core (R4) profile on STU3 content."""
    wrong = _STU3_PROFILE if version != STU3 else _R4_PROFILE
    other = "STU3" if version != STU3 else "R4"
    for res in index.resources:
        for profile in (res.get("meta") or {}).get("profile") or []:
            if any(part in str(profile) for part in wrong):
                raise FhirInputError(
                    "structure",
                    f"{res.get('resourceType')}/{res.get('id')} claims the FHIR {other} profile "
                    f"{profile!r} but its content is FHIR {version}",
                    f"{res.get('resourceType')}.meta.profile",
                )


def _source_org(index: BundleIndex, meds: list[Resource]) -> str | None:
    for res in meds:
        for key in ("informationSource", "performer", "requester"):
            for ref in _refs(res, key):
                target = (
                    index.resolve(ref.get("actor") or ref, res) if isinstance(ref, dict) else None
                )
                code = ods_code_of(_organisation(index, target))
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


def _organisation(index: BundleIndex, target: Resource | None) -> Resource | None:
    """The Organization a reference means (directly, or a PractitionerRole's organization)."""
    if target is None:
        return None
    if target.get("resourceType") == "PractitionerRole":
        return index.resolve(target.get("organization"), target)
    return target if target.get("resourceType") == "Organization" else None


OrgKindLookup = Callable[[str], str | None]


def _org_kind(org: Resource | None, lookup: OrgKindLookup | None) -> tuple[str, str] | None:
    """(source kind, what the organisation is) from the organisations table, else its ODS role."""
    if org is None:
        return None
    code = ods_code_of(org)
    if code and lookup is not None:
        kind = lookup(code)
        if kind in ORG_KIND_TO_SOURCE:
            return ORG_KIND_TO_SOURCE[kind], f"{code} is a {kind} in the organisations table"
    for concept in org.get("type") or []:
        for coding in (concept or {}).get("coding") or []:
            role = str(coding.get("code") or "").removeprefix("RO")
            if role in _ROLE_KIND:
                kind, what = _ROLE_KIND[role]
                return kind, f"{code or 'the organisation'} is {what} (ODS role {role})"
    return None


def infer_kind(
    index: BundleIndex,
    version: str,
    meds: list[Resource],
    items: list[MedItem],
    lookup: OrgKindLookup | None = None,
) -> tuple[str, str]:
    """(source kind, reason) from the content, most telling evidence first (issue 13 item 5);
    ``UNKNOWN_KIND`` when nothing tells (the caller is then asked to state it)."""
    for header in index.of_type("MessageHeader"):
        event = (header.get("eventCoding") or {}).get("code")
        if event == "dispense-notification":
            return "pharmacy", "MessageHeader.eventCoding is dispense-notification (a dispenser)"
        found = _org_kind(index.resolve(header.get("sender") or {}), lookup)
        if found:
            return found[0], f"MessageHeader.sender: {found[1]}"
    for res in meds:
        for key in ("informationSource", "performer", "requester"):
            for ref in _refs(res, key):
                if not isinstance(ref, dict):
                    continue
                target = index.resolve(ref.get("actor") or ref, res)
                found = _org_kind(_organisation(index, target), lookup)
                if found:
                    return found[0], f"{res['resourceType']}.{key}: {found[1]}"
    for res in meds:
        if res["resourceType"] == "MedicationStatement" and extensions(res, "LastIssueDate"):
            return "gp", "UK Core MedicationStatementLastIssueDate (a GP system's issue record)"
    if any(i.prescriber_type in ("prescribed-at-gp-practice",) for i in items):
        return "gp", "UK Core MedicationPrescribingOrganizationType prescribed-at-gp-practice"
    if meds and all(r["resourceType"] == "MedicationDispense" for r in meds):
        return "pharmacy", "only MedicationDispense resources (a dispensing record)"
    if version == STU3:
        return "gp", "FHIR STU3 GP Connect (sent by GP systems)"
    for item in items:
        if item.category in _GP_CATEGORIES:
            return "gp", f"a line's category is {item.category!r} (primary care)"
        if item.category in _HOSPITAL_CATEGORIES:
            return "hospital", f"a line's category is {item.category!r} (hospital care)"
    return UNKNOWN_KIND, "nothing in the content says what kind of organisation sent it"


def _precheck(rtype: str, entry_types: list[str]) -> None:
    """Refuse what is not a medication source before paying for validation."""
    if rtype == "MedicationAdministration":
        raise FhirInputError(
            "not-supported",
            "not a medication list source: a MedicationAdministration records one "
            "administration (e.g. on a ward), not a line of the patient's medication list",
            rtype,
        )
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
    if rtype == "Bundle" and not any(
        t in (*MEDICATION_TYPES, "List", "Bundle") for t in entry_types
    ):
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


def _name_or_none(index: BundleIndex, res: Resource) -> str | None:
    try:
        return _medication(index, res)[0]
    except FhirInputError:
        return None


def _fold_repeat_issues(items: list[MedItem], intents: dict[int, str]) -> list[MedItem]:
    """Repeat-dispensing (and repeat) issues of one medicine with no authorisation in the
    payload are one line: EPS sends one ``original-order`` then ``instance-order``s, each a
    MedicationRequest (issue 13 item 4). The line is dated from the first, issued at the last."""
    out: list[MedItem] = []
    seen: dict[tuple[str, str | None, str], MedItem] = {}
    for item in items:
        if item.category not in ("repeat", "repeat-dispensing") or id(item) not in intents:
            out.append(item)
            continue
        key = (item.code or item.name.lower(), item.category, item.status)
        line = seen.get(key)
        if line is None:
            seen[key] = item
            out.append(item)
            continue
        if item.authored_on and (line.authored_on is None or item.authored_on < line.authored_on):
            line.authored_on, line.date_source = item.authored_on, item.date_source
        if item.last_issued and (line.last_issued is None or item.last_issued > line.last_issued):
            line.last_issued = item.last_issued
    return out


def _add_up(line: MedItem, part: MedItem) -> None:
    """A further (partial) dispense of the same item: the supplies add up from the first."""
    days = (line.supply_days or 0) + (part.supply_days or 0)
    line.supply_days = days or None
    line.supply_basis = "partial dispenses added up" if days else line.supply_basis
    if part.authored_on and (line.authored_on is None or part.authored_on < line.authored_on):
        line.authored_on, line.date_source = part.authored_on, part.date_source
    if part.last_issued and (line.last_issued is None or part.last_issued > line.last_issued):
        line.last_issued = part.last_issued


def _flatten(root: Resource) -> Resource:
    """A message Bundle that carries a document Bundle (GP Connect Update Record, ITK3: the
    consultation summary with the pharmacy's MedicationDispense inside) read as one Bundle of
    every entry, so the lines inside the document are found (and none is dropped unseen)."""
    if root.get("resourceType") != "Bundle":
        return root
    entries = root.get("entry") or []
    if not any((e.get("resource") or {}).get("resourceType") == "Bundle" for e in entries):
        return root
    flat: list[dict[str, Any]] = []

    def walk(items: list[dict[str, Any]]) -> None:
        for entry in items:
            res = entry.get("resource") or {}
            if res.get("resourceType") == "Bundle":
                walk(res.get("entry") or [])
            else:
                flat.append(entry)

    walk(entries)
    return {**root, "entry": flat}


def from_fhir(
    data: bytes | str,
    *,
    version: str | None = None,
    source_kind: str | None = None,
    source_org_code: str | None = None,
    source_system: str | None = None,
    org_kind: OrgKindLookup | None = None,
) -> SourceDocument:
    """Read one source's FHIR payload; raises :class:`FhirInputError` saying why not."""
    if source_kind is not None and source_kind not in KINDS:
        raise FhirInputError(
            "value",
            f"source_kind {source_kind!r} is not one of {', '.join(KINDS)}",
            "source_kind",
        )
    doc = read_fhir(data, version=version, precheck=_precheck)
    index = BundleIndex(_flatten(doc.resource))
    _check_profiles(index, doc.version)
    warnings = list(doc.warnings)
    dates = _Dates(index)
    not_used: list[NotUsed] = []
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
    for admin in index.of_type("MedicationAdministration"):
        not_used.append(
            NotUsed(
                "a MedicationAdministration records one administration, not a list line",
                f"MedicationAdministration/{admin.get('id')}",
                _name_or_none(index, admin),
            )
        )

    def entered_in_error(res: Resource) -> bool:
        if res.get("status") != "entered-in-error":
            return False
        ref = f"{res['resourceType']}/{res.get('id')}"
        warnings.append(f"{ref} is entered-in-error: not used")
        not_used.append(NotUsed("entered in error", ref, _name_or_none(index, res)))
        return True

    items: list[MedItem] = []
    by_request: dict[int, MedItem] = {}
    statements = [r for r in meds if r["resourceType"] == "MedicationStatement"]
    requests = [r for r in meds if r["resourceType"] == "MedicationRequest"]
    dispenses = [r for r in meds if r["resourceType"] == "MedicationDispense"]
    for st in statements:
        if entered_in_error(st):
            continue
        item = _item_from(index, st, doc.version, warnings, dates)
        for ref in _refs(st, "basedOn"):
            plan = index.resolve(ref)
            if plan and plan.get("resourceType") == "MedicationRequest":
                by_request[id(plan)] = item
                item.category = (
                    item.category
                    if item.category not in (None, "community")
                    else (_category(plan) or item.category)
                )
                authorised = fhir_date(plan.get("authoredOn"))
                if authorised:
                    item.authored_on, item.date_source = authorised, "authoredOn (authorisation)"
                if not item.dosage:
                    item.dosage = _dosages(plan, doc.version) or None
                    item.dose_text = item.dose_text or _dose_text(
                        item.dosage or [], warnings, f"MedicationRequest/{plan.get('id')}"
                    )
        items.append(item)
    # plans before orders so that an order can find its plan's line
    issued_alone: dict[int, str] = {}  # id(item) → intent, for requests that are lines alone
    request_items: list[MedItem] = []
    for req in sorted(requests, key=lambda r: r.get("intent") != "plan"):
        key = id(req)  # by identity: EPS resources carry no id (only a fullUrl)
        if entered_in_error(req):
            continue
        if key in by_request:
            continue
        line = None
        for ref in _refs(req, "basedOn"):
            target = index.resolve(ref)
            if target is not None:
                line = by_request.get(id(target))
        if line is not None:  # an issue of a known authorisation: it dates the last issue
            issued, _ = dates.request(req)
            if issued and (line.last_issued is None or issued > line.last_issued):
                line.last_issued = issued
            by_request[key] = line
            continue
        item = _item_from(index, req, doc.version, warnings, dates)
        by_request[key] = item
        if req.get("intent") in ORDER_INTENTS:
            issued_alone[id(item)] = str(req.get("intent"))
        request_items.append(item)
    items.extend(_fold_repeat_issues(request_items, issued_alone))
    dispensed: dict[str, MedItem] = {}
    for disp in dispenses:
        if entered_in_error(disp):
            continue
        line = None
        prescription = None
        for ref in _refs(disp, "authorizingPrescription"):
            target = index.resolve(ref, disp)
            prescription = ref.get("reference") or prescription
            if target is not None:
                line = by_request.get(id(target))
        item = _item_from(index, disp, doc.version, warnings, dates)
        if line is not None:
            # the dispense names the product most specifically (UK Core guidance)
            line.name, line.code, line.code_system = item.name, item.code, item.code_system
            if item.last_issued and (
                line.last_issued is None or item.last_issued > line.last_issued
            ):
                line.last_issued = item.last_issued
            continue
        # partial dispenses of one prescription item add up (issue 13 item 4)
        group = f"{prescription}|{item.code or item.name.lower()}" if prescription else None
        if group and group in dispensed and item.status == dispensed[group].status:
            _add_up(dispensed[group], item)
            continue
        if group:
            dispensed[group] = item
        items.append(item)
    nhs_number, patient_ref = _patient(index, meds + ([med_list] if med_list else []))
    root = index.root
    meta = root.get("meta") or {}
    if source_kind:
        kind, kind_reason = source_kind, "stated by the caller"
    else:
        kind, kind_reason = infer_kind(index, doc.version, meds, items, org_kind)
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
        not_used=not_used,
        kind_reason=kind_reason,
        resources_read=len(meds) + sum(1 for _ in index.of_type("MedicationAdministration")),
    )
