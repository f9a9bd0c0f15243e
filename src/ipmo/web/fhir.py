"""The FHIR API's own plumbing: ``/fhir/R4/metadata``, NHS request-tracing headers, and the
``fhir.py`` modules of the domains (their FHIR routes).

NHS England API conventions (https://digital.nhs.uk/developer/guides-and-documentation/
building-healthcare-software/api-standards): a client may send ``X-Request-ID`` (unique per
request) and ``X-Correlation-ID`` (spanning a transaction); the server echoes both on the
response so the two sides' logs can be joined.
"""

from __future__ import annotations

import logging
import re
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.types import Message, Receive, Scope, Send

import ipmo
from ipmo.fhir.capability import capability_statement
from ipmo.fhir.outcome import operation_outcome
from ipmo.fhir.search import FHIR_JSON
from ipmo.hooks import domain_modules
from ipmo.logs import TRACE_IDS
from ipmo.web.asgi import HttpMiddleware

TRACE_HEADERS = (b"x-request-id", b"x-correlation-id")
# an id is echoed only if it looks like one (UUIDs, tokens): no header injection, no free text
_TRACE_ID = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")
log = logging.getLogger("ipmo.fhir")
# What the FHIR API can answer in (FHIR R4 §3.1.0.1.10 "Content Types and encodings"): JSON only
# (no route renders XML; XML is accepted as *input* where it was before: source lists and
# $process-message), NDJSON for the bulk export's files. Anything else in Accept: 406.
SERVED_TYPES = (
    "application/fhir+json",
    "application/json",
    "application/json+fhir",  # the DSTU2/STU3 name some clients still send
    "application/fhir+ndjson",
    "application/ndjson",
)


def acceptable(accept: str | None) -> bool:
    """Does an ``Accept`` header admit a type the FHIR API serves (``q=0`` excludes)?"""
    if not accept or not accept.strip():
        return True
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        media = media.lower()
        if any(p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for p in params):
            continue
        if media in ("*/*", "application/*") or media in SERVED_TYPES:
            return True
    return False


class TraceHeaders(HttpMiddleware):
    """Echo ``X-Request-ID`` / ``X-Correlation-ID`` on every response (all paths: a client
    tracing a request does not care which router answered it), put them on every log line
    written meanwhile (:data:`ipmo.logs.TRACE_IDS`), log one line per FHIR request (method, the
    route's template, status, time: no identifiers), and refuse an ``Accept`` the FHIR API
    cannot serve with 406 and an OperationOutcome."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", []))
        echo = [
            (name, headers[name])
            for name in TRACE_HEADERS
            if name in headers and _TRACE_ID.match(headers[name])
        ]
        ids = dict(echo)
        token = TRACE_IDS.set(
            (
                ids.get(b"x-request-id", b"-").decode(),
                ids.get(b"x-correlation-id", b"-").decode(),
            )
        )
        status = [0]

        async def send_with_trace(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                out = MutableHeaders(scope=message)
                for name, value in echo:
                    out[name.decode()] = value.decode()
            await send(message)

        fhir = scope["path"].startswith("/fhir/")
        started = time.perf_counter()
        try:
            accept = headers.get(b"accept", b"").decode("latin-1")
            if fhir and not acceptable(accept):
                refused = JSONResponse(
                    operation_outcome(
                        "not-supported",
                        f"cannot answer in {accept[:80]!r}: the FHIR API serves "
                        "application/fhir+json (and NDJSON for bulk export files)",
                        ["Accept"],
                    ),
                    status_code=406,
                    media_type=FHIR_JSON,
                )
                await refused(scope, receive, send_with_trace)
            else:
                await self.app(scope, receive, send_with_trace)
        finally:
            if fhir:
                route = scope.get("route")
                log.info(
                    "%s %s %s %.1f ms",
                    scope["method"],
                    getattr(route, "path", "(no route)"),
                    status[0],
                    (time.perf_counter() - started) * 1000,
                )
            TRACE_IDS.reset(token)


def install(app: FastAPI) -> None:
    """Mount the domains' FHIR routes and the CapabilityStatement describing them."""
    for module in domain_modules("fhir", exclude=("web", "fhir")):
        app.include_router(module.router)

    @app.get("/fhir/R4/metadata", tags=["FHIR"])
    def metadata(request: Request) -> JSONResponse:
        """The CapabilityStatement, generated from the FHIR routes mounted (no sign-in needed:
        FHIR clients read it first, and it holds no data)."""
        base = str(request.base_url).rstrip("/") + "/fhir/R4"
        body = capability_statement(request.app.openapi(), base, ipmo.__version__)
        return JSONResponse(body, media_type=FHIR_JSON)

    app.add_middleware(TraceHeaders)
