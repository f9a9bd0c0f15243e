"""End to end in a real browser on the sample ICS: the PCN pharmacist opens the SMR worklist,
sees why a patient is there, opens the review, records it, and the review is listed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from tests.browser.conftest import serious_accessibility_violations, sign_in

from ipmo.patients.models import MedicationIssue, Patient
from ipmo.review import service
from ipmo.store import session_scope

pytestmark = pytest.mark.browser


def test_pharmacist_works_the_worklist_and_records_a_review(page, live_server, sample_ics):
    today = date.today()
    with session_scope(sample_ics) as s:
        ada = s.scalar(select(Patient).where(Patient.nhs_number == "9990000018"))
        for name in ("Naproxen 500mg tablets", "Apixaban 5mg tablets"):
            s.add(
                MedicationIssue(
                    patient_id=ada.id,
                    dmd_code="0",
                    name=name,
                    issue_date=today - timedelta(days=7),
                    issue_type="repeat",
                )
            )
    service.run(sample_ics, today)

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
    assert "stop Naproxen 500mg tablets (proposed)" in page.locator("#reviews").inner_text()
