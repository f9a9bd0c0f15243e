"""Confirmation panels and the cancel step in Chromium (issue 14), with axe on each page;
screenshots for a reviewer go to IPMO_SCREENSHOTS (if set)."""

import os
from pathlib import Path

import pytest
from tests.browser.conftest import send_111_referral, serious_accessibility_violations

pytestmark = pytest.mark.browser


def _shot(page, name: str) -> None:
    folder = os.environ.get("IPMO_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_referrer_sends_then_cancels_with_a_reason(page, live_server, sample_ics):
    summary = "Ran out of amlodipine 5 mg"
    service = "urgent-repeat-supply"
    send_111_referral(page, live_server, sample_ics, "999 000 0018", service, summary)
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
