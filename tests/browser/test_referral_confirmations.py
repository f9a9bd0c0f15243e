"""Confirmation panels and the cancel step in Chromium (issue 14), with axe on each page;
screenshots for a reviewer go to IPMO_SCREENSHOTS (if set)."""

import os
import re
from pathlib import Path

import pytest
from sqlalchemy import update
from tests.browser.conftest import serious_accessibility_violations, sign_in

from ipmo.organisations.models import Organisation
from ipmo.store import session_scope

pytestmark = pytest.mark.browser
ALWAYS = {d: [["00:00", "23:59"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def _shot(page, name: str) -> None:
    folder = os.environ.get("IPMO_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_referrer_sends_then_cancels_with_a_reason(page, live_server, sample_ics):
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
    panel = page.locator("#confirmation")
    assert panel.get_by_role("heading", name="Referral sent").is_visible()
    assert "Riverside Pharmacy" in panel.inner_text()
    assert serious_accessibility_violations(page) == []
    _shot(page, "referral-sent")
    page.get_by_role("button", name="Cancel referral").click()  # a link styled as a button
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Are you sure you want to cancel this referral?"
    )
    page.get_by_role("button", name="Cancel referral").click()
    assert page.get_by_text("There is a problem").is_visible()
    assert serious_accessibility_violations(page) == []
    _shot(page, "referral-cancel-needs-reason")
    page.get_by_label("Why are you cancelling it?").fill("Patient found their own supply")
    page.get_by_role("button", name="Cancel referral").click()
    assert panel.get_by_role("heading", name="Referral cancelled").is_visible()
    assert page.locator("#referral-status").inner_text().startswith("Cancelled")
    _shot(page, "referral-cancelled")
