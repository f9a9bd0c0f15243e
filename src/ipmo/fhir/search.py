"""FHIR R4 search plumbing shared by every ``/fhir/R4`` route: strict parameters, paging bundles.

- :func:`strict_search` — a route dependency: any query parameter the route does not declare is
  refused with a 400 ``OperationOutcome`` naming it (FHIR R4 §3.1.1.5 "Handling errors": a server
  may reject unknown parameters when the client asks for ``handling=strict``; ipmo is always
  strict, so a typo can never silently widen a search). The declared parameters are read from the
  route itself (FastAPI's dependant), so the CapabilityStatement lists exactly what is accepted.
- :func:`searchset` — a ``searchset`` Bundle with ``total``, ``self``/``next``/``previous`` links
  (``_count`` + ``_offset``, the paging HAPI FHIR and Medplum use) and ``_summary=count``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from ipmo.fhir.outcome import FhirError

FHIR_JSON = "application/fhir+json"
DEFAULT_COUNT = 50
MAX_COUNT = 500
# result parameters every search accepts (FHIR R4 §3.1.1.5.x); _format only as json
RESULT_PARAMETERS = ("_count", "_offset", "_summary", "_format")


def declared_parameters(route: APIRoute) -> list[str]:
    """The query parameters a route declares (its own and its dependencies'), by their alias."""
    names: list[str] = []

    def walk(dependant: Dependant) -> None:
        names.extend(p.alias for p in dependant.query_params if p.alias not in names)
        for sub in dependant.dependencies:
            walk(sub)

    walk(route.dependant)
    return names


def strict_search(request: Request) -> None:
    """Refuse any query parameter the matched route does not declare (see module docstring)."""
    route = request.scope.get("route")
    allowed = set(declared_parameters(route)) if isinstance(route, APIRoute) else set()
    for name in request.query_params:
        if name not in allowed:
            raise FhirError(
                400,
                "not-supported",
                f"unknown search parameter {name!r} for {request.url.path} "
                f"(supported: {', '.join(sorted(allowed)) or 'none'})",
                name,
            )
    fmt = request.query_params.get("_format")
    if fmt is not None and fmt not in ("json", "application/json", FHIR_JSON):
        raise FhirError(406, "not-supported", f"_format {fmt!r}: only JSON is served", "_format")


def search_controls(
    request: Request,
    _strict: None = Depends(strict_search),
    count: str | None = Query(None, alias="_count", description="page size (max 500)"),
    offset: str | None = Query(None, alias="_offset", description="first match of the page"),
    summary: str | None = Query(None, alias="_summary", description="count: the total only"),
    fmt: str | None = Query(None, alias="_format", description="json only"),
) -> None:
    """The result parameters of every search type interaction; values are read by
    :func:`searchset` (declared here so :func:`strict_search` and the CapabilityStatement know
    them)."""


def page_size(value: str | None) -> int:
    if value is None:
        return DEFAULT_COUNT
    try:
        count = int(value)
    except ValueError:
        raise FhirError(400, "value", f"_count {value!r} is not a whole number", "_count") from None
    if count < 0:
        raise FhirError(400, "value", "_count must not be negative", "_count")
    return min(count, MAX_COUNT)


def page_offset(value: str | None) -> int:
    if value is None:
        return 0
    try:
        offset = int(value)
    except ValueError:
        raise FhirError(
            400, "value", f"_offset {value!r} is not a whole number", "_offset"
        ) from None
    if offset < 0:
        raise FhirError(400, "value", "_offset must not be negative", "_offset")
    return offset


def _link(request: Request, **changes: int) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    params += [(k, str(v)) for k, v in changes.items()]
    base = str(request.url.replace(query=""))
    return f"{base}?{urlencode(params)}" if params else base


def searchset(
    request: Request,
    matches: Sequence[dict[str, Any]],
    includes: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A ``searchset`` Bundle of one page of ``matches`` (plus ``includes``, mode ``include``).

    ``total`` counts all matches; ``next``/``previous`` links carry ``_count``/``_offset``."""
    summary = request.query_params.get("_summary")
    if summary not in (None, "count", "false"):
        raise FhirError(400, "not-supported", f"_summary={summary} is not supported", "_summary")
    count = page_size(request.query_params.get("_count"))
    offset = page_offset(request.query_params.get("_offset"))
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(matches),
        "link": [{"relation": "self", "url": str(request.url)}],
    }
    if summary == "count":
        return bundle
    page = list(matches[offset : offset + count])
    if offset + count < len(matches) and count > 0:
        bundle["link"].append(
            {"relation": "next", "url": _link(request, _count=count, _offset=offset + count)}
        )
    if offset > 0:
        bundle["link"].append(
            {
                "relation": "previous",
                "url": _link(request, _count=count, _offset=max(0, offset - count)),
            }
        )
    base = str(request.base_url).rstrip("/") + "/fhir/R4"
    entries = [_entry(base, r, "match") for r in page]
    # included resources go with the page that references them; with one page of few matches
    # (one patient's list) that is all of them
    if page:
        entries += [_entry(base, r, "include") for r in includes]
    if entries:
        bundle["entry"] = entries
    return bundle


def _entry(base: str, resource: dict[str, Any], mode: str) -> dict[str, Any]:
    return {
        "fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
        "resource": resource,
        "search": {"mode": mode},
    }


def fhir_response(
    body: dict[str, Any], status_code: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status_code, media_type=FHIR_JSON, headers=headers)


def content_etag(resource: dict[str, Any]) -> str:
    """A weak ETag for a resource ipmo keeps no version of: a digest of its content, so it
    changes exactly when what the client would read changes."""
    digest = hashlib.sha256(json.dumps(resource, sort_keys=True).encode()).hexdigest()[:16]
    return f'W/"{digest}"'


def version_etag(version: int | str) -> str:
    """A weak ETag from a resource version (FHIR R4 §3.1.0.5 "Managing Resource Contention")."""
    return f'W/"{version}"'


def version_from_if_match(value: str | None) -> int | None:
    """The version an ``If-Match: W/"n"`` header names (``None`` when absent); malformed → 400."""
    if value is None:
        return None
    text = value.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    try:
        return int(text)
    except ValueError:
        raise FhirError(
            400, "value", f'If-Match {value!r} is not W/"<version>"', "If-Match"
        ) from None


# ---- date search parameters ----------------------------------------------------------------
# FHIR R4 §3.1.1.4.2 (https://hl7.org/fhir/R4/search.html#date): a value is a date or dateTime of
# any precision, optionally prefixed (eq, ne, gt, lt, ge, le); it stands for the range its
# precision implies ("2026-03" is all of March). Several values are ANDed (date=ge..&date=le..).
_DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le")


def _date_range(text: str, name: str) -> tuple[datetime, datetime]:
    """The ``[start, end)`` a search date stands for, in UTC (naive, as the store keeps them)."""
    try:
        if len(text) == 4:
            start = datetime(int(text), 1, 1)
            return start, start.replace(year=start.year + 1)
        if len(text) == 7:
            start = datetime(int(text[:4]), int(text[5:7]), 1)
            nxt = start.replace(day=28) + timedelta(days=4)
            return start, nxt.replace(day=1)
        if len(text) == 10:
            start = datetime.fromisoformat(text)
            return start, start + timedelta(days=1)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FhirError(
            400, "value", f"{name}: {text!r} is not a FHIR date or dateTime", name
        ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment, moment + timedelta(seconds=1)


def date_filter(
    values: Sequence[str] | None, name: str
) -> Callable[[date | datetime | None], bool]:
    """A test for a resource's date against every ``values`` (ANDed); a resource without the
    date never matches a date search. Malformed values → 400 naming ``name``."""
    tests: list[tuple[str, datetime, datetime]] = []
    for raw in values or ():
        prefix = raw[:2] if raw[:2] in _DATE_PREFIXES else "eq"
        text = raw[2:] if raw[:2] in _DATE_PREFIXES else raw
        tests.append((prefix, *_date_range(text, name)))

    def matches(value: date | datetime | None) -> bool:
        if not tests:
            return True
        if value is None:
            return False
        if isinstance(value, datetime):
            start = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
            end = start + timedelta(seconds=1)
        else:
            start = datetime(value.year, value.month, value.day)
            end = start + timedelta(days=1)
        for prefix, lo, hi in tests:
            ok = {
                "eq": lo <= start and end <= hi,
                "ne": not (lo <= start and end <= hi),
                "gt": end > hi,
                "lt": start < lo,
                "ge": end > lo,
                "le": start < hi,
            }[prefix]
            if not ok:
                return False
        return True

    return matches


def instant(value: datetime) -> str:
    """A FHIR ``instant`` (``meta.lastUpdated``) from a stored UTC time."""
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def includes(
    values: Sequence[str] | None, allowed: Sequence[str], name: str = "_include"
) -> set[str]:
    """The ``_include`` (or ``_revinclude``) values asked for, each one the route offers (its
    ``x-fhir-include`` list, which the CapabilityStatement publishes); another → 400."""
    chosen = set(values or ())
    for value in chosen - set(allowed):
        raise FhirError(
            400,
            "not-supported",
            f"{name}={value} is not supported (supported: {', '.join(allowed)})",
            name,
        )
    return chosen
