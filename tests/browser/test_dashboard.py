"""The medicines dashboard in a real browser: overview, measure page with its rendered Vega-Lite
deciles chart, ipmo's own and ICS-defined measures beside OpenPrescribing's, and no serious
accessibility issues."""

import pytest
from tests.browser.conftest import serious_accessibility_violations, sign_in

from ipmo.analytics.ingest.prescribing_csv import ingest_prescribing

pytestmark = pytest.mark.browser


@pytest.fixture
def golden(app_settings, shared_dir):
    folder = shared_dir / "peers/openprescribing/fixtures/measures_golden"
    ingest_prescribing(
        folder / "derived_prescribing_input.csv", folder / "derived_orgs.csv",
        app_settings.analytics_dir,
    )  # fmt: skip


def test_analyst_sees_overview_then_a_measure_chart(page, golden, live_server):
    sign_in(page, live_server, "analyst")
    page.goto(f"{live_server}/analytics?org_type=icb&org_code=E00")
    # the golden fixture gives ICB E00 no values: its measures are listed as "no data in this ICS"
    rows = page.locator("#overview tbody tr, #no-data-measures li")
    assert rows.count() > 0
    assert serious_accessibility_violations(page) == []
    page.goto(f"{live_server}/analytics/measures/trimethoprim?org_type=place&org_code=AAA")
    # vega-embed draws the chart client-side; wait for the rendered SVG/canvas
    page.wait_for_selector("#deciles-chart svg, #deciles-chart canvas", timeout=15000)
    assert page.locator("#league tbody tr").count() > 0
    assert serious_accessibility_violations(page) == []


def test_analyst_filters_the_overview_by_origin_and_opens_an_ipmo_measure(
    page, golden, live_server
):
    sign_in(page, live_server, "analyst")
    page.goto(f"{live_server}/analytics?org_type=icb&org_code=E00")
    for origin in ("openprescribing", "ipmo", "ics"):
        assert page.locator(f'[data-measure][data-origin="{origin}"]').count() > 0
    page.select_option("#origin", "ics")
    page.click("form button[type=submit]")
    page.wait_for_url("**origin=ics**")
    rows = page.locator("[data-measure][data-origin]")
    assert rows.count() > 0
    assert rows.count() == page.locator('[data-measure][data-origin="ics"]').count()
    page.select_option("#origin", "ipmo")
    page.click("form button[type=submit]")
    page.click('[data-measure="ipmo_aware_watch_reserve"] a')
    page.wait_for_selector("#deciles-chart svg, #deciles-chart canvas", timeout=15000)
    assert "ipmo/analytics/measures/aware.py" in page.locator("#measure-source").inner_text()
    assert serious_accessibility_violations(page) == []


def test_care_home_staff_without_the_analytics_activity_are_refused(page, golden, live_server):
    sign_in(page, live_server, "carehome")
    response = page.goto(f"{live_server}/analytics")
    assert response.status == 403
