"""The request's unit of work (and so its audit entries) is committed BEFORE the response is sent.

FastAPI ends a ``yield`` dependency after the response by default (scope "request"): a request
could be answered and its audit entry then lost if the commit failed. Every route therefore takes
its session with ``Depends(db_session, scope="function")`` (issue 12); this test holds every route,
including ones added later, to it.
"""

from __future__ import annotations

from fastapi.routing import APIRoute

from ipmo.web.app import create_app
from ipmo.web.deps import db_session


def _dependencies(dependant):
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def _routes(routes):
    """Every APIRoute, also inside included routers (FastAPI keeps those as their own router)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes)


def test_every_route_commits_before_it_answers(sample_ics, app_settings):
    app = create_app(sample_ics, app_settings)
    checked = 0
    for route in _routes(app.routes):
        for dep in _dependencies(route.dependant):
            if dep.call is db_session:
                assert dep.scope == "function", f"{route.path}: use Depends(db_session, scope=...)"
                checked += 1
    assert checked > 50  # the walk found the routes' sessions


def test_an_audited_read_is_committed_when_the_answer_arrives(client_as, sample_ics):
    from sqlalchemy import select

    from ipmo.security.models import AuditEvent
    from ipmo.store import session_scope

    r = client_as("gp").get("/api/patients/9990000018")
    assert r.status_code == 200
    with session_scope(sample_ics) as s:  # another connection sees it as soon as we have the answer
        last = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert (last.action, last.patient_nhs_number) == ("patient.read", "9990000018")
