"""The FHIR API's own plumbing: ``/fhir/R4/metadata``, NHS request-tracing headers, and the
``fhir.py`` modules of the domains (their FHIR routes).

NHS England API conventions (https://digital.nhs.uk/developer/guides-and-documentation/
building-healthcare-software/api-standards): a client may send ``X-Request-ID`` (unique per
request) and ``X-Correlation-ID`` (spanning a transaction); the server echoes both on the
response so the two sides' logs can be joined.
"""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import ipmo
from ipmo.fhir.capability import capability_statement
from ipmo.fhir.search import FHIR_JSON
from ipmo.hooks import domain_modules

TRACE_HEADERS = (b"x-request-id", b"x-correlation-id")
# an id is echoed only if it looks like one (UUIDs, tokens): no header injection, no free text
_TRACE_ID = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")


class TraceHeaders:
    """Echo ``X-Request-ID`` / ``X-Correlation-ID`` on every response (all paths: a client
    tracing a request does not care which router answered it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        echo = [
            (name, value)
            for name, value in scope.get("headers", [])
            if name in TRACE_HEADERS and _TRACE_ID.match(value)
        ]
        if not echo:
            await self.app(scope, receive, send)
            return

        async def send_with_trace(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in echo:
                    headers[name.decode()] = value.decode()
            await send(message)

        await self.app(scope, receive, send_with_trace)


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
