"""Find a patient by name and date of birth, then move between their record, review and
referrals under the patient banner (issue 14), in Chromium with axe; screenshots for a reviewer
go to IPMO_SCREENSHOTS (if set)."""

import os
from pathlib import Path

import pytest
from tests.browser.conftest import serious_accessibility_violations, sign_in

pytestmark = pytest.mark.browser


def _shot(page, name: str) -> None:
    folder = os.environ.get("IPMO_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_pharmacist_finds_a_patient_by_name_and_moves_between_their_pages(page, live_server):
    sign_in(page, live_server, "pcn.pharmacist")
    page.get_by_role("link", name="Find a patient").first.click()
    page.get_by_label("Last name").fill("smi")
    page.get_by_role("button", name="Search").click()
    assert page.get_by_text("There is a problem").is_visible()
    assert page.get_by_label("Last name").input_value() == "smi"  # kept after the error
    _shot(page, "find-error")
    page.get_by_label("Day").fill("1")
    page.get_by_label("Month").fill("3")
    page.get_by_label("Year").fill("1940")
    page.get_by_role("button", name="Search").click()
    assert page.get_by_role("heading", name="1 patient found").is_visible()
    assert serious_accessibility_violations(page) == []
    _shot(page, "find-results")
    page.get_by_role("link", name="Ada Smith").click()
    banner = page.locator(".ipmo-patient-banner")
    assert banner.get_by_text("999 000 0018").is_visible()
    assert banner.get_by_text("Oak Lodge Care Home").is_visible()
    _shot(page, "patient-summary")
    for link, heading in (
        ("Medication record", "Medication record"),
        ("Medication review", "Medication review"),
        ("Referrals", "Referrals"),
    ):
        banner.get_by_role("link", name=link).click()
        assert page.get_by_role("heading", level=1).inner_text() == heading
        assert banner.get_by_text("Ada Smith").is_visible()
        assert serious_accessibility_violations(page) == []
        _shot(page, "patient-" + link.lower().replace(" ", "-"))
