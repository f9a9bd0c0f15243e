"""Browser: the workforce lead sees the summary, organogram and named posts, and adds a post with
the form (a mistake is explained, then fixed); an analyst sees the same aggregates without names."""

from datetime import UTC, datetime, timedelta

import pytest
from tests.browser.conftest import serious_accessibility_violations, sign_in
from tests.workforce.helpers import LEADER, csv_text, leader_and_report

from ipmo.store import session_scope
from ipmo.workforce.importer import import_assignments

pytestmark = pytest.mark.browser
NAMED = LEADER
NOON = datetime(2026, 6, 15, 12, tzinfo=UTC)  # the served app's clock: the pages' today


@pytest.fixture
def app_clock():
    return lambda: NOON


@pytest.fixture
def workforce(sample_ics):
    text = csv_text(
        *leader_and_report(),
    )
    with session_scope(sample_ics) as s:
        import_assignments(s, text)


def test_workforce_lead_sees_summary_organogram_and_names(page, workforce, live_server):
    sign_in(page, live_server, "workforce.lead")
    page.get_by_role("link", name="Pharmacy workforce").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Pharmacy workforce"
    table = page.locator("#workforce-summary")
    assert "North Place" in table.inner_text() and "Whole ICS" in table.inner_text()
    assert page.locator(".organogram svg").count() == 1
    assert "Riverside PCN" in page.locator(".organogram svg").text_content()
    assert serious_accessibility_violations(page) == []
    page.get_by_role("link", name="Pharmacy leadership and lines of accountability").click()
    assert NAMED in page.locator(".organogram svg").text_content()
    page.go_back()
    page.get_by_role("link", name="Named posts and people").click()
    assert NAMED in page.locator("#people").inner_text()


def test_analyst_sees_aggregates_without_names(page, workforce, live_server):
    sign_in(page, live_server, "analyst")
    page.get_by_role("link", name="Pharmacy workforce").click()
    page.get_by_role("link", name="PCN").click()
    assert "Riverside PCN" in page.locator("#workforce-summary").inner_text()
    assert NAMED not in page.content()
    assert page.get_by_role("link", name="Named posts and people").count() == 0
    page.get_by_role("link", name="Pharmacy leadership and lines of accountability").click()
    svg = page.locator(".organogram svg").text_content()
    assert "ICS Chief Pharmacist" in svg and NAMED not in svg


def test_plan_page_and_service_evaluation_are_accessible(page, workforce, sample_ics, live_server):
    from ipmo.plans.service import create_plan

    today = NOON.date()
    with session_scope(sample_ics) as s:
        create_plan(
            s,
            {
                "title": "Workforce plan",
                "owner": "Chief",
                "start_date": (today - timedelta(days=90)).isoformat(),
                "end_date": (today + timedelta(days=90)).isoformat(),
                "objectives": [
                    {
                        "title": "Grow",
                        "owner": "Lead",
                        "metric": "workforce.in_post_wte",
                        "baseline": 0.5,
                        "target": 3,
                    }
                ],
            },
            on=today,
        )
    sign_in(page, live_server, "analyst")
    page.get_by_role("link", name="ICS medicines plan").click()
    page.get_by_role("link", name="Workforce plan").click()
    assert page.get_by_role("heading", name="1. Grow").is_visible()
    assert page.locator("[data-rag] svg").count() == 1
    assert serious_accessibility_violations(page) == []
    page.goto(f"{live_server}/workforce/services")
    assert page.get_by_role("heading", level=1).inner_text() == "Service evaluation"
    assert serious_accessibility_violations(page) == []


def test_workforce_lead_adds_a_post_with_the_form(page, workforce, live_server):
    sign_in(page, live_server, "workforce.lead")
    page.goto(f"{live_server}/workforce/people")
    page.get_by_role("button", name="Add a post").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Add a post"
    assert serious_accessibility_violations(page) == []
    page.get_by_label("Assignment number").fill("N1")
    page.get_by_label("Organisation", exact=True).select_option("A10001")
    page.get_by_label("Position title").fill("Care home pharmacist")
    page.get_by_label("Staff role").select_option("pharmacist")
    page.get_by_label("Agenda for Change band").select_option("7")
    page.get_by_label("Whole-time equivalent").fill("1.5")
    page.get_by_label("Start date").fill("2025-04-01")
    page.get_by_label("Employee number").fill("E9")
    page.get_by_label("Full name").fill("Robin New")
    page.get_by_role("button", name="Add post").click()
    summary = page.locator(".nhsuk-error-summary")
    assert "at most 1.0" in summary.inner_text()
    assert serious_accessibility_violations(page) == []
    assert page.get_by_label("Position title").input_value() == "Care home pharmacist"
    summary.get_by_role("link").click()
    page.get_by_label("Whole-time equivalent").fill("0.8")
    page.get_by_role("button", name="Add post").click()
    assert page.get_by_text("Post N1 added.").is_visible()
    assert "Robin New" in page.locator("#people").inner_text()
