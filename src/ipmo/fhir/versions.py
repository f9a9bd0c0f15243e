"""Read a FHIR payload (JSON or XML, R4/R4B or STU3) into a validated plain dict.

NHS data arrives in two FHIR versions (STANDARDS.md §0.1): GP Connect Access Record: Structured
is STU3/CareConnect, UK Core and the Digital Medicines IG are R4 (4.0.1). ``fhir.resources``
has no plain R4, so R4 payloads are validated with ``fhir.resources.R4B`` (the medication
resources are unchanged R4 → R4B) and STU3 with ``fhir.resources.STU3``; the R5 default is never
used (it renames MedicationStatement and would lose data).

The result is a plain JSON dict (``model_dump(mode="json")`` of the validated model), because
the adapters only read a few elements and dicts are fast and version-neutral. Every failure is a
:class:`FhirInputError` that becomes an ``OperationOutcome`` saying exactly why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import defusedxml.ElementTree as SafeET
from pydantic import ValidationError

from ipmo.limits import InputTooComplex, check_json_depth, check_xml_depth

R4 = "R4"
STU3 = "STU3"
SUPPORTED = (R4, STU3)

_FHIR_NS = "{http://hl7.org/fhir}"
# Resource types that only exist in another FHIR version: name the version in the error.
_OTHER_VERSION_TYPES = {
    "MedicationUsage": "R5",
    "MedicationOrder": "DSTU2",
    "MedicationKnowledge": None,  # R4 has it but it is not a medication *record*
}
_JEKYLL = re.compile(r"^\s*\{%.*?%\}\s*$", re.MULTILINE)
# A comment, or a CDATA section (kept: a "<!--" inside one is text, not a comment).
_XML_COMMENT_OR_CDATA = re.compile(r"<!\[CDATA\[.*?\]\]>|<!--.*?-->", re.DOTALL)


class FhirInputError(ValueError):
    """Input that cannot be accepted; ``code`` is a FHIR IssueType (invalid, structure, ...)."""

    def __init__(self, code: str, diagnostics: str, expression: str | None = None) -> None:
        super().__init__(diagnostics)
        self.code = code
        self.diagnostics = diagnostics
        self.expression = expression

    def outcome(self) -> dict[str, Any]:
        issue: dict[str, Any] = {
            "severity": "error",
            "code": self.code,
            "diagnostics": self.diagnostics,
        }
        if self.expression:
            issue["expression"] = [self.expression]
        return {"resourceType": "OperationOutcome", "issue": [issue]}


@dataclass(frozen=True)
class FhirDocument:
    version: str  # "R4" | "STU3"
    resource: dict[str, Any]
    source_format: str  # "json" | "xml"
    # tolerated upstream defects (e.g. "urn:..." ids, which FHIR forbids); kept for provenance
    warnings: tuple[str, ...] = ()


def strip_jekyll(text: str) -> str:
    """Drop Jekyll/Liquid lines (``{% highlight json %}``) that wrap the GP Connect examples."""
    return _JEKYLL.sub("", text)


def strip_xml_comments(text: str) -> str:
    """Remove XML comments. They carry no FHIR content, and fhir.resources' XML reader mistakes a
    comment (e.g. the explanatory ones in the BaRS and UK Core examples) for an extension and
    rejects the resource (``Bundle.id__ext``). Call on well-formed XML only (checked first)."""
    return _XML_COMMENT_OR_CDATA.sub(lambda m: m[0] if m[0].startswith("<![") else "", text)


def _decode(data: bytes | str) -> str:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise FhirInputError("invalid", "the file is not UTF-8 text") from None
    return strip_jekyll(data).strip()


_PROFILE_XML = re.compile(r'<profile\s+value="([^"]+)"')
_PROFILE_JSON = re.compile(r'"profile"\s*:\s*\[([^\]]*)\]')
_ID_OK = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def _profiles_say(text: str) -> str | None:
    """The version named by the ``meta.profile`` URLs (CareConnect/GP Connect STU3, UK Core R4)."""
    profiles = " ".join(_PROFILE_XML.findall(text) + _PROFILE_JSON.findall(text))
    if re.search(r"/STU3/|CareConnect|GPConnect-", profiles):
        return STU3
    if re.search(r"UKCore|fhir\.nhs\.uk/StructureDefinition|fhir\.nhs\.uk/R4/", profiles):
        return R4
    return None


def safe_id(value: str) -> str:
    """A FHIR ``id`` (``[A-Za-z0-9\\-.]{1,64}``) from a malformed one such as ``urn:patient-1``."""
    return re.sub(r"[^A-Za-z0-9\-.]", "-", value)[:64] or "-"


def _repair_ids_json(node: Any, warnings: list[str]) -> None:
    if isinstance(node, dict):
        rid = node.get("id")
        if "resourceType" in node and isinstance(rid, str) and not _ID_OK.match(rid):
            node["id"] = safe_id(rid)
            warnings.append(f"{node['resourceType']}.id {rid!r} is not a valid FHIR id")
        for value in node.values():
            _repair_ids_json(value, warnings)
    elif isinstance(node, list):
        for value in node:
            _repair_ids_json(value, warnings)


def _repair_ids_xml(text: str, warnings: list[str]) -> str:
    def fix(m: re.Match[str]) -> str:
        if _ID_OK.match(m[2]):
            return m[0]
        warnings.append(f"id {m[2]!r} is not a valid FHIR id")
        return f"{m[1]}{safe_id(m[2])}{m[3]}"

    return re.sub(r'(<id\s+value=")([^"]*)(")', fix, text)


def _models(version: str):
    if version == R4:
        from fhir.resources.R4B import get_fhir_model_class
    else:
        from fhir.resources.STU3 import get_fhir_model_class
    return get_fhir_model_class


def _first_error(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    where = ""
    for part in err.get("loc", ()):
        if part == "__root__":
            continue
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    return where, err.get("msg", "invalid")


def _model_class(version: str, resource_type: str):
    try:
        return _models(version)(resource_type)
    except (KeyError, ValueError, AttributeError):
        return None


def _check_type(resource_type: Any) -> str:
    if not isinstance(resource_type, str) or not resource_type:
        raise FhirInputError("structure", "resourceType is missing", "resourceType")
    if resource_type in _OTHER_VERSION_TYPES and _OTHER_VERSION_TYPES[resource_type]:
        version = _OTHER_VERSION_TYPES[resource_type]
        raise FhirInputError(
            "not-supported",
            f"{resource_type} is a FHIR {version} resource; only FHIR R4 (UK Core) and STU3 "
            "(GP Connect) are supported",
            "resourceType",
        )
    return resource_type


def _validate_json(obj: dict[str, Any], version: str, as_given: bool = False) -> dict[str, Any]:
    cls = _model_class(version, obj["resourceType"])
    if cls is None:
        raise FhirInputError(
            "not-supported",
            f"{obj['resourceType']} is not a FHIR {version} resource",
            "resourceType",
        )
    model = cls.model_validate(obj)
    if as_given:
        return obj
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def _validate_xml(text: str, resource_type: str, version: str) -> dict[str, Any]:
    cls = _model_class(version, resource_type)
    if cls is None:
        raise FhirInputError(
            "not-supported", f"{resource_type} is not a FHIR {version} resource", "resourceType"
        )
    model = cls.model_validate_xml(text.encode("utf-8"))
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def _xml_entry_types(root: Any) -> list[str]:
    out = []
    for entry in root.findall(f"{_FHIR_NS}entry"):
        res = entry.find(f"{_FHIR_NS}resource")
        if res is not None and len(res):
            out.append(res[0].tag[len(_FHIR_NS) :])
    return out


def read_fhir(
    data: bytes | str,
    *,
    version: str | None = None,
    precheck: Callable[[str, list[str]], None] | None = None,
    as_given: bool = False,
) -> FhirDocument:
    """Parse and validate one FHIR resource (often a Bundle) in JSON or XML.

    ``version`` forces R4 or STU3; otherwise the profiles decide, then R4 is tried before STU3.
    ``precheck(resource_type, bundle_entry_types)`` runs before the (costly) validation so a
    caller can refuse content it would never accept, with its own reason.
    ``as_given`` (JSON only) returns the parsed input once it validates instead of the model's
    dump, saving about half the cost; values the model would coerce keep the sender's JSON type
    (``"true"`` stays a string) and explicit nulls stay, so only for callers that read strings.
    """
    if version is not None and version not in SUPPORTED:
        raise FhirInputError(
            "not-supported", f"FHIR version {version!r} is not supported (use R4 or STU3)"
        )
    text = _decode(data)
    if not text:
        raise FhirInputError("invalid", "the file is empty")
    if text.startswith("<"):
        fmt = "xml"
        try:
            root = SafeET.fromstring(text)
        except SafeET.ParseError as exc:
            raise FhirInputError("invalid", f"malformed XML: {exc}") from None
        except Exception as exc:  # defusedxml refuses entities/DTDs
            raise FhirInputError("security", f"unsafe XML refused: {exc}") from None
        try:  # the FHIR XML reader recurses per level (a 500 past Python's stack)
            check_xml_depth(root)
        except InputTooComplex as exc:
            raise FhirInputError("too-costly", str(exc)) from None
        if not root.tag.startswith(_FHIR_NS):
            raise FhirInputError("structure", "the XML is not in the FHIR namespace")
        text = strip_xml_comments(text)
        resource_type = _check_type(root.tag[len(_FHIR_NS) :])
        if precheck:
            precheck(resource_type, _xml_entry_types(root))
        hint = _profiles_say(text)
        warnings: list[str] = []
        text = _repair_ids_xml(text, warnings)
        validate: Any = lambda v: _validate_xml(text, resource_type, v)  # noqa: E731
    else:
        fmt = "json"
        try:  # the validators recurse per level: a 500 at ~115 nested extensions
            check_json_depth(text)
        except InputTooComplex as exc:
            raise FhirInputError("too-costly", str(exc)) from None
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FhirInputError("invalid", f"malformed JSON: {exc}") from None
        if not isinstance(obj, dict):
            raise FhirInputError("structure", "a FHIR resource must be a JSON object")
        resource_type = _check_type(obj.get("resourceType"))
        if precheck:
            entry = obj.get("entry")
            entries = entry if isinstance(entry, list) else []
            types = [
                str((e.get("resource") or {}).get("resourceType"))
                for e in entries
                if isinstance(e, dict) and isinstance(e.get("resource"), dict)
            ]
            precheck(resource_type, types)
        hint = _profiles_say(text)
        warnings = []
        _repair_ids_json(obj, warnings)
        validate = lambda v: _validate_json(obj, v, as_given)  # noqa: E731
    order = [version] if version else ([hint] if hint else [R4, STU3])
    if not version and hint:
        order.append(STU3 if hint == R4 else R4)
    first: FhirInputError | None = None
    for v in order:
        try:
            return FhirDocument(v, validate(v), fmt, tuple(warnings))
        except ValidationError as exc:
            where, msg = _first_error(exc)
            path = f"{resource_type}.{where}" if where else resource_type
            err = FhirInputError(
                "structure", f"not a valid FHIR {v} {resource_type}: {path}: {msg}", path
            )
        except FhirInputError as exc:
            err = exc
        except (ValueError, TypeError, KeyError) as exc:
            # fhir-core's XML reader raises KeyError on an element the version does not have
            what = f"unknown element {exc}" if isinstance(exc, KeyError) else str(exc)
            err = FhirInputError("structure", f"not a valid FHIR {v} {resource_type}: {what}")
        first = first or err
    assert first is not None
    raise first
