"""HTML error pages in the NHS.UK layout for browsers (404, 405, 500 …); API and FHIR callers keep
JSON. Wording follows the NHS digital service manual's "page not found" and "there is a problem
with the service" patterns."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from ipmo.fhir.outcome import operation_outcome
from ipmo.web.templating import render

log = logging.getLogger("ipmo.web")

PAGES = {
    404: (
        "Page not found",
        [
            "If you typed the web address, check it is correct.",
            "If you pasted the web address, check you copied the entire address.",
        ],
    ),
    405: ("Page not found", ["This address cannot be used that way."]),
    500: (
        "Sorry, there is a problem with the service",
        ["Try again later.", "What you were doing may not have been saved."],
    ),
}


def _signed_in(request: Request) -> None:
    """Resolve the principal (if the session has one) so the header shows the user and their
    navigation: a 404 from routing runs no dependency that would have done it."""
    if getattr(request.state, "principal", None) is not None or "session" not in request.scope:
        return
    from ipmo.web.deps import current_principal

    try:
        with Session(request.app.state.engine) as session:
            current_principal(request, session)
    except Exception:  # noqa: BLE001 - signed out, revoked or store down: the page still shows
        return


def install(app: FastAPI, wants_json: Callable[[Request], bool]) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if request.url.path.startswith("/fhir/") and exc.status_code >= 400:
            # a FHIR client gets an OperationOutcome for every error (an unknown resource type
            # or a method the path does not allow, too)
            code = {404: "not-found", 405: "not-supported"}.get(exc.status_code, "processing")
            return JSONResponse(
                operation_outcome(code, f"{request.method} {request.url.path}: {exc.detail}"),
                status_code=exc.status_code,
                media_type="application/fhir+json",
                headers=getattr(exc, "headers", None),
            )
        if wants_json(request) or exc.status_code < 400:
            return await http_exception_handler(request, exc)
        _signed_in(request)
        title, lines = PAGES.get(exc.status_code, (None, []))
        if title is None:
            title, lines = "There is a problem", [str(exc.detail)]
        elif exc.status_code == 404 and exc.detail and exc.detail != "Not Found":
            lines = [str(exc.detail).rstrip(".") + "."]  # a domain's own "no referral X"
        return render(
            request,
            "error.html",
            {"title": title, "lines": lines},
            status_code=exc.status_code,
        )

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if wants_json(request):
            return JSONResponse({"detail": "internal server error"}, status_code=500)
        title, lines = PAGES[500]
        return render(request, "error.html", {"title": title, "lines": lines}, status_code=500)
