"""One place that bounds what a request body may be: its size and, for JSON, its depth.

Every route sits behind :class:`RequestLimits`: a body over ``Settings.max_body_bytes`` gets 413
before any handler reads it (workforce uploads had no limit at all), and JSON nested deeper than
:data:`ipmo.limits.MAX_JSON_DEPTH` gets 400 (the FHIR validators recursed past Python's stack at
~115 levels). FHIR routes and FHIR content types get an OperationOutcome, others problem JSON.
Uploads with a tighter limit (a medication list, an ESR extract) still check their own.

The body is read here and handed on unchanged; it is bounded, so buffering it costs at most the
limit per request.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ipmo.fhir.outcome import operation_outcome
from ipmo.limits import MAX_JSON_DEPTH, json_too_deep
from ipmo.web.asgi import HttpMiddleware

_NO_BODY_METHODS = ("GET", "HEAD", "OPTIONS", "DELETE")


def _refuse(scope: Scope, headers: Headers, status: int, code: str, message: str) -> JSONResponse:
    fhir = scope["path"].startswith("/fhir") or "fhir" in headers.get("content-type", "")
    if fhir:
        return JSONResponse(
            operation_outcome(code, message),
            status_code=status,
            media_type="application/fhir+json",
        )
    return JSONResponse({"detail": message}, status_code=status)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body a middleware has already read, in one message,
    then passes on whatever comes next (the disconnect)."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _is_json(content_type: str, body: bytes) -> bool:
    if "json" in content_type:
        return True
    return not content_type and body.lstrip()[:1] in (b"{", b"[")


class RequestLimits(HttpMiddleware):
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        super().__init__(app)
        self.max_body_bytes = max_body_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        bodiless = declared in (None, "0") and "transfer-encoding" not in headers
        if scope["method"] in _NO_BODY_METHODS and bodiless:
            await self.app(scope, receive, send)
            return
        too_large = f"the request body is larger than {self.max_body_bytes:,} bytes"
        if declared is not None:
            if not declared.isdigit():
                await _refuse(scope, headers, 400, "invalid", "bad Content-Length")(
                    scope, receive, send
                )
                return
            if int(declared) > self.max_body_bytes:
                await _refuse(scope, headers, 413, "too-costly", too_large)(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away; nothing to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await _refuse(scope, headers, 413, "too-costly", too_large)(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        content_type = headers.get("content-type", "").lower()
        if body and _is_json(content_type, body) and json_too_deep(body):
            too_deep = f"the JSON is nested too deep (more than {MAX_JSON_DEPTH} levels)"
            await _refuse(scope, headers, 400, "too-costly", too_deep)(scope, receive, send)
            return

        await self.app(scope, replaying(body, receive), send)
