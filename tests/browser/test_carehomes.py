"""Care homes end to end in Chromium: a care-home carer sees their home's alerts (not another
home's) and records a best-interests decision; the PCN (MOCH) pharmacist sees the caseload across
homes and the eMAR findings on the SMR worklist and review page; an ICS lead reads the per-home
figures. axe finds no serious violations; screenshots for a reviewer."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from tests.browser.conftest import serious_accessibility_violations, serving, sign_in
from tests.carehomes.test_pages import (  # noqa: F401 - the fixtures
    ADA,
    TODAY,
    app_clock,
    homes,
)

from ipmo.review import service

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("IPMO_SCREENSHOTS", "/tmp/ipmo-screenshots"))


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"carehomes-{name}.png"), full_page=True)


def test_carer_sees_their_homes_alerts_and_records_a_best_interests_decision(
    page,
    live_server,
    homes,  # noqa: F811 - the fixture
):
    sign_in(page, live_server, "carehome")
    page.get_by_role("link", name="Care-home residents").first.click()
    table = page.locator("#residents").inner_text()
    assert "Ada Smith" in table and "Repeated refusals or omissions" in table
    assert "Elsie" not in table  # another home's resident
    assert serious_accessibility_violations(page) == []
    shot(page, "carer-residents")
    page.get_by_role("link", name="Ada Smith").click()
    assert (
        "Covert administration without a best-interests decision"
        in page.locator("#findings").inner_text()
    )
    page.get_by_role("button", name="Record decision").click()  # nothing filled in
    assert page.locator(".nhsuk-error-summary").is_visible()
    assert serious_accessibility_violations(page) == []
    shot(page, "carer-decision-error")
    today, later = TODAY, TODAY + timedelta(days=90)  # the served app's clock is on TODAY
    for prefix, when in (("decided_on", today), ("review_by", later)):
        page.locator(f"#{prefix}-day").fill(str(when.day))
        page.locator(f"#{prefix}-month").fill(str(when.month))
        page.locator(f"#{prefix}-year").fill(str(when.year))
    page.get_by_label("Who took part").fill("GP, care-home pharmacist, son (LPA)")
    page.get_by_role("button", name="Record decision").click()
    assert page.locator("#confirmation").is_visible()
    assert "GP, care-home pharmacist, son (LPA)" in page.locator("#decisions").inner_text()
    assert serious_accessibility_violations(page) == []
    shot(page, "carer-decision-recorded")


def test_moch_pharmacist_works_the_caseload_across_homes(page, live_server, homes):  # noqa: F811
    service.run(homes, TODAY)
    sign_in(page, live_server, "pcn.pharmacist")
    page.get_by_role("link", name="Care-home residents").first.click()
    table = page.locator("#residents").inner_text()
    assert "Oak Lodge Care Home" in table and "Elm House" in table
    assert serious_accessibility_violations(page) == []
    shot(page, "moch-caseload")
    page.goto(f"{live_server}/review/worklist")
    row = page.locator("#worklist tbody tr", has_text="Ada Smith")
    assert "eMAR: 3 doses refused or omitted within 7 days" in row.inner_text()
    row.get_by_role("link", name="Ada Smith").click()
    assert "Amlodipine 5mg tablets" in page.locator("#other-findings").inner_text()
    assert serious_accessibility_violations(page) == []
    shot(page, "moch-review-page")


def test_ics_lead_reads_per_home_figures(page, live_server, homes):  # noqa: F811
    sign_in(page, live_server, "analyst")
    page.get_by_role("link", name="Care homes").first.click()
    table = page.locator("#homes").inner_text()
    assert "Oak Lodge Care Home" in table and "Elm House" in table
    assert ADA not in page.content() and "Ada" not in table
    assert serious_accessibility_violations(page) == []
    shot(page, "ics-homes")


NOON = datetime(2026, 6, 15, 12, tzinfo=UTC)  # the served app's clock in the waste journey


@pytest.fixture
def served_at_noon(sample_ics, homes, app_settings):  # noqa: F811 - the fixture
    """The sample ICS (with the second home) served with its clock at :data:`NOON`: the waste
    form refuses dates after the app's today, so the journey types the same date every day."""
    with serving(sample_ics, app_settings, clock=lambda: NOON) as url:
        yield url


