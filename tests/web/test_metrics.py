"""``/metrics`` in the Prometheus text format (issue 20): requests by route template and status,
latency histograms, the domains' queue readings — and never a patient identifier."""

from __future__ import annotations

import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

NHS_NUMBER = "9990000018"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _requests(samples, route: str, status: str, method: str = "GET") -> float:
    key = ("ipmo_http_requests_total", (("method", method), ("route", route), ("status", status)))
    return samples.get(key, 0.0)


def test_requests_are_counted_by_route_template_not_by_path(client_as):
    gp = client_as("gp")
    for _ in range(3):
        assert gp.get(f"/api/patients/{NHS_NUMBER}").status_code == 200
    assert gp.get("/api/patients/9990000999").status_code in (403, 404)
    anonymous = client_as(None)
    assert anonymous.get("/no/such/page").status_code == 404

    body = anonymous.get("/metrics")
    assert body.status_code == 200
    assert body.headers["content-type"].startswith("text/plain")
    samples = _samples(body.text)
    assert _requests(samples, "/api/patients/{nhs_number}", "200") == 3
    assert (
        _requests(samples, "/api/patients/{nhs_number}", "403")
        + _requests(samples, "/api/patients/{nhs_number}", "404")
        == 1
    )
    assert _requests(samples, "unmatched", "404") == 1
    count = samples[
        (
            "ipmo_http_request_duration_seconds_count",
            (("method", "GET"), ("route", "/api/patients/{nhs_number}")),
        )
    ]
    assert count == 4


def test_no_patient_identifier_reaches_the_metrics(client_as):
    gp = client_as("gp")
    gp.get(f"/api/patients/{NHS_NUMBER}")
    gp.get("/api/patients/999 000 0018")
    text = client_as(None).get("/metrics").text
    assert NHS_NUMBER not in re.sub(r"[^0-9]", "", text.replace("\n", "|"))


def test_the_store_queues_are_read_at_scrape_time(client_as):
    samples = _samples(client_as(None).get("/metrics").text)
    assert samples[("ipmo_store_up", ())] == 1
    for name in (
        "ipmo_referral_outbox_pending",
        "ipmo_referral_outbox_oldest_pending_seconds",
        "ipmo_referrals_overdue_unswept",
        "ipmo_referral_sweep_lag_seconds",
    ):
        assert (name, ()) in samples, name


def test_a_metrics_token_when_one_is_set(sample_ics, app_settings, monkeypatch: pytest.MonkeyPatch):
    from fastapi.testclient import TestClient

    from ipmo.web.app import create_app

    monkeypatch.setenv("IPMO_METRICS_TOKEN", "scrape-secret")
    with TestClient(create_app(sample_ics, app_settings)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
        assert ok.status_code == 200 and "ipmo_http_requests_total" in ok.text
