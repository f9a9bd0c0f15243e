"""CSRF tokens, server-side sign-out and sign-in throttling (issue 12).

Before: CSRF relied on the Origin header only (no Origin + a foreign Referer was accepted), a
copied session cookie kept working after sign-out, and sign-in attempts were unlimited."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.web_session import form_token, sign_in

import ipmo
from ipmo.security.sessions import MAX_FAILURES_PER_ADDRESS, MAX_FAILURES_PER_USER, WINDOW
from ipmo.security.users import DEMO_PASSWORD

T0 = datetime(2026, 3, 2, 9, 0)


def _templates() -> list[Path]:
    return sorted(Path(ipmo.__file__).parent.glob("*/templates/**/*.html"))


def test_every_post_form_in_every_template_carries_the_csrf_field():
    forms = 0
    for path in _templates():
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if re.search(r"<form\b[^>]*method=\"post\"", line, re.I):
                forms += 1
                assert "csrf_field()" in lines[i + 1], f"{path.name}:{i + 1} has no csrf_field()"
    assert forms >= 15  # the scan found the forms


def test_a_cookie_post_without_the_token_is_refused_and_changes_nothing(client_as):
    lead = client_as("workforce.lead")
    token = lead.headers.pop("X-CSRF-Token")
    before = lead.get("/api/plans").json()
    r = lead.post("/plans", data={"name": "Forged plan"}, follow_redirects=False)
    assert r.status_code == 403 and "did not come from this site" in r.json()["detail"]
    r = lead.post("/plans", data={"name": "Forged", "csrf_token": "x" * 43})
    assert r.status_code == 403
    assert lead.get("/api/plans").json() == before
    # the same post with the page's own token goes through
    page_token = form_token(lead, "/plans")
    assert page_token == token
    r = lead.post(
        "/plans", data={"name": "Real plan", "csrf_token": page_token}, follow_redirects=False
    )
    assert r.status_code != 403


def test_a_cookie_api_post_needs_the_token_too_but_a_bearer_post_does_not(client_as):
    gp = client_as("gp")
    gp.headers.pop("X-CSRF-Token")
    body = {"service": "pharmacy-first", "nhs_number": "9990000018", "patient_name": "A"}
    assert gp.post("/api/referrals", json=body).status_code == 403
    anon = client_as(None)
    token = anon.post("/api/auth/token", data={"username": "gp", "password": DEMO_PASSWORD}).json()[
        "access_token"
    ]
    r = anon.post("/api/referrals", json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code != 403


def test_no_origin_and_a_foreign_referer_is_refused(client_as):
    lead = client_as("workforce.lead")
    r = lead.post(
        "/plans",
        data={"name": "x", "csrf_token": form_token(lead, "/plans")},
        headers={"Referer": "http://evil.example/page"},
        follow_redirects=False,
    )
    assert r.status_code == 403 and r.json()["detail"] == "cross-site request refused"
    r = lead.post(
        "/plans",
        data={"name": "x", "csrf_token": form_token(lead, "/plans")},
        headers={"Referer": "http://testserver/plans"},
        follow_redirects=False,
    )
    assert r.status_code != 403


def test_the_sign_in_form_needs_its_token(client_as):
    anon = client_as(None)
    anon.get("/sign-in")
    r = anon.post(
        "/sign-in", data={"username": "gp", "password": DEMO_PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 403
    assert sign_in(anon, "gp").status_code == 303


def test_the_token_changes_at_sign_in(client_as):
    anon = client_as(None)
    before = form_token(anon)
    sign_in(anon, "gp")
    assert anon.headers["X-CSRF-Token"] != before


def test_sign_out_ends_the_session_on_the_server(client_as):
    gp = client_as("gp")
    copy = TestClient(gp.app, base_url="http://testserver")
    copy.cookies = gp.cookies  # someone copied the cookie
    assert copy.get("/api/me").status_code == 200
    # the header's sign-out button, as rendered
    action = re.search(r'action="(/sign-out[^"]*)"', gp.get("/").text).group(1)
    r = gp.post(action.replace("&amp;", "&"), follow_redirects=False)
    assert r.status_code == 303
    assert copy.get("/api/me").status_code == 401
    assert gp.get("/api/me").status_code == 401
    copy.close()


def test_signing_in_deletes_the_users_ended_and_expired_session_rows(clocked):
    from sqlalchemy import func, select

    from ipmo.security.models import User, WebSession
    from ipmo.store import session_scope

    client, now = clocked
    engine = client.app.state.engine
    browsers: list[TestClient] = []

    def browser() -> TestClient:
        browsers.append(TestClient(client.app, base_url="http://testserver"))
        return browsers[-1]

    def rows(username: str) -> int:
        with session_scope(engine) as s:
            q = select(func.count()).select_from(WebSession).join(User)
            return s.scalar(q.where(User.username == username))

    first = browser()
    assert sign_in(first, "gp").status_code == 303
    assert first.post("/sign-out", follow_redirects=False).status_code == 303  # ended
    now["t"] = T0 + timedelta(minutes=1)
    assert sign_in(browser(), "gp").status_code == 303  # live, until it outlives its lifetime
    assert sign_in(browser(), "analyst").status_code == 303
    assert rows("gp") == 1  # the signed-out row went when gp signed in again
    lifetime = client.app.state.settings.token_ttl_seconds
    now["t"] = T0 + timedelta(minutes=1, seconds=lifetime + 1)
    assert sign_in(browser(), "gp").status_code == 303
    assert rows("gp") == 1 and rows("analyst") == 1  # expired gone; only gp's rows are pruned
    for b in browsers:
        b.close()


def test_sign_out_without_the_token_is_refused(client_as):
    gp = client_as("gp")
    gp.headers.pop("X-CSRF-Token")
    assert gp.post("/sign-out", follow_redirects=False).status_code == 403
    assert gp.get("/api/me").status_code == 200


@pytest.fixture
def clocked(client_as):
    anon = client_as(None)
    now = {"t": T0}
    anon.app.state.clock = lambda: now["t"]
    return anon, now


def _try(client, username, password, via="form"):
    if via == "form":
        return sign_in(client, username, password)
    return client.post("/api/auth/token", data={"username": username, "password": password})


@pytest.mark.parametrize("via", ["form", "token"])
def test_failed_sign_ins_are_throttled_per_username(clocked, via):
    client, now = clocked
    for _ in range(MAX_FAILURES_PER_USER):
        assert _try(client, "gp", "wrong", via).status_code == 401
    refused = _try(client, "gp", DEMO_PASSWORD, via)  # even the right password, for a while
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "too many failed sign-ins" in refused.text.lower()
    assert _try(client, "analyst", DEMO_PASSWORD, via).status_code in (200, 303)  # others not
    now["t"] = T0 + WINDOW + timedelta(seconds=1)
    assert _try(client, "gp", DEMO_PASSWORD, via).status_code in (200, 303)


def test_unknown_usernames_are_throttled_like_known_ones(clocked):
    client, _ = clocked
    for _ in range(MAX_FAILURES_PER_USER):
        _try(client, "nobody", "wrong", "token")
    assert _try(client, "nobody", "wrong", "token").status_code == 429


def test_failed_sign_ins_are_throttled_per_client_address(clocked):
    client, now = clocked
    for n in range(MAX_FAILURES_PER_ADDRESS):
        assert _try(client, f"guess{n}", "wrong", "token").status_code == 401
    assert _try(client, "gp", DEMO_PASSWORD, "token").status_code == 429
    now["t"] = T0 + WINDOW + timedelta(seconds=1)
    assert _try(client, "gp", DEMO_PASSWORD, "token").status_code == 200


def test_a_success_clears_the_username_count(clocked):
    client, _ = clocked
    for _ in range(MAX_FAILURES_PER_USER - 1):
        _try(client, "gp", "wrong", "token")
    assert _try(client, "gp", DEMO_PASSWORD, "token").status_code == 200
    for _ in range(MAX_FAILURES_PER_USER - 1):
        assert _try(client, "gp", "wrong", "token").status_code == 401


def test_a_browser_without_the_token_gets_a_page_saying_what_to_do(client_as):
    lead = client_as("workforce.lead")
    lead.headers.pop("X-CSRF-Token")
    r = lead.post("/plans", data={"name": "x"}, headers={"accept": "text/html"})
    assert r.status_code == 403 and "This form has expired" in r.text
    assert "reload the page" in r.text
