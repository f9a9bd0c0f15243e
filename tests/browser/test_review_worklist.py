"""End to end in a real browser on the sample ICS: the PCN pharmacist opens the SMR worklist,
sees why a patient is there, opens the review, records it, and the review is listed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.browser.conftest import (
    seed_worklist_patient,
    serious_accessibility_violations,
    sign_in,
)

from ipmo.web.dates import nhs_date

pytestmark = pytest.mark.browser
NOON = datetime(2026, 11, 16, 12, tzinfo=UTC)  # the served app's clock: the pages' today


@pytest.fixture
def app_clock():
    return lambda: NOON


def test_pharmacist_works_the_worklist_and_records_a_review(page, live_server, sample_ics):
    today = NOON.date()
    seed_worklist_patient(sample_ics, today)

    sign_in(page, live_server, "pcn.pharmacist")
    page.get_by_role("link", name="SMR worklist").click()
    row = page.locator("#worklist tbody tr").first
    assert "Ada Smith" in row.inner_text() and "care-home resident" in row.inner_text()
    assert serious_accessibility_violations(page) == []
    row.get_by_role("link", name="Ada Smith").click()
    assert page.locator("#finding-PINCER-D").is_visible()
    assert "Naproxen 500mg tablets" in page.locator("#finding-PINCER-D").inner_text()
    assert serious_accessibility_violations(page) == []
    page.get_by_label("PINCER-D").check()
    page.get_by_label("Intervention", exact=True).select_option("stop")
    page.get_by_label("Medicine", exact=True).fill("Naproxen 500mg tablets")
    page.get_by_label("Decision shared with the patient or carer").fill("Stop naproxen")
    page.get_by_role("button", name="Record review").click()
    assert page.locator("#saved").is_visible()
    assert (
        "Stop a medicine: Naproxen 500mg tablets (proposed)"
        in page.locator("#reviews").inner_text()
    )
    # the worklist now says the patient was reviewed and when the next review is due (issue 14)
    page.get_by_role("navigation", name="Back").get_by_role("link", name="SMR worklist").click()
    row = page.locator("#worklist tbody tr", has_text="Ada Smith")
    status = row.locator(".ipmo-review-status").inner_text()
    assert "Reviewed" in status
    assert f"next due {nhs_date(today + timedelta(days=365))}" in status
    assert serious_accessibility_violations(page) == []
