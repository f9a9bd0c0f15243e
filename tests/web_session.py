"""Signing a TestClient in the way a browser does: fetch the form (and its CSRF token), post it,
then carry the signed-in session's CSRF token on every later request (``X-CSRF-Token``), as the
pages' forms carry it in a hidden field."""

from __future__ import annotations

import re

from ipmo.security.users import DEMO_PASSWORD

_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def form_token(client, path: str = "/sign-in") -> str:
    found = _FIELD.search(client.get(path).text)
    assert found, f"no CSRF field on {path}"
    return found.group(1)


def sign_in(client, username: str, password: str = DEMO_PASSWORD, **fields: str):
    """Post the sign-in form; on success the client sends the new session's token from then on."""
    data = {"username": username, "password": password, "csrf_token": form_token(client), **fields}
    r = client.post("/sign-in", data=data, follow_redirects=False)
    if r.status_code == 303:
        found = _META.search(client.get("/").text)
        assert found, "no CSRF token on the home page"
        client.headers["X-CSRF-Token"] = found.group(1)
    return r
