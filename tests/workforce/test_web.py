"""Workforce API and pages for each role: aggregates for workforce.view, names only for
workforce.detail, imports and edits for workforce.edit."""

from __future__ import annotations

import pytest

from ipmo.store import session_scope
from ipmo.workforce.importer import import_assignments

from .helpers import LEADER, Site, csv_text, leader_and_report, row

NAMED = LEADER


def _populate(engine) -> None:
    text = csv_text(
        *leader_and_report(),
        row(
            assignment_number="V1",
            employee_number="",
            full_name="",
            organisation_code="A20001",
            wte="0.8",
            reports_to="L1",
        ),
    )
    with session_scope(engine) as s:
        import_assignments(s, text)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    s = Site(tmp_path_factory.mktemp("workforce-web"), _populate)
    yield s
    s.close()


@pytest.fixture
def web(sample_ics, client_as):
    """A fresh store for tests that write."""
    _populate(sample_ics)
    return client_as


def test_anonymous_callers_are_asked_to_sign_in(site):
    client = site(None)
    assert site(None).get("/api/workforce/summary").status_code == 401
    r = client.get("/workforce", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/sign-in")


def test_analyst_sees_aggregates_without_names(site):
    analyst = site("analyst")
    r = analyst.get("/api/workforce/summary?by=pcn")
    assert r.status_code == 200
    assert {x["key"] for x in r.json()["rows"]} >= {"U10001", "U20001"}
    assert NAMED not in r.text
    page = analyst.get("/workforce", headers={"accept": "text/html"})
    assert page.status_code == 200 and "WTE per 10,000" in page.text
    assert NAMED not in page.text and "/workforce/people" not in page.text
    assert "<svg" in page.text  # the ICS organogram
    lead = analyst.get("/api/workforce/organogram/leadership.svg")
    assert lead.status_code == 200 and "ICS Chief Pharmacist" in lead.text
    assert NAMED not in lead.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/workforce/posts",
        "/api/workforce/organogram/leadership.svg?names=true",
        "/workforce/people",
    ],
)
def test_analyst_is_refused_named_detail(site, path):
    r = site("analyst").get(path)
    assert r.status_code == 403
    assert NAMED not in r.text


def test_analyst_cannot_import(site):
    r = site("analyst").post(
        "/api/workforce/import", content=b"x", headers={"content-type": "text/csv"}
    )
    assert r.status_code == 403


@pytest.mark.parametrize("user", ["workforce.lead", "admin"])
def test_workforce_lead_and_admin_see_named_posts(site, user):
    client = site(user)
    posts = client.get("/api/workforce/posts").json()
    assert {p["name"] for p in posts} == {NAMED, "Sam Staff", None}
    page = client.get("/workforce/people", headers={"accept": "text/html"})
    assert page.status_code == 200 and NAMED in page.text
    assert NAMED in client.get("/api/workforce/organogram/leadership.svg?names=true").text


@pytest.mark.parametrize("user", ["pcn.pharmacist", "community.pharmacist", "gp"])
def test_roles_without_workforce_view_are_refused(site, user):
    client = site(user)
    assert client.get("/api/workforce/summary").status_code == 403
    assert client.get("/api/workforce/organogram/ics.svg").status_code == 403


def test_home_page_offers_workforce_only_to_roles_with_it(site):
    assert '/workforce"' in site("workforce.lead").get("/").text
    assert '/workforce"' not in site("pcn.pharmacist").get("/").text


def test_lead_imports_csv_and_a_bad_file_writes_nothing(web):
    lead = web("workforce.lead")
    good = csv_text(row(assignment_number="N1", employee_number="E9", full_name="New Person"))
    r = lead.post("/api/workforce/import", content=good, headers={"content-type": "text/csv"})
    assert r.status_code == 200 and r.json()["assignments"] == 1
    bad = csv_text(
        row(assignment_number="N2", employee_number="E8", full_name="X"),
        row(assignment_number="N3", employee_number="E7", full_name="Y", wte="1.5"),
    )
    r = lead.post("/api/workforce/import", content=bad, headers={"content-type": "text/csv"})
    assert r.status_code == 422 and "line 3: wte 1.5" in r.json()["detail"]
    numbers = {p["assignment_number"] for p in lead.get("/api/workforce/posts").json()}
    assert "N1" in numbers and "N2" not in numbers
    bad = csv_text(row(organisation_code="NOPE"))
    r = lead.post(
        "/workforce/import",
        files={"file": ("esr.csv", bad, "text/csv")},
        headers={"accept": "text/html"},
    )
    assert r.status_code == 422 and "line 2: unknown organisation" in r.text


def test_lead_edits_a_post_with_the_import_rules(web):
    lead = web("workforce.lead")
    r = lead.patch("/api/workforce/posts/S1", json={"wte": 1.4})
    assert r.status_code == 422 and "at most 1.0" in r.json()["detail"]
    r = lead.patch("/api/workforce/posts/S1", json={"wte": 0.6, "band": "8a"})
    assert r.status_code == 200 and r.json()["wte"] == 0.6
    assert lead.patch("/api/workforce/posts/NOPE", json={"wte": 0.5}).status_code == 404
    assert web("analyst").patch("/api/workforce/posts/S1", json={"wte": 0.5}).status_code == 403
    form = lead.post(
        "/workforce/posts/S1",
        data={"title": "CP", "wte": "0.7", "band": "7", "end_date": ""},
        follow_redirects=False,
    )
    assert form.status_code == 303


def test_service_evaluation_for_analytics_roles_with_csv(site):
    pcn = site("pcn.pharmacist")
    assert pcn.get("/api/workforce/services?by=place").json() == []
    r = pcn.get("/api/workforce/services?by=place&format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.text.startswith("service,group,group_name,month,referrals")
    assert pcn.get("/workforce/services", headers={"accept": "text/html"}).status_code == 200
    assert site("carehome").get("/api/workforce/services").status_code == 403
