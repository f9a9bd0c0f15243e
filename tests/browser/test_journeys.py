"""Each role's main journey end to end in Chromium (issue 14, "Proof"): search, the patient
banner, errors shown the NHS.UK way, confirmations. Every page visited is checked with axe (every
violation, any impact) and for duplicate ids, and photographed to
``test-artefacts/journeys/<role>/<nn>-<step>.png`` for a reviewer."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from tests.browser.conftest import Journey, seed_worklist_patient, sign_in

pytestmark = pytest.mark.browser
REVIEW_NOON = datetime(2026, 11, 16, 12, tzinfo=UTC)  # the SMR journey's clock: the pages' today


def _summary_links(page) -> list[str]:
    return [a.get_attribute("href") for a in page.locator(".nhsuk-error-summary__list a").all()]


def _sign_in_with_a_mistake(j: Journey, base: str, username: str) -> None:
    page = j.page
    page.goto(f"{base}/sign-in")
    j.step("sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_role("button", name="Sign in").click()
    assert _summary_links(page) == ["#password"]
    assert page.get_by_label("Username").input_value() == username
    j.step("sign-in-error")
    page.get_by_label("Password").fill("demo-password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")
    j.step("home")


def _send_urgent_supply(page, base: str) -> str:
    page.goto(f"{base}/referrals/new")
    page.get_by_label("NHS number").fill("999 000 0018")
    page.get_by_label("Service").select_option("urgent-repeat-supply")
    page.get_by_label("Clinical summary").fill("Ran out of amlodipine 5 mg")
    page.get_by_label(re.compile("^Reason for referring")).fill("NHS 111 caller")
    page.get_by_role("button", name="Send referral").click()
    return page.locator(".nhsuk-caption-l").inner_text().split()[-1]


def test_journey_nhs111_refers_a_caller_then_cancels(page, live_server, open_pharmacies):
    j = Journey(page, "nhs111")
    _sign_in_with_a_mistake(j, live_server, "nhs111")
    page.get_by_role("link", name="Send a referral").first.click()
    j.step("send-form")
    page.get_by_label("Clinical summary").fill("Ran out of amlodipine 5 mg")
    page.get_by_role("button", name="Send referral").click()
    assert _summary_links(page) == ["#nhs_number", "#service"]
    assert page.get_by_label("Clinical summary").input_value() == "Ran out of amlodipine 5 mg"
    j.step("send-errors")
    page.get_by_label("NHS number").fill("999 000 0018")
    page.get_by_label("Service").select_option("urgent-repeat-supply")
    page.get_by_role("button", name="Send referral").click()
    assert _summary_links(page) == ["#no_relationship_reason"]
    j.step("send-needs-reason")
    page.get_by_label(re.compile("^Reason for referring")).fill("NHS 111 caller")
    page.get_by_role("button", name="Send referral").click()
    assert page.locator("#confirmation").get_by_text("Referral sent").is_visible()
    assert page.locator(".ipmo-patient-banner").get_by_text("999 000 0018").is_visible()
    j.step("referral-sent")
    page.goto(f"{live_server}/referrals")  # in the header's "More" menu at this width
    j.step("track")
    page.go_back()
    page.get_by_role("button", name="Cancel referral").click()
    j.step("cancel-confirm")
    page.get_by_role("button", name="Cancel referral").click()
    assert _summary_links(page) == ["#reason"]
    j.step("cancel-needs-reason")
    page.get_by_label("Why are you cancelling it?").fill("Caller found their own supply")
    page.get_by_role("button", name="Cancel referral").click()
    assert page.locator("#confirmation").get_by_text("Referral cancelled").is_visible()
    history = page.locator("h2:has-text('History') + ul").inner_text()
    assert history.index("Sent") < history.index("Cancelled")
    j.step("cancelled")


def test_journey_community_pharmacist_accepts_and_records_an_urgent_supply(
    page, live_server, open_pharmacies
):
    sign_in(page, live_server, "nhs111")
    reference = _send_urgent_supply(page, live_server)
    page.context.clear_cookies()
    j = Journey(page, "community-pharmacist")
    _sign_in_with_a_mistake(j, live_server, "community.pharmacist")
    page.get_by_role("link", name="Referral inbox").first.click()
    j.step("inbox")
    page.get_by_role("link", name=reference).click()
    j.step("referral")
    page.get_by_role("button", name="Accept referral").click()
    assert page.locator("#confirmation").get_by_text("Referral accepted").is_visible()
    j.step("accepted")
    page.get_by_label("No supply", exact=True).check()  # reveals the reason
    page.get_by_label("Reason for no supply").select_option("out-of-stock")
    page.locator("#outcome").check()  # then Supplied: the reason is hidden and not sent
    page.get_by_label("Medicine 1").fill("Amlodipine 5mg tablets")
    page.get_by_label("Quantity").first.fill("28")
    page.get_by_label("Notes for the referrer and GP").fill("Seen at the counter")
    page.get_by_role("button", name="Record outcome").click()
    assert _summary_links(page) == ["#consent"]  # not "#reason": the hidden reason was not sent
    assert page.get_by_label("Medicine 1").input_value() == "Amlodipine 5mg tablets"
    j.step("outcome-needs-consent")
    page.locator("#consent").check()
    page.get_by_role("button", name="Record outcome").click()
    assert page.locator("#confirmation").get_by_text("Outcome recorded").is_visible()
    assert "Amlodipine 5mg tablets: 28" in page.locator("#referral-outcome").inner_text()
    j.step("outcome-recorded")


def test_journey_hospital_pharmacist_sends_discharge_medicines(page, live_server, open_pharmacies):
    j = Journey(page, "hospital-pharmacist")
    _sign_in_with_a_mistake(j, live_server, "hospital.pharmacist")
    page.get_by_role("link", name="Send a referral").first.click()
    page.get_by_label("NHS number").fill("999 000 0042")
    page.get_by_label("Service").select_option("discharge-medicines-service")
    page.get_by_label("Clinical summary").fill("Discharged after a fall; apixaban started")
    page.get_by_label("Medicine 1", exact=True).fill("Apixaban 5mg tablets")
    page.get_by_label("Dose of medicine 1").fill("One tablet twice a day")
    page.get_by_label("Medicine 2", exact=True).fill("Ramipril 5mg capsules")
    page.get_by_label("Change to medicine 1").select_option("started")
    j.step("discharge-form")
    page.get_by_role("button", name="Send referral").click()
    assert _summary_links(page) == ["#dm-2-change"]
    j.step("discharge-needs-change")
    page.get_by_label("Change to medicine 2").select_option("stopped")
    page.get_by_role("button", name="Send referral").click()
    assert page.locator("#confirmation").get_by_text("Referral sent").is_visible()
    table = page.get_by_role("table", name="Discharge list")
    assert "Apixaban 5mg tablets" in table.inner_text() and "Stopped" in table.inner_text()
    j.step("discharge-sent")


@pytest.mark.parametrize("app_clock", [lambda: REVIEW_NOON], ids=["served-at-review-noon"])
def test_journey_pcn_pharmacist_finds_reviews_and_sees_the_worklist_change(
    page, live_server, open_pharmacies
):
    seed_worklist_patient(open_pharmacies, REVIEW_NOON.date())  # the served app's today
    j = Journey(page, "pcn-pharmacist")
    _sign_in_with_a_mistake(j, live_server, "pcn.pharmacist")
    page.get_by_role("link", name="Find a patient").first.click()
    page.get_by_label("Last name").fill("smi")
    page.get_by_label("Day").fill("1")
    page.get_by_label("Month").fill("3")
    page.get_by_label("Year").fill("1940")
    page.get_by_role("button", name="Search").click()
    j.step("find-patient")
    page.get_by_role("link", name="Ada Smith").click()
    j.step("patient-summary")
    page.locator(".ipmo-patient-banner").get_by_role("link", name="Medication record").click()
    j.step("record")
    page.get_by_role("link", name="SMR worklist").first.click()
    row = page.locator("#worklist tbody tr", has_text="Ada Smith")
    assert "Not reviewed" in row.inner_text()
    j.step("worklist")
    row.get_by_role("link", name="Ada Smith").click()
    j.step("review")
    page.get_by_label("Intervention", exact=True).select_option("stop")
    page.get_by_role("button", name="Record review").click()
    assert _summary_links(page) == ["#medicine", "#shared_decision"]
    j.step("review-errors")
    page.get_by_label("Medicine", exact=True).fill("Naproxen 500mg tablets")
    page.get_by_label("Decision shared with the patient or carer").fill("Stop naproxen")
    page.get_by_role("button", name="Record review").click()
    assert page.locator("#saved").is_visible()
    j.step("review-recorded")
    page.get_by_role("link", name="SMR worklist").first.click()
    row = page.locator("#worklist tbody tr", has_text="Ada Smith")
    assert "Reviewed" in row.locator(".ipmo-review-status").inner_text()
    j.step("worklist-after-review")


def test_journey_gp_tracks_referrals_and_opens_a_record(page, live_server, open_pharmacies):
    j = Journey(page, "gp")
    _sign_in_with_a_mistake(j, live_server, "gp")
    page.goto(f"{live_server}/referrals")
    j.step("referrals")
    page.goto(f"{live_server}/records/patients/9990000018")
    assert page.locator(".ipmo-patient-banner").get_by_text("Ada Smith").is_visible()
    j.step("record")


def test_journey_admin_manages_users_and_checks_the_audit_log(page, live_server, open_pharmacies):
    j = Journey(page, "admin")
    _sign_in_with_a_mistake(j, live_server, "admin")
    page.get_by_role("link", name="Users").first.click()
    j.step("users")
    page.get_by_role("button", name="Add a user").click()
    page.get_by_role("button", name="Add user").click()
    assert _summary_links(page) == ["#username"]
    j.step("add-user-error")
    page.get_by_label("Username").fill("j.bloggs")
    page.get_by_label("Name and job title").fill("Jo Bloggs (PCN pharmacist)")
    page.get_by_label("Role").select_option("pcn-pharmacist")
    page.get_by_label("Organisation").select_option("A10001")
    page.get_by_role("button", name="Add user").click()
    assert page.locator("#confirmation").get_by_text("User added").is_visible()
    j.step("user-added")
    page.get_by_role("link", name="Disable user").click()
    question = "Are you sure you want to disable Jo Bloggs"
    assert page.get_by_role("heading", name=question).is_visible()
    j.step("confirm-disable")
    page.get_by_role("button", name="Disable user").click()
    assert page.locator("#user-status").inner_text() == "Disabled"
    j.step("user-disabled")
    page.get_by_role("link", name="Audit log").first.click()
    page.get_by_label("Username").fill("admin")
    page.get_by_role("button", name="Filter").click()
    assert "admin.user.disable" in page.locator("#audit").inner_text()
    j.step("audit-log")
    page.get_by_role("button", name="Check the log has not been altered").click()
    assert page.locator("#confirmation").get_by_text("The audit log is intact").is_visible()
    j.step("audit-verified")


@pytest.mark.parametrize("username", ["carehome", "analyst", "workforce.lead", "safety.officer"])
def test_journey_other_roles_reach_their_first_page(page, live_server, open_pharmacies, username):
    """Every other role signs in and opens each item of its header navigation."""
    j = Journey(page, username.replace(".", "-"))
    _sign_in_with_a_mistake(j, live_server, username)
    hrefs = [
        a.get_attribute("href")
        for a in page.locator("a.nhsuk-card__link").all()
        if (a.get_attribute("href") or "").startswith("/")
    ]
    assert hrefs, "the home page offers this role somewhere to go"
    for href in hrefs:
        page.goto(f"{live_server}{href}")
        assert page.locator("h1").count() == 1
        j.step(href.strip("/").replace("/", "-") or "home")
