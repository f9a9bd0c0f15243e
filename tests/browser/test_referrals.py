"""End to end in a real browser: NHS 111 refers, the community pharmacist accepts and records the
outcome, the referrer sees it."""

from __future__ import annotations

import pytest
from tests.browser.conftest import send_111_referral, serious_accessibility_violations, sign_in

pytestmark = pytest.mark.browser


def test_refer_accept_record_outcome_and_referrer_sees_it(page, live_server, sample_ics):
    summary = "Ran out of amlodipine 5 mg"
    service = "urgent-repeat-supply"
    send_111_referral(
        page,
        live_server,
        sample_ics,
        "999 000 0018",
        service,
        summary,
        "Ada Smith",
        ("7", "3", "1950"),
    )
    assert page.get_by_role("heading", level=1).inner_text() == "Urgent repeat medicine supply"
    # NHS 111 has no relationship with the patient: it sees the referral as it sent it
    banner = page.locator(".ipmo-patient-banner").inner_text()
    assert banner.startswith("Ada Smith") and "7 March 1950" in banner, banner
    assert page.locator("#referral-status").inner_text().startswith("Sent")
    assert serious_accessibility_violations(page) == []
    reference = page.locator(".nhsuk-caption-l").inner_text().removeprefix("Referral ")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, live_server, "community.pharmacist")
    page.get_by_role("link", name="Referral inbox").click()
    page.get_by_role("link", name=reference).click()
    page.get_by_role("button", name="Accept referral").click()
    assert page.locator("#referral-status").inner_text().startswith("Accepted")
    page.get_by_label("Supplied", exact=True).check()
    page.get_by_label("Medicine 1").fill("Amlodipine 5mg tablets")
    page.get_by_label("Quantity").first.fill("7")
    page.locator("#consent").check()  # the patient consented
    page.get_by_label("Notes for the referrer and GP").fill("Supplied 7 days")
    page.get_by_role("button", name="Record outcome").click()
    assert page.locator("#referral-status").inner_text().startswith("Completed")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, live_server, "nhs111")
    page.get_by_role("link", name="Track referrals").click()
    page.get_by_role("link", name=reference).click()
    outcome = page.locator("#referral-outcome").inner_text()
    assert outcome.startswith("Supplied") and "Supplied 7 days" in outcome
