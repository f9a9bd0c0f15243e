"""The web application: API, FHIR endpoints and NHS.UK-styled pages in one FastAPI app.

Domains plug in by file name (see docs/DOMAINS.md): every ``ipmo/<domain>/api.py`` and
``pages.py`` router is included here, and their ``NAV`` items make up the role's home page.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import anyio
from fastapi import Depends, FastAPI, Form, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine, text
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.orm import Session
from starlette.datastructures import URL, Headers, MutableHeaders
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import Message, Receive, Scope, Send

import ipmo
from ipmo.config import Settings, get_settings
from ipmo.fhir.outcome import FhirError, operation_outcome
from ipmo.hooks import domain_modules, offered
from ipmo.limits import BadText, InputTooComplex
from ipmo.security.errors import NotAuthenticated
from ipmo.security.principal import Principal
from ipmo.security.sessions import (
    Throttled,
    check_throttle,
    end_session,
    prune_sessions,
    record_failure,
    record_success,
    start_session,
)
from ipmo.security.tokens import issue_token
from ipmo.security.users import authenticate
from ipmo.store import StoreError, create_store_engine, pool_capacity, utcnow
from ipmo.web import admission, docs, error_pages, metrics
from ipmo.web import fhir as fhir_api
from ipmo.web.asgi import HttpMiddleware
from ipmo.web.bodies import RequestLimits
from ipmo.web.csrf import CsrfProtection
from ipmo.web.deps import db_session, optional_principal, unit_of_work
from ipmo.web.errors import ERRORS
from ipmo.web.forms import FormErrors, sentence
from ipmo.web.nav import NavItem
from ipmo.web.openapi import Health, Me, Token, document_error_responses
from ipmo.web.templating import render

log = logging.getLogger("ipmo.web")
STATIC = Path(__file__).with_name("static")


def _domain_modules(name: str) -> list:
    return domain_modules(name, exclude=("web",))


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(
        ("/api", "/fhir", "/health", "/ready")
    ) or "text/html" not in request.headers.get("accept", "")


def _lifespan(engine: Engine):
    """Start-up (issue 20, docs/decisions/0009):

    * run no more request threads than the store has connections (and admit no more requests at
      once than half of them: ``ipmo.web.admission``), so a request waits in the event loop
      rather than for a pooled connection (30 s, then an error: "QueuePool limit of size 10
      overflow 20 reached");
    * load the reference data the domains offer as ``WARM_UP`` (the dm+d dictionary, code sets)
      before serving, so the first requests of a new worker do not pay for it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        capacity = pool_capacity(engine)
        if capacity:
            anyio.to_thread.current_default_thread_limiter().total_tokens = capacity
        for warm_up in offered("WARM_UP"):
            await anyio.to_thread.run_sync(warm_up)
        yield

    return lifespan


def create_app(engine: Engine | None = None, settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or create_store_engine(settings.database_url)
    app = FastAPI(
        lifespan=_lifespan(engine),
        title="ipmo",
        summary="Integrated Pharmacy and Medicines Optimisation — API and FHIR endpoints",
        version=ipmo.__version__,
        docs_url=None,  # served by ipmo.web.docs from vendored Swagger UI (works offline)
        redoc_url=None,
    )
    app.state.engine = engine
    app.state.settings = settings
    app.state.clock = utcnow  # tests replace it (sign-in throttling windows)
    app.add_middleware(CsrfProtection)  # innermost: needs the session and a bounded body
    app.add_middleware(RequestLimits, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="ipmo_session",
        max_age=settings.token_ttl_seconds,
        same_site="lax",
    )

    app.add_middleware(SecurityHeaders)
    # admitted before anything touches the store (sessions, CSRF and handlers all may)
    app.add_middleware(
        admission.AdmissionLimit, capacity=admission.admitted_at_once(pool_capacity(engine))
    )
    metrics.install(app)  # outermost: counts every answer, refusals included

    app.mount("/assets", StaticFiles(directory=STATIC / "nhsuk"), name="assets")
    _install_error_handlers(app)
    error_pages.install(app, _wants_json)
    docs.install(app)
    _install_core_routes(app)

    nav: list[NavItem] = []
    for module in _domain_modules("api"):
        app.include_router(module.router)
    fhir_api.install(app)
    for module in _domain_modules("pages"):
        app.include_router(module.router)
        nav.extend(getattr(module, "NAV", []))
        static = Path(module.__file__).parent / "static"
        if static.is_dir():
            domain = module.__name__.split(".")[1]
            app.mount(f"/static/{domain}", StaticFiles(directory=static), name=f"static-{domain}")
    # mounted last so each domain's /static/<domain> above wins over the shared folder
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.state.nav = nav
    document_error_responses(app)
    return app


class SecurityHeaders(HttpMiddleware):
    """Refuse cross-site cookie-authenticated posts; add the security headers to every response.

    Cookie-authenticated form posts must come from our own pages (CSRF defence in depth on top of
    SameSite=Lax); API clients use bearer tokens and are not affected."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        no_store = scope["path"].startswith(("/api", "/fhir"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out.setdefault("X-Content-Type-Options", "nosniff")
                out.setdefault("X-Frame-Options", "DENY")
                out.setdefault("Referrer-Policy", "same-origin")
                if no_store:
                    out.setdefault("Cache-Control", "no-store")
            await send(message)

        headers = Headers(scope=scope)
        if scope["method"] not in ("GET", "HEAD", "OPTIONS") and "authorization" not in headers:
            # Origin, or the Referer when a browser sends no Origin: a foreign one is refused
            origin = headers.get("origin") or headers.get("referer")
            if origin and urlsplit(origin).netloc != URL(scope=scope).netloc:
                refused = JSONResponse({"detail": "cross-site request refused"}, status_code=403)
                await refused(scope, receive, send_with_headers)
                return
        await self.app(scope, receive, send_with_headers)


# FHIR R4 IssueType codes for the HTTP statuses the app refuses with
_ISSUE_CODES = {
    401: "login",
    403: "forbidden",
    404: "not-found",
    429: "throttled",
    503: "transient",
}


def _is_fhir(request: Request) -> bool:
    return request.url.path.startswith("/fhir/")


def _fhir_error(status: int, message: str, expression: list[str] | None = None) -> Response:
    return JSONResponse(
        operation_outcome(_ISSUE_CODES.get(status, "processing"), message, expression),
        status_code=status,
        media_type="application/fhir+json",
    )


def _error(request: Request, status: int, message: str, title: str) -> Response:
    if _is_fhir(request):
        return _fhir_error(status, message)
    if _wants_json(request):
        return JSONResponse({"detail": message}, status_code=status)
    return render(request, "error.html", {"title": title, "message": message}, status_code=status)


_ECHO_LIMIT = 100  # characters of a refused value worth showing back


def _brief_error(error: dict[str, Any]) -> dict[str, Any]:
    """One validation error without the echo of what was sent when that is large: FastAPI's
    default puts the whole ``input`` (a 10 MB body came back in the 422). ``loc``, ``msg`` and
    ``type`` always stay (the documented ``ValidationError`` schema); ``input`` and ``ctx`` only
    when short."""
    out = {"loc": list(error["loc"]), "msg": str(error["msg"])[:500], "type": error["type"]}
    value = error.get("input")
    if isinstance(value, (str, int, float, bool)) and len(str(value)) <= _ECHO_LIMIT:
        out["input"] = value
    ctx = jsonable_encoder(error.get("ctx") or {})
    if ctx and len(json.dumps(ctx, default=str)) <= 2 * _ECHO_LIMIT:
        out["ctx"] = ctx
    return out


def _error_handler(status: int, title: str):
    async def handler(request: Request, exc: Exception) -> Response:
        return _error(request, status, str(exc), title)

    return handler


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        if _is_fhir(request):
            errors = [_brief_error(e) for e in exc.errors()]
            where = [".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]) for e in errors]
            text = "; ".join(f"{w}: {e['msg']}" for w, e in zip(where, errors, strict=True))
            return JSONResponse(
                operation_outcome("invalid", text, where),
                status_code=400,
                media_type="application/fhir+json",
            )
        return JSONResponse({"detail": [_brief_error(e) for e in exc.errors()]}, status_code=422)

    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, exc: NotAuthenticated):
        if _is_fhir(request):
            response = _fhir_error(401, str(exc))
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        if _wants_json(request):
            return JSONResponse(
                {"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        return RedirectResponse(f"/sign-in?next={quote(request.url.path)}", status_code=303)

    @app.exception_handler(Throttled)
    async def throttled(request: Request, exc: Throttled):
        response = _error(request, 429, str(exc), "Too many failed sign-ins")
        response.headers.update(_retry_after(exc))
        return response

    # the one table of errors and their status (web/errors.py): FHIR, JSON and pages alike
    for exc_type, (status, title) in ERRORS.items():
        app.add_exception_handler(exc_type, _error_handler(status, title))

    @app.exception_handler(FhirError)
    async def fhir_error(request: Request, exc: FhirError):
        return JSONResponse(
            exc.outcome(), status_code=exc.status, media_type="application/fhir+json"
        )

    @app.exception_handler(BadText)
    @app.exception_handler(InputTooComplex)
    async def unreadable_input(request: Request, exc: ValueError):
        if request.url.path.startswith("/fhir"):
            return JSONResponse(
                operation_outcome("invalid", str(exc)),
                status_code=400,
                media_type="application/fhir+json",
            )
        return _error(request, 400, str(exc), "The file could not be read")

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError):
        # a value the database refuses (too long for its column, out of range): the client's
        # input, and the transaction is rolled back; the statement is not logged (patient data)
        log.warning("value refused by the database on %s", request.url.path)
        if request.url.path.startswith("/fhir"):
            return JSONResponse(
                operation_outcome("too-long", "a value is too long or out of range for its field"),
                status_code=422,
                media_type="application/fhir+json",
            )
        return _error(
            request,
            422,
            "a value is too long or out of range for its field",
            "Check what you entered",
        )

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError):
        log.error("store unavailable: %s", exc)
        return _error(
            request, 503, "the database is unavailable; try again shortly", "Service unavailable"
        )

    @app.exception_handler(OperationalError)
    async def store_busy(request: Request, exc: OperationalError):
        """A lock wait that ran out (SQLite's one writer, busy for longer than its 30 s timeout on
        an overloaded machine) or a lost connection: the transaction was rolled back, nothing was
        written, and the client may simply try again — a 503 with Retry-After, never a 500
        (issue 20). The SQL's bound values are not in the message (``hide_parameters``)."""
        reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
        log.warning("store busy or unreachable; answered 503: %s", reason)
        response = _error(
            request, 503, "the service is busy; nothing was saved, try again", "Service busy"
        )
        response.headers["Retry-After"] = "2"
        return response


def _install_core_routes(app: FastAPI) -> None:
    @app.get("/health", tags=["system"])
    def health(request: Request) -> Health:
        """Liveness and store reachability (no patient data)."""
        try:
            with request.app.state.engine.connect() as conn:
                conn.execute(text("select 1"))
            store = "ok"
        except Exception:  # noqa: BLE001 - reported, not raised
            store = "unavailable"
        return Health(
            status="ok" if store == "ok" else "degraded", store=store, version=ipmo.__version__
        )

    @app.get("/ready", tags=["system"], include_in_schema=False)
    def ready(request: Request) -> JSONResponse:
        """Readiness: the database answers and its schema is at the newest migration (a load
        balancer sends no traffic before; 503 otherwise). ``/health`` is liveness only."""
        from ipmo.store.migrate import current_revision, head_revision

        try:
            current = current_revision(request.app.state.engine)
        except Exception:  # noqa: BLE001 - reported as not ready, not raised
            return JSONResponse({"status": "not ready", "store": "unavailable"}, status_code=503)
        head = head_revision()
        body = {
            "status": "ready" if current == head else "not ready",
            "store": "ok",
            "revision": current,
            "head": head,
            # which worker process answered: a worker answers only once its start-up (the
            # WARM_UP hooks) is done, so an operator or a benchmark can tell all N are serving
            "worker": os.getpid(),
        }
        return JSONResponse(body, status_code=200 if current == head else 503)

    @app.get("/", include_in_schema=False)
    def home(request: Request, principal: Principal | None = Depends(optional_principal)):
        if principal is None:
            return RedirectResponse("/sign-in", status_code=303)
        items = [n for n in request.app.state.nav if n.offered_to(principal)]
        return render(request, "home.html", {"items": items})

    @app.get("/sign-in", include_in_schema=False)
    def sign_in_page(request: Request, next: str = "/"):
        return render(request, "sign_in.html", {"next": _safe_next(next), "form": {}})

    @app.post("/sign-in", include_in_schema=False)
    def sign_in(
        request: Request,
        username: str = Form(""),
        password: str = Form(""),
        next: str = Form("/"),
        session: Session = Depends(db_session, scope="function"),
    ):
        errors = FormErrors()
        if not username.strip():
            errors.add("username", "Enter your username")
        if not password:
            errors.add("password", "Enter your password")
        if errors:
            ctx = {"next": _safe_next(next), "errors": errors, "form": {"username": username}}
            return render(request, "sign_in.html", ctx, status_code=422)
        try:
            principal = _authenticate_throttled(request, username.strip(), password)
        except (NotAuthenticated, Throttled) as exc:
            if isinstance(exc, Throttled):
                errors.add("username", sentence(str(exc)))
            else:  # the same words whichever was wrong (no username probing)
                errors.add("username", "Enter a correct username and password")
            response = render(
                request,
                "sign_in.html",
                {"next": _safe_next(next), "errors": errors, "form": {"username": username}},
                status_code=429 if isinstance(exc, Throttled) else 401,
            )
            response.headers.update(_retry_after(exc))
            return response
        request.session.clear()  # a new session (and CSRF token) at every sign-in
        request.session["uid"] = principal.user_id
        request.session["gen"] = _generation(session, principal.user_id)
        now = _now(request)
        # the user's ended (signed-out) and expired session rows go at each sign-in
        lifetime = timedelta(seconds=request.app.state.settings.token_ttl_seconds)
        prune_sessions(session, now, lifetime, user_id=principal.user_id)
        request.session["sid"] = start_session(session, principal.user_id, now)
        return RedirectResponse(_safe_next(next), status_code=303)

    @app.post("/sign-out", include_in_schema=False)
    def sign_out(request: Request, session: Session = Depends(db_session, scope="function")):
        end_session(session, request.session.get("sid"), _now(request))  # a copy stops working
        request.session.clear()
        return RedirectResponse("/sign-in", status_code=303)

    @app.post("/api/auth/token", tags=["system"])
    def token(
        request: Request,
        username: str = Form(...),
        password: str = Form(...),
        session: Session = Depends(db_session, scope="function"),
    ) -> Token:
        """Exchange a username and password for a bearer token (development identity provider)."""
        principal = _authenticate_throttled(request, username, password)
        settings = request.app.state.settings
        return Token(
            access_token=issue_token(
                settings.secret_key, principal.user_id, _generation(session, principal.user_id)
            ),
            token_type="bearer",
            expires_in=settings.token_ttl_seconds,
        )

    @app.get("/api/me", tags=["system"])
    def me(request: Request, session: Session = Depends(db_session, scope="function")) -> Me:
        from ipmo.web.deps import current_principal

        p = current_principal(request, session)
        return Me(
            username=p.username,
            role=p.role.code,
            organisation=p.org_code,
            activities=sorted(p.activities),
        )


def _now(request: Request) -> datetime:
    return request.app.state.clock()


def _retry_after(exc: Exception) -> dict[str, str]:
    return {"Retry-After": str(exc.retry_after_seconds)} if isinstance(exc, Throttled) else {}


def _authenticate_throttled(request: Request, username: str, password: str) -> Principal:
    """Check the password unless this username or address has failed too often lately
    (``security/sessions.py``). The count is written in its own transaction, committed even
    though the request is refused."""
    now = _now(request)
    address = request.client.host if request.client else None
    refused: NotAuthenticated | None = None
    with unit_of_work(request) as session:
        check_throttle(session, username, address, now)
        try:
            principal = authenticate(session, username, password)
        except NotAuthenticated as exc:
            record_failure(session, username, address, now)
            refused = exc
        else:
            record_success(session, username)
    if refused is not None:
        raise refused
    return principal


def _generation(session: Session, user_id: int) -> int:
    from ipmo.security.models import User

    return session.get_one(User, user_id).token_generation


def _safe_next(target: str) -> str:
    """Only redirect to a path on this site (no open redirects)."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


_ = operation_outcome  # re-exported for domains building FHIR responses
