"""Header navigation per role, and error pages: HTML in the NHS.UK layout for browsers, JSON for
the API (issue 14)."""

import re

HTML = {"accept": "text/html"}


def _nav(html: str) -> list[str]:
    block = html.split('class="nhsuk-header__navigation-list"', 1)
    if len(block) == 1:
        return []
    block = block[1].split("</ul>", 1)[0]
    return re.findall(r'class="nhsuk-header__navigation-link" href="([^"]+)"', block)


def test_each_role_sees_the_areas_its_activities_allow(client_as):
    gp = _nav(client_as("gp").get("/patients", headers=HTML).text)
    assert "/patients" in gp and "/review/worklist" in gp and "/referrals/new" in gp
    assert "/workforce" not in gp  # aggregates of the workforce registry: not a GP activity
    analyst = _nav(client_as("analyst").get("/review/rates", headers=HTML).text)
    assert "/patients" not in analyst and "/records" not in analyst
    assert "/review/rates" in analyst
    carehome = _nav(client_as("carehome").get("/patients", headers=HTML).text)
    # care-home staff: their residents and the home's medicines waste, and the EPS tracker for
    # their residents' prescriptions
    assert carehome == [
        "/carehomes",
        "/carehomes/waste",
        "/patients",
        "/prescriptions/tracker",
        "/records",
    ]


def test_items_are_offered_only_to_roles_with_a_use_for_them(client_as):
    """A page a role may open but that would be empty or beside the point is not offered: no
    care-home caseload for a pharmacy, hospital or NHS 111; no EPS tracker in a hospital."""
    for user in ("community.pharmacist", "hospital.pharmacist", "nhs111"):
        html = client_as(user).get("/referrals", headers=HTML).text
        assert "/carehomes" not in _nav(html), user
        assert 'href="/carehomes"' not in client_as(user).get("/", headers=HTML).text, user
    hospital = _nav(client_as("hospital.pharmacist").get("/patients", headers=HTML).text)
    assert "/prescriptions/tracker" not in hospital and "/patients" in hospital
    for user in ("pcn.pharmacist", "gp", "carehome", "safety.officer"):
        assert "/carehomes" in _nav(client_as(user).get("/patients", headers=HTML).text), user
    # the PCN pharmacist reaches the homes' waste from the caseload, so the SMR worklist keeps
    # its place in the header rather than falling into "More"
    pcn = _nav(client_as("pcn.pharmacist").get("/patients", headers=HTML).text)
    assert "/carehomes/waste" not in pcn and "/review/worklist" in pcn
    community = _nav(client_as("community.pharmacist").get("/patients", headers=HTML).text)
    assert "/prescriptions/tracker" in community


def test_every_role_an_item_names_exists():
    from ipmo.security.roles import ROLES
    from ipmo.web.app import _domain_modules

    named = {r for m in _domain_modules("pages") for n in getattr(m, "NAV", []) for r in n.roles}
    assert named and named <= set(ROLES)


def test_the_account_line_names_the_organisation_not_its_code(client_as, sample_ics):
    from sqlalchemy import select

    from ipmo.organisations.models import Organisation
    from ipmo.security.models import User
    from ipmo.store import session_scope

    with session_scope(sample_ics) as s:
        code = s.scalar(select(User.org_code).where(User.username == "gp"))
        name = s.scalar(select(Organisation.name).where(Organisation.ods_code == code))
    html = client_as("gp").get("/patients", headers=HTML).text
    account = html.split('class="nhsuk-header__account', 1)[1].split("</ul>", 1)[0]
    assert name and f"General practitioner, {name}" in account
    assert code not in account


def test_the_current_area_is_marked(client_as):
    html = client_as("community.pharmacist").get("/referrals/inbox", headers=HTML).text
    items = html.split('class="nhsuk-header__navigation-item')[1:]
    current = [
        re.search(r'href="([^"]+)"', i).group(1)
        for i in items
        if i.startswith(" nhsuk-header__navigation-item--current")
    ]
    assert current == ["/referrals/inbox"]


def test_no_navigation_when_signed_out(client_as):
    assert _nav(client_as(None).get("/sign-in", headers=HTML).text) == []


def test_unknown_page_is_an_nhs_page_for_browsers_and_json_for_the_api(client_as):
    c = client_as("gp")
    r = c.get("/no-such-page", headers=HTML)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "<h1>Page not found</h1>" in r.text and "check it is correct" in r.text
    assert "/referrals/new" in _nav(r.text)  # the signed-in header, with navigation
    r = c.get("/api/no-such-thing", headers=HTML)
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    r = c.get("/no-such-page")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}


def test_unknown_referral_page_says_so_in_html(client_as):
    r = client_as("gp").get("/referrals/REF-NOPE", headers=HTML)
    assert r.status_code == 404 and "<h1>Page not found</h1>" in r.text


def test_forbidden_area_is_an_nhs_page(client_as):
    r = client_as("carehome").get("/review/worklist", headers=HTML)
    assert r.status_code == 403 and "<h1>You do not have access to this</h1>" in r.text
    r = client_as("carehome").get("/api/review/worklist")
    assert r.status_code == 403 and "detail" in r.json()


def test_server_error_is_an_nhs_page_for_browsers(sample_ics, app_settings):
    from fastapi.testclient import TestClient
    from tests.web_session import sign_in

    from ipmo.security.users import DEMO_PASSWORD
    from ipmo.web.app import create_app

    app = create_app(sample_ics, app_settings)

    @app.get("/boom")
    def boom():
        raise RuntimeError("broken on purpose")

    @app.get("/api/boom")
    def api_boom():
        raise RuntimeError("broken on purpose")

    with TestClient(app, raise_server_exceptions=False) as c:
        assert sign_in(c, "gp", DEMO_PASSWORD).status_code == 303
        r = c.get("/boom", headers=HTML)
        assert r.status_code == 500 and "there is a problem with the service" in r.text
        assert "broken on purpose" not in r.text
        r = c.get("/api/boom", headers=HTML)
        assert r.status_code == 500 and r.json() == {"detail": "internal server error"}
