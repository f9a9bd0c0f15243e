"""The medication record page end to end in Chromium on the sample ICS: add two sources, see one
list with a column per source and the discrepancies, record a decision, and check accessibility."""

import pytest
from tests.browser.conftest import serious_accessibility_violations, sign_in

pytestmark = pytest.mark.browser

ADA = "9990000018"
GP = f"""nhs_number,source_kind,source_org_code,name,status,dose_text,authored_on,category
{ADA},gp,A10001,Amlodipine 5mg tablets,active,1 tablet once a day,2025-01-02,repeat
{ADA},gp,A10001,Warfarin 1mg tablets,active,1 tablet once a day,2025-01-02,repeat
"""
HOSPITAL = f"""nhs_number,source_kind,source_org_code,name,status,dose_text,authored_on,category
{ADA},hospital,RXX,Amlodipine 5mg tablets,active,1 tablet twice a day,2025-05-02,inpatient
"""


def test_pharmacist_reconciles_on_the_record_page(page, live_server, tmp_path):
    gp, hosp = tmp_path / "gp.csv", tmp_path / "hospital.csv"
    gp.write_text(GP)
    hosp.write_text(HOSPITAL)
    sign_in(page, live_server, "pcn.pharmacist")
    page.get_by_role("link", name="Medication records").click()
    page.get_by_label("NHS number").fill("999 000 0018")
    page.get_by_role("button", name="Open record").click()
    page.get_by_label("Current on (index date)").fill("2025-06-01")
    page.get_by_role("button", name="Show").click()
    for path in (gp, hosp):
        page.get_by_label("FHIR R4 or STU3 bundle (JSON or XML), or CSV").set_input_files(str(path))
        page.get_by_role("button", name="Add source").click()
        assert page.get_by_text("Source added to the record.").is_visible()
    table = page.locator("#medicines")
    assert table.get_by_role("columnheader", name="gp:A10001").is_visible()
    assert table.get_by_role("columnheader", name="hospital:RXX").is_visible()
    assert page.locator("tr.ipmo-flagged").count() == 2  # warfarin omitted, amlodipine dose
    assert serious_accessibility_violations(page) == []
    card = page.locator(".nhsuk-card", has_text="Omission: Warfarin")
    card.get_by_label("Needs GP").check()
    card.get_by_label("Reason").fill("Not on the hospital chart: ask the practice")
    card.get_by_role("button", name="Record decision").click()
    assert page.get_by_text("Decision recorded.").is_visible()
    assert page.get_by_text("ask the practice").is_visible()