def test_carer_records_a_return_and_the_moch_pharmacist_sees_the_waste(
    page,
    served_at_noon,
    homes,  # noqa: F811 - the fixture
):
    """The home's carer records medicines returned to the pharmacy (an error first: the summary
    links to the field and what was typed is kept; then the confirmation panel); the MOCH / PCN
    pharmacist sees the return and the supply beside it on the waste page across homes; the ICS
    per-home figures carry the waste column."""
    from tests.carehomes.test_waste import _supply

    from ipmo.store import session_scope

    live_server, today = served_at_noon, NOON.date()
    with session_scope(homes) as s:
        at = datetime(today.year, today.month, 1, 10, tzinfo=UTC)
        _supply(s, 7, ADA, "777", "Sertraline 50mg tablets", "28 tablet", at)
    sign_in(page, live_server, "carehome")
    page.get_by_role("link", name="Medicines waste").first.click()
    page.get_by_label("Resident").select_option(ADA)
    page.get_by_label("dm+d code of the medicine").fill("777")
    page.get_by_label("Medicine", exact=True).fill("Sertraline 50mg tablets")
    page.get_by_label("Quantity").fill("a few")
    page.get_by_label("Unit").fill("tablet")
    page.get_by_label("Returned to the pharmacy").check()
    page.locator("#disposed_on-day").fill(str(today.day))
    page.locator("#disposed_on-month").fill(str(today.month))
    page.locator("#disposed_on-year").fill(str(today.year))
    page.get_by_label("Why").fill("Stopped by the GP")
    page.get_by_role("button", name="Record").click()
    summary = page.locator(".nhsuk-error-summary")
    assert summary.is_visible() and summary.get_by_role("link").get_attribute("href") == (
        "#quantity"
    )
    assert page.get_by_label("Why").input_value() == "Stopped by the GP"
    assert serious_accessibility_violations(page) == []
    shot(page, "carer-waste-error")
    page.get_by_label("Quantity").fill("14")
    page.get_by_role("button", name="Record").click()
    assert page.locator("#confirmation").is_visible()
    records = page.locator("#waste-records").inner_text()
    assert "Sertraline 50mg tablets" in records and "Returned" in records
    assert "Not on the GP record" in records  # the sample record has no GP issue of it
    assert serious_accessibility_violations(page) == []
    shot(page, "carer-waste-recorded")

    page.context.clear_cookies()
    sign_in(page, live_server, "pcn.pharmacist")
    page.get_by_role("link", name="Care-home residents").first.click()  # the caseload
    page.get_by_role("link", name="Medicines waste and what to stop ordering").click()
    medicines = page.locator("#waste-by-medicine").inner_text()
    assert "Sertraline 50mg tablets" in medicines and "28 tablet" in medicines
    by_home = page.locator("#waste-by-home").inner_text()
    assert "Oak Lodge Care Home" in by_home and "No price" in by_home  # not £0.00
    assert "Record medicines returned or destroyed" not in page.content()
    assert serious_accessibility_violations(page) == []
    shot(page, "moch-waste")

    page.context.clear_cookies()
    sign_in(page, live_server, "analyst")
    page.goto(f"{live_server}/carehomes/homes")
    assert "Cost of waste last month" in page.locator("#homes").inner_text()
    assert serious_accessibility_violations(page) == []


NOVEMBER = datetime(2026, 11, 16, 12, tzinfo=UTC)  # the served app's clock in the journey below


