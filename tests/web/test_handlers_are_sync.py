"""Route handlers that use the database are plain ``def`` handlers.

The store is synchronous SQLAlchemy: in an ``async def`` handler every query blocks the event
loop and so every other request. FastAPI runs ``def`` handlers in its thread pool; a body or form
is read first by an async dependency (web.deps.request_body / form_fields).
"""

from __future__ import annotations

import inspect

from fastapi.routing import APIRoute

from ipmo.web.deps import db_session


def _uses(dependant, call) -> bool:
    return any(d.call is call or _uses(d, call) for d in dependant.dependencies)


def api_routes(routes) -> list[APIRoute]:
    """Every APIRoute, also inside included routers (FastAPI keeps those as one entry that
    points at the original router)."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += api_routes(route.original_router.routes)
    return found


def async_handlers_with_a_session(app) -> list[str]:
    return sorted(
        f"{','.join(sorted(route.methods))} {route.path}"
        for route in api_routes(app.routes)
        if inspect.iscoroutinefunction(route.endpoint) and _uses(route.dependant, db_session)
    )


def test_no_async_handler_uses_the_database(engine, app_settings):
    from ipmo.web.app import create_app

    app = create_app(engine, app_settings)
    assert len(api_routes(app.routes)) > 50, "the app's routes were found"
    assert async_handlers_with_a_session(app) == []


def test_the_check_sees_an_async_handler_with_a_session():
    from fastapi import Depends, FastAPI

    app = FastAPI()

    @app.get("/bad")
    async def bad(session=Depends(db_session)):  # noqa: B008
        return {}

    @app.get("/good")
    def good(session=Depends(db_session)):  # noqa: B008
        return {}

    assert async_handlers_with_a_session(app) == ["GET /bad"]
