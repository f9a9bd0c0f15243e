"""A NHS 111 clinician finds a stuck urgent prescription in the browser and redirects it to a
pharmacy open now (issue 16), with axe on each page."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from tests.browser.conftest import serious_accessibility_violations, sign_in
from tests.prescriptions.conftest import urgent_order

from ipmo.organisations.models import Organisation
from ipmo.prescriptions import ingest_message
from ipmo.store import session_scope

pytestmark = pytest.mark.browser
MONDAY_3PM = datetime(2026, 12, 7, 15, tzinfo=UTC)  # the served app's clock (Monday, 3pm)
ALWAYS = {d: [["00:00", "23:59"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.fixture
def app_clock():
    return lambda: MONDAY_3PM


def test_111_clinician_finds_and_redirects_a_stuck_urgent_prescription(
    page, live_server, sample_ics
):
    issued = (MONDAY_3PM - timedelta(hours=30)).isoformat()  # 30 hours before the app's now
    order, pid = urgent_order(7, issued, "FB001", "9990000042")
    with session_scope(sample_ics) as s:
        s.execute(
            update(Organisation)
            .where(Organisation.ods_code.in_(["FA001", "FB001"]))
            .values(opening_hours=ALWAYS)
        )
        ingest_message(s, json.dumps(order))
    sign_in(page, live_server, "nhs111")
    page.get_by_role("link", name="Stuck urgent prescriptions").click()
    row = page.get_by_role("row").filter(has_text=pid)
    assert row.is_visible() and "Hillside Pharmacy" in row.inner_text()
    assert serious_accessibility_violations(page) == []
    row.get_by_label("Pharmacy open now").select_option(label="Riverside Pharmacy")
    row.get_by_role("button", name="Redirect").click()
    panel = page.locator("#confirmation")
    assert panel.get_by_role("heading", name="Prescription redirected").is_visible()
    assert "Riverside Pharmacy" in panel.inner_text()
    assert page.get_by_role("row").filter(has_text=pid).count() == 0  # no longer stuck
    assert serious_accessibility_violations(page) == []
