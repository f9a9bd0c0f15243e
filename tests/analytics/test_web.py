"""Dashboard pages and API: overview, measure page with Vega-Lite chart, league, CSV; access."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from ipmo.analytics.prescribing_csv import ingest_prescribing


@pytest.fixture
def loaded(app_settings, shared_dir):
    """The golden fixture's prescribing loaded into the app's analytics folder."""
    folder = shared_dir / "peers/openprescribing/fixtures/measures_golden"
    ingest_prescribing(
        folder / "derived_prescribing_input.csv", folder / "derived_orgs.csv",
        app_settings.analytics_dir,
    )  # fmt: skip
    return app_settings


def test_overview_lists_measures_sorted_by_opportunity_with_csv(client_as, loaded):
    client = client_as("analyst")
    page = client.get("/analytics?org_type=icb&org_code=E00")
    assert page.status_code == 200
    assert 'id="overview"' in page.text
    data = client.get("/api/analytics/overview?org_type=icb&org_code=E00").json()
    assert data, "golden data has runnable shipped measures"
    savings = [r["opportunity"] or 0 for r in data]
    assert savings == sorted(savings, reverse=True)
    download = client.get("/api/analytics/overview?org_type=icb&org_code=E00&format=csv")
    assert download.headers["content-type"].startswith("text/csv")
    assert next(csv.reader(io.StringIO(download.text)))[:4] == [
        "measure", "org_type", "org_code", "month",
    ]  # fmt: skip


def test_measure_page_embeds_a_vega_lite_deciles_chart_and_league(client_as, loaded):
    client = client_as("analyst")
    measures = client.get("/api/analytics/measures").json()
    assert len(measures) == 80
    page = client.get("/analytics/measures/trimethoprim?org_type=place&org_code=AAA")
    assert page.status_code == 200
    spec_text = re.search(r'id="deciles-spec">(.*?)</script>', page.text, re.S).group(1)
    spec = json.loads(spec_text)
    assert spec["$schema"].endswith("vega-lite/v5.json")
    assert 'id="league"' in page.text
    assert client.get("/analytics/assets/vendor/vega-embed.min.js").status_code == 200


def test_measure_values_api_json_and_csv(client_as, loaded):
    client = client_as("analyst")
    rows = client.get("/api/analytics/measures/trimethoprim/values?org_type=pcn").json()
    assert {r["org_type"] for r in rows} == {"pcn"}
    text = client.get("/api/analytics/measures/trimethoprim/values?org_type=pcn&format=csv").text
    assert len(list(csv.DictReader(io.StringIO(text)))) == len(rows)
    assert client.get("/api/analytics/measures/nope/values").status_code == 404
    assert (
        client.get("/api/analytics/measures/trimethoprim/values?org_type=ward").status_code == 422
    )


def test_roles_without_analytics_are_refused(client_as, loaded):
    assert client_as("community.pharmacist").get("/api/analytics/measures").status_code == 403
    assert client_as(None).get("/api/analytics/measures").status_code == 401


def test_page_without_data_says_how_to_load_it(client_as):
    page = client_as("analyst").get("/analytics")
    assert page.status_code == 200
    assert "ingest-epd" in page.text
