"""Works offline (issue 14): no page, stylesheet or the API documentation loads anything from
another host (Swagger UI is vendored, the NHS.UK font rules pointing at assets.nhs.uk are
dropped). Every page a GET route offers is rendered for every demo role."""

import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

import ipmo
from ipmo.security.users import DEMO_USERS

HTML = {"accept": "text/html"}
# any attribute that makes the browser fetch or go to an address; protocol-relative counts too
EXTERNAL = re.compile(r"""(?:src|href|action|srcset|data)\s*=\s*["']?\s*(?:https?:)?//""", re.I)
CSS_EXTERNAL = re.compile(r"""(?:url\(\s*["']?|@import\s+["'])\s*(?:https?:)?//""", re.I)
PATIENT = "9990000018"


def _get_paths(routes, prefix: str = ""):
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's included routers
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from _get_paths(included.routes, prefix + getattr(context, "prefix", ""))
        elif isinstance(route, APIRoute) and "GET" in route.methods:
            yield prefix + route.path


def _page_urls(app) -> list[str]:
    urls = []
    for path in _get_paths(app.routes):
        path = path.replace("{nhs_number}", PATIENT)
        if "{" in path or path.startswith(("/api", "/fhir")) or path in ("/sign-out",):
            continue
        urls.append(path)
    return sorted(set(urls))


def test_no_rendered_page_references_another_host(client_as):
    anon = client_as(None)
    urls = _page_urls(anon.app)
    assert {"/", "/docs", "/patients", f"/records/patients/{PATIENT}"} <= set(urls)
    checked = 0
    for username, *_ in DEMO_USERS:
        client = client_as(username)
        for url in urls:
            r = client.get(url, headers=HTML)
            if not r.headers.get("content-type", "").startswith("text/html"):
                continue
            found = EXTERNAL.findall(r.text)
            assert not found, (username, url, found[:3])
            checked += 1
    assert checked > len(urls)  # most pages render for most roles


@pytest.mark.parametrize(
    "folder", sorted(p for p in Path(ipmo.__file__).parent.glob("*/static") if p.is_dir())
)
def test_no_stylesheet_loads_from_another_host(folder):
    # a folder may hold no stylesheet at all: then nothing can load from elsewhere
    external = {
        str(css): found[:3]
        for css in folder.rglob("*.css")
        if (found := CSS_EXTERNAL.findall(css.read_text(encoding="utf-8", errors="replace")))
    }
    assert external == {}


def test_api_documentation_is_served_from_this_site(client_as):
    anon = client_as(None)
    html = anon.get("/docs").text
    assert "/static/swagger-ui/swagger-ui-bundle.js" in html
    assert "cdn.jsdelivr.net" not in html and not EXTERNAL.findall(html)
    for asset in ("/static/swagger-ui/swagger-ui-bundle.js", "/static/swagger-ui/swagger-ui.css"):
        r = anon.get(asset)
        assert r.status_code == 200 and len(r.content) > 10_000, asset
