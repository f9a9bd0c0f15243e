"""The SecurityHeaders middleware (ipmo.web.app): the standard headers on every response,
``no-store`` only on API/FHIR responses, and cross-site cookie posts refused while bearer-token
and same-site posts pass."""

from ipmo.security.users import DEMO_PASSWORD

STANDARD = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


def test_every_response_carries_the_standard_headers(client_as):
    anon = client_as(None)
    for path in ("/health", "/sign-in", "/no-such-page"):
        r = anon.get(path)
        assert {k: r.headers.get(k) for k in STANDARD} == STANDARD, path


def test_api_responses_are_not_cached_but_pages_may_be(client_as):
    anon = client_as(None)
    assert anon.get("/api/me").headers.get("cache-control") == "no-store"
    assert anon.get("/sign-in").headers.get("cache-control") != "no-store"


def test_cross_site_cookie_post_is_refused_same_site_and_bearer_posts_are_not(client_as):
    from tests.web_session import form_token

    anon = client_as(None)
    form = {"username": "gp", "password": DEMO_PASSWORD}
    evil = anon.post("/sign-in", data=form, headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403 and evil.json()["detail"] == "cross-site request refused"
    assert evil.headers.get("x-frame-options") == "DENY"
    form["csrf_token"] = form_token(anon)  # same site, with the form's token
    same = anon.post(
        "/sign-in", data=form, headers={"Origin": "http://testserver"}, follow_redirects=False
    )
    assert same.status_code == 303
    bearer = anon.post(
        "/api/auth/token",
        data={"username": "gp", "password": DEMO_PASSWORD},
        headers={"Origin": "http://evil.example", "Authorization": "Bearer x"},
    )
    assert bearer.status_code == 200
