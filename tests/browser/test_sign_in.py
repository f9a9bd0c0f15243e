import pytest
from tests.browser.conftest import serious_accessibility_violations, sign_in

pytestmark = pytest.mark.browser


def test_a_pharmacist_signs_in_and_sees_their_home_page(page, live_server):
    sign_in(page, live_server, "pcn.pharmacist")
    assert (
        page.get_by_role("heading", level=1).inner_text() == "Welcome, Priya Shah (PCN pharmacist)"
    )
    assert page.get_by_role("link", name="Find a patient").is_visible()


def test_home_page_has_no_serious_accessibility_issues(page, live_server):
    sign_in(page, live_server, "pcn.pharmacist")
    assert serious_accessibility_violations(page) == []


def test_sign_in_page_has_no_serious_accessibility_issues(page, live_server):
    page.goto(f"{live_server}/sign-in")
    assert serious_accessibility_violations(page) == []


def test_wrong_password_shows_an_error_summary(page, live_server):
    page.goto(f"{live_server}/sign-in")
    page.get_by_label("Username").fill("gp")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_text("There is a problem").is_visible()


def test_find_a_patient_then_open_the_summary(page, live_server):
    sign_in(page, live_server, "gp")
    page.get_by_role("link", name="Find a patient").click()
    page.get_by_label("NHS number").fill("999 000 0018")
    page.get_by_role("button", name="Find by NHS number").click()
    banner = page.locator(".ipmo-patient-banner")
    assert banner.get_by_text("Ada Smith").is_visible()
    assert banner.get_by_text("999 000 0018").is_visible()
    assert banner.get_by_text("Riverside Medical Centre").is_visible()
