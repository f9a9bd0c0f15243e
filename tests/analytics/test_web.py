"""Dashboard pages and API: overview, measure page with Vega-Lite chart, league, CSV; access.

Every measure with cached results is shown — OpenPrescribing's, ipmo's own (AWaRe, biosimilars,
inhaler carbon) and ICS-defined YAML ones — with its origin, direction and source citation.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pyarrow.compute as pc
import pytest
from tests.analytics import epd_data

from ipmo.analytics.compute.service import cached_results
from ipmo.analytics.ingest.prescribing_csv import ingest_prescribing
from ipmo.analytics.measures.aware import MEASURE_ID as AWARE_ID
from ipmo.analytics.planning.ipmo_measures import shipped_measure_ids

ICS_ID = "ics_broad_spectrum_antibiotics"  # a shipped ICS YAML example (data/ics_measures/)


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
    assert len([m for m in measures if m["origin"] == "openprescribing"]) == 80
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


# ── ipmo's own and ICS-defined measures, on synthetic EPD months (tests/analytics/epd_data.py) ──


@pytest.fixture
def epd_web(epd_folder, app_settings):
    """The synthetic EPD folder (AWaRe, biosimilar, inhaler and ICS measures have values) in the
    app's analytics folder; returns the cached results' values."""
    epd_data.copy_into(epd_folder[0], app_settings.analytics_dir)
    return cached_results(app_settings.analytics_dir).values


def _latest_measures(values, org_type, org_code) -> set[str]:
    mine = values.filter(
        pc.and_(pc.equal(values["org_type"], org_type), pc.equal(values["org_code"], org_code))
    )
    latest = pc.max(values["month"])
    return set(mine.filter(pc.equal(mine["month"], latest))["measure"].to_pylist())


def _origin(measure_id: str) -> str:
    if measure_id in shipped_measure_ids():
        return "openprescribing"
    return "ics" if measure_id.startswith("ics_") else "ipmo"


def test_overview_lists_every_measure_with_results_including_ipmo_and_ics(client_as, epd_web):
    client = client_as("analyst")
    expected = _latest_measures(epd_web, "pcn", "U00001")
    assert {AWARE_ID, ICS_ID, "ipmo_biosimilar_enoxaparin"} <= expected
    rows = client.get("/api/analytics/overview?org_type=pcn&org_code=U00001").json()
    assert {r["measure"] for r in rows} == expected
    by_id = {r["measure"]: r for r in rows}
    assert all(r["origin"] == _origin(m) for m, r in by_id.items())
    assert by_id[AWARE_ID]["name"] == "Antibiotics in the AWaRe Watch and Reserve groups"
    assert by_id[AWARE_ID]["low_is_good"] is True
    assert by_id["ipmo_biosimilar_enoxaparin"]["low_is_good"] is False
    assert "aware.py" in by_id[AWARE_ID]["source"]
    assert f"{ICS_ID}.yaml" in by_id[ICS_ID]["source"]
    page = client.get("/analytics?org_type=pcn&org_code=U00001").text
    for measure in (AWARE_ID, ICS_ID, "aware_antibiotics"):
        assert f'data-measure="{measure}" data-origin="{_origin(measure)}"' in page
        assert f'href="/analytics/measures/{measure}?org_type=pcn' in page


def test_overview_filters_by_origin(client_as, epd_web):
    client = client_as("analyst")
    for origin in ("openprescribing", "ipmo", "ics"):
        url = f"/api/analytics/overview?org_type=pcn&org_code=U00001&origin={origin}"
        rows = client.get(url).json()
        assert rows and {r["origin"] for r in rows} == {origin}
    page = client.get("/analytics?org_type=pcn&org_code=U00001&origin=ics").text
    assert f'data-measure="{ICS_ID}"' in page
    assert f'data-measure="{AWARE_ID}"' not in page
    assert 'data-origin="openprescribing"' not in page
    text = client.get("/api/analytics/overview?org_type=pcn&org_code=U00001&format=csv").text
    csv_rows = {r["measure"]: r for r in csv.DictReader(io.StringIO(text))}
    assert csv_rows[AWARE_ID]["origin"] == "ipmo"
    assert csv_rows[AWARE_ID]["name"].startswith("Antibiotics in the AWaRe")
    assert client.get("/api/analytics/overview?origin=nhs").status_code == 422
    assert client.get("/analytics?origin=nhs").status_code == 422


@pytest.mark.parametrize(
    ("measure", "cited", "direction"),
    [
        (AWARE_ID, "ipmo/analytics/measures/aware.py", "Lower is better"),
        (
            "ipmo_biosimilar_enoxaparin",
            "ipmo/analytics/measures/biosimilars.py",
            "Higher is better",
        ),
        (
            "ipmo_inhalers_co2e_per_inhaler",
            "ipmo/analytics/measures/inhalers.py",
            "Lower is better",
        ),
        (ICS_ID, f"data/ics_measures/{ICS_ID}.yaml", "Lower is better"),
        ("aware_antibiotics", "measure_definitions/aware_antibiotics.json", "Lower is better"),
    ],
)
def test_measure_page_of_every_origin_has_chart_league_source_and_direction(
    client_as, epd_web, measure, cited, direction
):
    page = client_as("analyst").get(f"/analytics/measures/{measure}?org_type=pcn&org_code=U00001")
    assert page.status_code == 200
    spec = json.loads(re.search(r'id="deciles-spec">(.*?)</script>', page.text, re.S).group(1))
    kinds = {p["kind"] for p in spec["data"]["values"]}
    assert {"decile", "median", "organisation"} <= kinds
    league = re.search(r'id="league">.*?<tbody>(.*?)</tbody>', page.text, re.S).group(1)
    assert league.count("<tr") == 2  # the two PCNs
    assert cited in page.text
    assert re.search(rf'id="measure-direction">{direction}<', page.text)


def test_unknown_ipmo_measure_page_and_values_are_404(client_as, epd_web):
    client = client_as("analyst")
    assert client.get("/analytics/measures/ipmo_biosimilar_nope").status_code == 404
    assert client.get("/api/analytics/measures/ics_nope/values").status_code == 404


def test_measures_api_lists_every_measure_with_results_and_its_source(client_as, epd_web):
    client = client_as("analyst")
    measures = {m["id"]: m for m in client.get("/api/analytics/measures").json()}
    with_values = set(pc.unique(epd_web["measure"]).to_pylist())
    assert with_values <= set(measures)
    assert {i for i, m in measures.items() if m["has_values"]} == with_values
    assert {i for i, m in measures.items() if m["origin"] == "openprescribing"} == (
        shipped_measure_ids()
    )
    aware = measures[AWARE_ID]
    assert (aware["origin"], aware["low_is_good"], aware["is_percentage"]) == ("ipmo", True, True)
    assert aware["source"]["file"] == "ipmo/analytics/measures/aware.py"
    assert measures[ICS_ID]["source"]["file"].endswith(f"{ICS_ID}.yaml")
    assert "Quality Premium" in measures[ICS_ID]["source"]["text"]
    links = measures["trimethoprim"]["source"]["links"]
    assert "https://openprescribing.net/measure/trimethoprim/" in [link["url"] for link in links]
    ics = client.get("/api/analytics/measures?origin=ics").json()
    assert ics and {m["origin"] for m in ics} == {"ics"}
    assert client.get("/api/analytics/measures?origin=nhs").status_code == 422


def test_ipmo_measure_values_api_json_and_csv(client_as, epd_web):
    client = client_as("analyst")
    url = f"/api/analytics/measures/{AWARE_ID}/values?org_type=practice"
    rows = client.get(url).json()
    practices = epd_web.filter(
        pc.and_(pc.equal(epd_web["measure"], AWARE_ID), pc.equal(epd_web["org_type"], "practice"))
    )
    assert len(rows) == practices.num_rows > 0
    assert {(r["origin"], r["low_is_good"]) for r in rows} == {("ipmo", True)}
    download = client.get(url + "&format=csv")
    assert f'filename="{AWARE_ID}-practice.csv"' in download.headers["content-disposition"]
    csv_rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(csv_rows) == len(rows)
    assert {r["origin"] for r in csv_rows} == {"ipmo"}


def test_report_cites_ipmo_modules_and_ics_yaml_files(client_as, epd_web):
    html = client_as("analyst").get("/analytics/report/U00001.html?org_type=pcn").text
    assert "Antibiotics in the AWaRe Watch and Reserve groups" in html
    assert "ipmo/analytics/measures/biosimilars.py" in html
    assert f"{ICS_ID}.yaml" in html
    assert "https://openprescribing.net/measure/aware_antibiotics/" in html