@pytest.fixture
def served_in_november(sample_ics, app_settings):
    """Ada (Oak Lodge) discharged from hospital on 25 October 2026 with a One Medication Record
    that changed since (sertraline started, naproxen ended) and eMAR doses that call her regular
    sertraline PRN, a second home beside it, served with
    the clock at :data:`NOVEMBER` so the forms' "not in the future" is the same every day."""
    from sqlalchemy import select
    from tests.carehomes.homes import add_elm_house
    from tests.carehomes.test_movements import GP_LIST
    from tests.carehomes.test_prn import EMAR

    from ipmo.carehomes.actions import emar_feed, ingest_rows
    from ipmo.carehomes.administrations import csv_rows
    from ipmo.patients import Admission, Patient
    from ipmo.records.adapters import from_csv
    from ipmo.records.service import ingest
    from ipmo.store import session_scope

    with session_scope(sample_ics) as s:
        add_elm_house(s)
        ingest(s, from_csv(GP_LIST))
        # the eMAR marks her sertraline PRN: the prescription says once a day
        ingest_rows(s, emar_feed("VM001"), "VM001", csv_rows(EMAR), "csv", NOVEMBER)
        ada = s.scalar(select(Patient.id).where(Patient.nhs_number == ADA))
        s.add(Admission(patient_id=ada, trust_code="RXX", admitted_on=date(2026, 10, 20),
                        discharged_on=date(2026, 10, 25), reason="fall"))  # fmt: skip
    with serving(sample_ics, app_settings, clock=lambda: NOVEMBER) as url:
        yield url


def test_carer_records_training_and_sees_a_residents_changes_since_discharge(
    page, served_in_november
):
    """The home's carer adds a member of staff and records their medicines training (an error
    first: the summary links to the field; then the confirmation panel on the register), then
    opens a resident and reads what changed since her hospital discharge, and the home's
    admissions, discharges and deaths."""
    live_server = served_in_november
    sign_in(page, live_server, "carehome")
    page.get_by_role("link", name="Care-home residents").first.click()
    page.get_by_role("link", name="Staff training and competency").click()
    page.get_by_role("link", name="Add a member of staff").click()
    page.get_by_label("Full name").fill("Kim Lee")
    page.get_by_label("Job title").fill("Senior carer")
    page.get_by_role("button", name="Add").click()
    assert "Member of staff added" in page.locator("#confirmation").inner_text()
    page.get_by_role("link", name="Record training or a competency assessment").click()
    page.get_by_label("Member of staff").select_option(label="Kim Lee, Senior carer")
    page.get_by_label("Medicines training").check()
    page.get_by_role("button", name="Record").click()  # no date
    summary = page.locator(".nhsuk-error-summary")
    assert summary.get_by_role("link").get_attribute("href") == "#completed_on-day"
    assert page.get_by_label("Medicines training").is_checked()  # what was chosen is kept
    assert serious_accessibility_violations(page) == []
    shot(page, "carer-training-error")
    page.locator("#completed_on-day").fill("9")
    page.locator("#completed_on-month").fill("11")
    page.locator("#completed_on-year").fill("2026")
    page.get_by_label("Course or assessor (optional)").fill("Safe handling of medicines")
    page.get_by_role("button", name="Record").click()
    assert "Training recorded" in page.locator("#confirmation").inner_text()
    row = page.locator("#staff tbody tr", has_text="Kim Lee").inner_text()
    assert "9 November 2026" in row and "Never assessed" in row
    assert serious_accessibility_violations(page) == []
    shot(page, "carer-training-recorded")

    page.get_by_role("link", name="Residents", exact=True).click()
    page.get_by_role("link", name="Ada Smith").click()
    assert (
        "Changed since the hospital discharge on 25 October 2026"
        in page.locator("#changes-heading").inner_text()
    )
    changes = page.locator("#changes").inner_text()
    assert "Sertraline 50mg tablets" in changes and "Started" in changes
    assert "Naproxen 500mg tablets" in changes and "Stopped" in changes
    assert "Amlodipine" not in changes
    prn = page.locator("#prn tbody tr", has_text="Sertraline 50mg tablets").inner_text()
    assert "Prescription and eMAR disagree" in prn and "Regular" in prn
    assert serious_accessibility_violations(page) == []
    shot(page, "carer-resident-changes")

    page.get_by_role("link", name="All residents").click()
    page.get_by_role("link", name="Admissions, discharges and deaths").click()
    table = page.locator("#movements").inner_text()
    assert "Hospital discharge" in table and "25 October 2026" in table
    assert "Elsie" not in page.content()  # another home's resident
    assert serious_accessibility_violations(page) == []
    shot(page, "carer-movements")
