"""End to end in a real browser: NHS 111 refers a patient for Pharmacy First; the community
pharmacist takes the referral through the uncomplicated UTI pathway, supplies nitrofurantoin under
the PGD and sends the Update Record; the referral is completed with the same outcome."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from tests.browser.conftest import send_111_referral, serious_accessibility_violations, sign_in

pytestmark = pytest.mark.browser
NITROFURANTOIN_MR = "39108511000001108"
SHOTS = Path(os.environ.get("IPMO_SCREENSHOTS", "/tmp/ipmo-screenshots"))


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"pharmacy-first-{name}.png"), full_page=True)


def test_a_111_referral_through_the_uti_pathway_to_a_pgd_supply(page, live_server, sample_ics):
    summary = "Burning when passing urine for 2 days"
    send_111_referral(page, live_server, sample_ics, "999 000 0034", "pharmacy-first", summary)
    reference = page.locator(".nhsuk-caption-l").inner_text().removeprefix("Referral ")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, live_server, "community.pharmacist")
    page.get_by_role("link", name="Referral inbox").click()
    page.get_by_role("link", name=reference).click()
    page.get_by_role("link", name="Start the Pharmacy First consultation").click()
    assert page.get_by_label("Referral reference (leave empty for a walk-in)").input_value() == (
        reference
    )
    page.get_by_label("Uncomplicated urinary tract infection").check()
    page.get_by_label("Day").fill("18")
    page.get_by_label("Month").fill("11")
    page.get_by_label("Year").fill("2026")
    page.get_by_role("button", name="Start consultation").click()
    assert page.locator("#confirmation").inner_text().startswith("Consultation started")
    assert "NHS 111 referral" in page.locator(".nhsuk-summary-list").inner_text()
    assert "version in force from 31 January 2024" in page.locator("#pathway-version").inner_text()

    answered_no = ["pregnant", "urinary_catheter", "recurrent_uti", "vaginal_discharge"]
    for no in [*answered_no, "renal_impairment", "cloudy_urine"]:
        page.check(f"#q-{no}-no")
    for yes in ("dysuria", "new_nocturia"):
        page.check(f"#q-{yes}")
    shot(page, "1-questions")
    page.get_by_role("button", name="Check the gateway").click()
    assert page.locator("#confirmation").inner_text().startswith("Gateway passed")
    assert page.locator("#gateway").get_by_text("Not met").count() == 0
    assert serious_accessibility_violations(page) == []

    # asking for more than the PGD allows: the error summary links to the quantity
    page.get_by_label("Supplied under a PGD").check()
    page.get_by_label("PGD medicine (if supplied)").select_option(NITROFURANTOIN_MR)
    page.get_by_label("Quantity").fill("12")
    page.get_by_label(re.compile("^The patient consents")).check()
    page.get_by_role("button", name="Complete and send the Update Record").click()
    summary = page.locator(".nhsuk-error-summary")
    assert "at most 6" in summary.inner_text()
    shot(page, "2-error-summary")
    summary.get_by_role("link").click()
    assert page.evaluate("document.activeElement.id") == "quantity"

    page.get_by_label("Supplied under a PGD").check()
    page.get_by_label("PGD medicine (if supplied)").select_option(NITROFURANTOIN_MR)
    page.get_by_label("Quantity").fill("6")
    page.get_by_label(re.compile("^The patient consents")).check()
    page.get_by_role("button", name="Complete and send the Update Record").click()
    panel = page.locator("#confirmation").inner_text()
    assert panel.startswith("Consultation completed")
    assert "Update Record has been sent to Bridge Street Surgery" in panel
    assert "Nitrofurantoin 100mg modified-release capsules" in page.locator("#items").inner_text()
    shot(page, "3-completed")

    page.get_by_role("link", name=f"referral {reference}").click()
    assert page.locator("#referral-status").inner_text().startswith("Completed")
    assert page.locator("#referral-outcome").inner_text().startswith("Supplied")

    # … and the ICS analyst sees it counted in the service figures: one referral, one item supplied
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server, "analyst")
    page.goto(f"{live_server}/workforce/services?service=pharmacy-first")
    rows = page.locator("#services tbody tr")
    cells = [
        rows.nth(i).locator("td").all_inner_texts()
        for i in range(rows.count())
        if rows.nth(i).locator("td").first.inner_text().startswith("Pharmacy First")
    ]
    assert len(cells) == 1, cells
    referrals, items_supplied = cells[0][3], cells[0][5]
    assert (referrals, items_supplied) == ("1", "1")
    shot(page, "4-counted-in-the-service-figures")
