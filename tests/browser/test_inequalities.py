"""The prescribing inequality view in a real browser: Vega-Lite quintile chart, table, measure
choice, CSV download, no serious accessibility issues, and refusal without analytics access."""

import pytest
from tests.analytics import epd_data
from tests.browser.conftest import serious_accessibility_violations, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def imd_data(app_settings):
    epd_data.build(app_settings.analytics_dir, practices=20)


def test_analyst_sees_quintile_chart_table_and_downloads_csv(page, imd_data, live_server):
    sign_in(page, live_server, "analyst")
    page.goto(f"{live_server}/analytics/inequalities?measure=trimethoprim")
    # vega-embed draws the chart client-side; wait for the rendered SVG/canvas
    page.wait_for_selector("#inequalities-chart svg, #inequalities-chart canvas", timeout=15000)
    assert page.locator("#inequalities tbody tr").count() == len(epd_data.MONTHS)
    assert serious_accessibility_violations(page) == []
    page.get_by_label("Measure").select_option("vitb")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**measure=vitb")
    assert "Vitamin B" in page.locator("h2").first.inner_text()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as CSV").click()
    path = download.value.path()
    with open(path, encoding="utf-8") as handle:
        header = handle.readline().strip().split(",")
    assert header[:3] == ["measure", "month", "quintile"]


def test_care_home_staff_are_refused_the_inequality_view(page, imd_data, live_server):
    sign_in(page, live_server, "carehome")
    response = page.goto(f"{live_server}/analytics/inequalities")
    assert response.status == 403
