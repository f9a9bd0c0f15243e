"""End to end in a real browser: NHS 111 refers, the community pharmacist accepts and records the
outcome, the referrer sees it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update
from tests.browser.conftest import serious_accessibility_violations, sign_in

from ipmo.organisations.models import Organisation
from ipmo.store import session_scope

pytestmark = pytest.mark.browser
ALWAYS = {d: [["00:00", "00:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def test_refer_accept_record_outcome_and_referrer_sees_it(page, live_server, sample_ics):
    with session_scope(sample_ics) as s:  # open whatever the clock says
        s.execute(
            update(Organisation)
            .where(Organisation.ods_code == "FA001")
            .values(opening_hours=ALWAYS)
        )
    sign_in(page, live_server, "nhs111")
    page.get_by_role("link", name="Send a referral").click()
    page.get_by_label("NHS number").fill("999 000 0018")
    page.get_by_label("Service").select_option("urgent-repeat-supply")
    page.get_by_label("Clinical summary").fill("Ran out of amlodipine 5 mg")
    page.get_by_label(re.compile("^Reason for referring")).fill("NHS 111 caller")
    page.get_by_role("button", name="Send referral").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Urgent repeat medicine supply"
    assert page.locator(".ipmo-patient-banner").inner_text().startswith("Ada Smith")
    assert page.locator("#referral-status").inner_text().startswith("Sent")
    assert serious_accessibility_violations(page) == []
    reference = page.locator(".nhsuk-caption-l").inner_text().removeprefix("Referral ")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, live_server, "community.pharmacist")
    page.get_by_role("link", name="Referral inbox").click()
    page.get_by_role("link", name=reference).click()
    page.get_by_role("button", name="Accept referral").click()
    assert page.locator("#referral-status").inner_text().startswith("Accepted")
    page.get_by_label("Supplied").check()
    page.get_by_label("Notes for the referrer and GP").fill("Supplied 7 days")
    page.get_by_role("button", name="Record outcome").click()
    assert page.locator("#referral-status").inner_text().startswith("Completed")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, live_server, "nhs111")
    page.get_by_role("link", name="Track referrals").click()
    page.get_by_role("link", name=reference).click()
    outcome = page.locator("#referral-outcome").inner_text()
    assert outcome.startswith("Supplied") and "Supplied 7 days" in outcome
