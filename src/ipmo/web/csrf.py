"""CSRF defence for cookie-authenticated requests: a synchronizer token plus Origin/Referer.

SameSite=Lax and the Origin check (``web/app.py`` ``SecurityHeaders``, which now also refuses a
foreign Referer when there is no Origin) were the only defence. Now every unsafe request that
rides on the session cookie (and the sign-in form itself, against login CSRF) must carry the
session's token: in the ``csrf_token`` form field (every ``<form method="post">`` renders
``{{ csrf_field() }}``), the ``X-CSRF-Token`` header (the layout's ``<meta name="csrf-token">``
for scripts) or the ``csrf_token`` query parameter (the header's sign-out button, whose macro
takes no hidden field). Requests with an ``Authorization`` header are not cookie-authenticated
and are exempt (OWASP CSRF Prevention Cheat Sheet, "Synchronizer Token Pattern" and "Verifying
Origin With Standard Headers").

The token is a random value kept in the signed session; signing in starts a new session, so the
token changes at sign-in.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import parse_qs

from jinja2 import pass_context
from markupsafe import Markup, escape
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

from ipmo.web.asgi import HttpMiddleware
from ipmo.web.bodies import replaying

FIELD = "csrf_token"
HEADER = "x-csrf-token"
_SESSION_KEY = "csrf"
_SAFE = ("GET", "HEAD", "OPTIONS")
_EXPIRED = "the form has expired or did not come from this site; reload the page and try again"


def csrf_token(session: dict[str, Any]) -> str:
    """The session's token, made on first use."""
    token = session.get(_SESSION_KEY)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session[_SESSION_KEY] = token
    return token


@pass_context
def csrf_field(context: Any) -> Markup:
    """``{{ csrf_field() }}``: the hidden input every POST form carries."""
    token = csrf_token(context["request"].session)
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, escape(token))


@pass_context
def csrf_value(context: Any) -> str:
    """``{{ csrf_value() }}``: the bare token (meta tag, sign-out action URL)."""
    return csrf_token(context["request"].session)


def _refused(message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=403)


def _refused_page(scope: Scope) -> Response:
    """For a browser: the NHS.UK error page, saying what to do."""
    from ipmo.web.templating import render  # templating imports this module for csrf_field

    return render(
        Request(scope),
        "error.html",
        {"title": "This form has expired", "message": _EXPIRED},
        status_code=403,
    )


class CsrfProtection(HttpMiddleware):
    """Checks the token on unsafe cookie-authenticated requests. Sits inside SessionMiddleware
    (it needs the session) and inside RequestLimits (the body it may read is bounded)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] in _SAFE:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        session = scope.get("session") or {}
        cookie_authenticated = "uid" in session or scope["path"] == "/sign-in"
        if "authorization" in headers or not cookie_authenticated:
            await self.app(scope, receive, send)
            return
        expected = session.get(_SESSION_KEY)
        sent = headers.get(HEADER) or _first(parse_qs(scope.get("query_string", b"").decode()))
        body: bytes | None = None
        if not sent and _is_form(headers):
            body = await _read_body(receive)
            sent = await _form_token(scope, body)
        if not (isinstance(expected, str) and sent and hmac.compare_digest(sent, expected)):
            browser = "text/html" in headers.get("accept", "") and not scope["path"].startswith(
                ("/api", "/fhir")
            )
            refusal = _refused_page(scope) if browser else _refused(_EXPIRED)
            await refusal(scope, receive, send)
            return
        if body is None:
            await self.app(scope, receive, send)
            return

        await self.app(scope, replaying(body, receive), send)


def _first(query: dict[str, list[str]]) -> str | None:
    values = query.get(FIELD)
    return values[0] if values else None


def _is_form(headers: Headers) -> bool:
    content_type = headers.get("content-type", "")
    return content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _form_token(scope: Scope, body: bytes) -> str | None:
    async def once() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    request = Request(scope, once)
    try:
        form = await request.form()
    except Exception:  # noqa: BLE001 - a malformed form simply has no token
        return None
    try:
        value = form.get(FIELD)
        return value if isinstance(value, str) else None
    finally:
        await form.close()
