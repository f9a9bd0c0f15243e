"""Plans API and pages: viewing for plan.view roles, editing only with plan.edit."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from tests.workforce.helpers import Site

NOON = datetime(2026, 6, 15, 12)  # the app's clock (UTC): the plans' today
TODAY = NOON.date()


def body(metric="workforce.in_post_wte", **extra):
    return {
        "title": "Workforce plan",
        "owner": "Chief",
        "start_date": (TODAY - timedelta(days=100)).isoformat(),
        "end_date": (TODAY + timedelta(days=100)).isoformat(),
        "objectives": [
            {
                "title": "Grow",
                "owner": "Lead",
                "metric": metric,
                "baseline": 1,
                "target": 4,
                "direction": "up",
                **extra,
            }
        ],
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    s = Site(tmp_path_factory.mktemp("plans-web"))
    s.app.state.clock = lambda: NOON
    yield s
    s.close()


@pytest.fixture(scope="module")
def plan_id(site):
    r = site("analyst").post("/api/plans", json=body())
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_unknown_metric_is_refused_with_a_clear_message(site, plan_id):
    before = site("analyst").get("/api/plans").json()
    r = site("analyst").post("/api/plans", json=body("workforce.nope"))
    assert r.status_code == 422
    assert r.json()["detail"] == "objective 1: unknown metric 'workforce.nope'"
    assert site("analyst").get("/api/plans").json() == before


def test_viewers_read_plans_but_cannot_edit(site, plan_id):
    client_as = site
    pcn = client_as("pcn.pharmacist")
    view = pcn.get(f"/api/plans/{plan_id}").json()
    assert view["objectives"][0]["rag"] in {"green", "amber", "red", "grey"}
    assert view["on"] == TODAY.isoformat()  # the plan as of the app's today
    assert pcn.post("/api/plans", json=body()).status_code == 403
    assert (
        pcn.post(
            f"/api/plans/{plan_id}/stakeholders", json={"name": "LPC", "engagement": "consult"}
        ).status_code
        == 403
    )
    assert client_as("community.pharmacist").get("/api/plans").status_code == 403


def test_editors_add_objectives_pdsa_and_stakeholders(site, plan_id):
    client_as = site
    lead = client_as("workforce.lead")
    r = lead.post(
        f"/api/plans/{plan_id}/objectives",
        json={
            "title": "IP",
            "owner": "TL",
            "metric": "workforce.ip_coverage",
            "baseline": 10,
            "target": 50,
        },
    )
    assert r.status_code == 201
    oid = r.json()["id"]
    r = lead.post(
        f"/api/plans/{plan_id}/objectives/{oid}/pdsa",
        json={"title": "C1", "started_on": TODAY.isoformat(), "act": "adopt"},
    )
    assert r.status_code == 201
    bad = lead.post(f"/api/plans/{plan_id}/stakeholders", json={"name": "X", "engagement": "shout"})
    assert bad.status_code == 422
    view = lead.get(f"/api/plans/{plan_id}").json()
    assert [o["metric"]["id"] for o in view["objectives"]] == [
        "workforce.in_post_wte",
        "workforce.ip_coverage",
    ]
    assert view["objectives"][1]["pdsa"][0]["act"] == "adopt"


def test_plan_on_a_page_report(site, plan_id):
    client_as = site
    viewer = client_as("safety.officer")
    html = viewer.get(f"/api/plans/{plan_id}/report?format=html")
    assert html.status_code == 200 and "text/html" in html.headers["content-type"]
    assert "Grow" in html.text and "<svg" in html.text
    pdf = viewer.get(f"/api/plans/{plan_id}/report?format=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert viewer.get("/api/plans/999/report").status_code == 404


def test_plan_page_and_form_errors(site, plan_id):
    client_as = site
    analyst = client_as("analyst")
    page = analyst.get(f"/plans/{plan_id}", headers={"accept": "text/html"})
    assert page.status_code == 200 and "Grow" in page.text and "Add an objective" in page.text
    r = analyst.post(
        f"/plans/{plan_id}/objectives",
        data={"title": "T", "owner": "O", "metric": "analytics.nope", "target": "3"},
        headers={"accept": "text/html"},
    )
    assert r.status_code == 422 and "unknown metric &#39;analytics.nope&#39;" in r.text.lower()
    assert 'href="#o-title"' in r.text  # the error summary links to the form's field
    viewer = client_as("pcn.pharmacist").get(f"/plans/{plan_id}", headers={"accept": "text/html"})
    assert viewer.status_code == 200 and "Add an objective" not in viewer.text


def test_plan_dates_are_nhs_date_inputs_with_plain_english_errors_and_kept_values(site, plan_id):
    """Issue 14: no "YYYY-MM-DD" anywhere on the plan page; an impossible date is refused in
    plain English, linked from the summary to its field, with what was typed kept."""
    analyst = site("analyst")
    page = analyst.get(f"/plans/{plan_id}", headers={"accept": "text/html"})
    assert "YYYY" not in page.text
    assert 'name="target_date[day]"' in page.text and 'name="last_engaged[year]"' in page.text
    r = analyst.post(
        f"/plans/{plan_id}/stakeholders",
        data={
            "name": "LPC chair",
            "engagement": "consult",
            "last_engaged[day]": "31",
            "last_engaged[month]": "2",
            "last_engaged[year]": "2026",
        },
        headers={"accept": "text/html"},
    )
    assert r.status_code == 422
    assert "YYYY" not in r.text and "must be a real date" in r.text
    assert 'href="#s-last_engaged-' in r.text
    kept = 'name="last_engaged[day]" type="text" inputmode="numeric" value="31"'
    assert f'id="s-last_engaged-day" {kept}' in r.text
    later = analyst.get(f"/plans/{plan_id}", headers={"accept": "text/html"})
    assert "LPC chair" not in later.text  # nothing written


def test_adding_to_a_plan_or_objective_that_is_not_there_is_404(site, plan_id):
    """No such plan, or an objective not in this plan: 404 from the API and the page, whatever
    the body says; bad input to a plan that is there stays 422 (above)."""
    lead = site("workforce.lead")
    objective = {"title": "IP", "owner": "TL", "metric": "workforce.ip_coverage", "target": 50}
    assert lead.post("/api/plans/999999/objectives", json=objective).status_code == 404
    stakeholder = {"name": "LPC", "engagement": "consult"}
    assert lead.post("/api/plans/999999/stakeholders", json=stakeholder).status_code == 404
    cycle = {"title": "C1", "started_on": TODAY.isoformat()}
    r = lead.post(f"/api/plans/{plan_id}/objectives/999999/pdsa", json=cycle)
    assert r.status_code == 404 and r.json()["detail"] == f"no objective 999999 in plan {plan_id}"
    page = lead.post(
        f"/plans/{plan_id}/objectives/999999/pdsa",
        data={"pdsa-999999-title": "C1"},
        headers={"accept": "text/html"},
    )
    assert page.status_code == 404 and "Objective not found" in page.text
