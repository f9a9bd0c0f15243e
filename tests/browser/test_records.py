"""The medication record page end to end in Chromium on the sample ICS: add two sources, see one
list with a column per source and the discrepancies, record a decision; accept and reject changes
proposed by a medication review (the reviewer sees the outcome); and check accessibility."""

from datetime import UTC, datetime, timedelta

import pytest
from tests.browser.conftest import serious_accessibility_violations, sign_in

pytestmark = pytest.mark.browser
NOON = datetime(2026, 6, 15, 12, tzinfo=UTC)  # the served app's clock: the pages' today

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
    page.get_by_label("Day").fill("1")
    page.get_by_label("Month").fill("6")
    page.get_by_label("Year").fill("2025")
    page.get_by_role("button", name="Show").click()
    for path in (gp, hosp):
        page.get_by_label("FHIR R4 or STU3 bundle (JSON or XML), or CSV").set_input_files(str(path))
        page.get_by_role("button", name="Add source").click()
        assert page.get_by_text("Source added to the record.").is_visible()
    table = page.locator("#medicines")
    assert table.get_by_role("columnheader", name="Riverside Medical Centre GP record").is_visible()
    assert table.get_by_role(
        "columnheader", name="Example Teaching Hospitals NHS Trust Hospital record"
    ).is_visible()
    assert page.locator("tr.ipmo-flagged").count() == 2  # warfarin omitted, amlodipine dose
    assert serious_accessibility_violations(page) == []
    card = page.locator(".nhsuk-card", has_text="Omission: Warfarin")
    card.get_by_label("Needs GP").check()
    card.get_by_label("Reason").fill("Not on the hospital chart: ask the practice")
    card.get_by_role("button", name="Record decision").click()
    assert page.get_by_text("Decision recorded.").is_visible()
    assert page.get_by_text("ask the practice").is_visible()


@pytest.fixture
def app_clock():
    return lambda: NOON


def _today_gp() -> str:
    authored = (NOON.date() - timedelta(days=60)).isoformat()
    return f"""nhs_number,source_kind,source_org_code,name,status,dose_text,authored_on,category
{ADA},gp,A10001,Ibuprofen 400mg tablets,active,1 tablet three times a day,{authored},repeat
{ADA},gp,A10001,Amlodipine 5mg tablets,active,1 tablet once a day,{authored},repeat
"""


def _record_review(page, base_url: str, kind: str, medicine: str, decision: str) -> None:
    page.goto(f"{base_url}/review/patients/{ADA}")
    page.get_by_label("Intervention").select_option(kind)
    page.get_by_label("Medicine", exact=True).fill(medicine)
    page.get_by_label("Decision shared with the patient or carer").fill(decision)
    page.get_by_role("button", name="Record review").click()
    assert page.locator("#saved").is_visible()


def test_pharmacist_accepts_and_rejects_proposed_changes(page, live_server, tmp_path):
    gp = tmp_path / "gp.csv"
    gp.write_text(_today_gp())
    sign_in(page, live_server, "pcn.pharmacist")
    page.goto(f"{live_server}/records/patients/{ADA}")
    page.get_by_label("FHIR R4 or STU3 bundle (JSON or XML), or CSV").set_input_files(str(gp))
    page.get_by_role("button", name="Add source").click()
    _record_review(page, live_server, "stop", "Ibuprofen 400mg tablets", "Stop ibuprofen")
    _record_review(page, live_server, "start", "Paracetamol 500mg tablets", "Try paracetamol")
    page.goto(f"{live_server}/records/patients/{ADA}")
    assert page.locator(".ipmo-proposal").count() == 2
    assert serious_accessibility_violations(page) == []
    stop = page.locator(".ipmo-proposal", has_text="Ibuprofen 400mg tablets")
    stop.get_by_role("button", name="Accept change").click()
    assert page.get_by_text("Proposed change accepted").is_visible()
    row = page.locator("#medicines tr", has_text="Ibuprofen")
    assert row.get_by_text("stopped", exact=True).first.is_visible()
    start = page.locator(".ipmo-proposal", has_text="Paracetamol 500mg tablets")
    start.get_by_text("Reject this change").click()
    start.get_by_label("Reason for rejecting").fill("Already buys paracetamol over the counter")
    start.get_by_role("button", name="Reject change").click()
    assert page.get_by_text("Proposed change rejected").is_visible()
    assert page.locator(".ipmo-proposal").count() == 0
    resolved = page.locator("#resolved-changes")
    assert resolved.get_by_text("Already buys paracetamol over the counter").is_visible()
    assert serious_accessibility_violations(page) == []
    page.goto(f"{live_server}/review/patients/{ADA}")
    reviews = page.locator("#reviews")
    assert reviews.get_by_text("applied", exact=False).first.is_visible()
    assert reviews.get_by_text("Already buys paracetamol", exact=False).is_visible()
