"""The referral outcome form reveals each outcome's details under its radio (NHS.UK radios with
conditional content, issue 14), and still works without JavaScript: every part shows and the
server checks what the chosen outcome needs (referrals/outcome_details.py)."""

from __future__ import annotations

import pytest
from tests.browser.conftest import send_111_referral, serious_accessibility_violations, sign_in

pytestmark = pytest.mark.browser


def _accepted_referral(page, live_server, sample_ics, nhs_number: str) -> str:
    summary = "Ran out of amlodipine 5 mg"
    send_111_referral(page, live_server, sample_ics, nhs_number, "urgent-repeat-supply", summary)
    reference = page.locator(".nhsuk-caption-l").inner_text().removeprefix("Referral ")
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server, "community.pharmacist")
    page.goto(f"{live_server}/referrals/{reference}")
    page.get_by_role("button", name="Accept referral").click()
    assert page.locator("#referral-status").inner_text().startswith("Accepted")
    return reference


def test_each_outcome_reveals_only_its_own_details(page, live_server, sample_ics):
    _accepted_referral(page, live_server, sample_ics, "999 000 0018")
    medicine, reason, urgency = (
        page.get_by_label("Medicine 1"),
        page.locator("#reason"),
        page.locator("#urgency"),
    )
    assert not medicine.is_visible() and not reason.is_visible() and not urgency.is_visible()
    page.get_by_label("Supplied", exact=True).check()
    assert medicine.is_visible() and page.locator("#consent").is_visible()
    assert not reason.is_visible() and not urgency.is_visible()
    page.get_by_label("No supply", exact=True).check()
    assert reason.is_visible() and not medicine.is_visible() and not urgency.is_visible()
    page.get_by_label("Referred on", exact=True).check()
    assert urgency.is_visible() and page.locator("#escalate_to").is_visible()
    assert not reason.is_visible() and not medicine.is_visible()
    assert serious_accessibility_violations(page) == []
    # an error in a revealed part: the part stays open and the summary links to the field
    page.get_by_role("button", name="Record outcome").click()
    assert page.locator(".nhsuk-error-summary a").first.get_attribute("href") == "#escalate_to"
    assert page.locator("#escalate_to").is_visible() and not medicine.is_visible()
    page.locator("#escalate_to").select_option(index=1)
    page.locator("#urgency").select_option(index=1)
    page.get_by_role("button", name="Record outcome").click()
    assert page.locator("#referral-outcome").inner_text().startswith("Referred on")


def test_the_outcome_form_works_without_javascript(browser, live_server, sample_ics):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        _accepted_referral(page, live_server, sample_ics, "999 000 0018")
        # every part shows: nothing is hidden from a browser without JavaScript
        assert page.get_by_label("Medicine 1").is_visible()
        assert page.locator("#reason").is_visible() and page.locator("#urgency").is_visible()
        page.get_by_label("No supply", exact=True).check()
        page.locator("#reason").select_option(index=1)
        page.get_by_role("button", name="Record outcome").click()
        assert page.locator("#referral-outcome").inner_text().startswith("No supply")
    finally:
        context.close()
