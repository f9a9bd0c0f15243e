"""The tracker page: search by prescription ID or NHS number, same access and audit as the API."""

from __future__ import annotations

import json

from ipmo.prescriptions import ingest_message
from ipmo.store import session_scope

ADA, DEV = "9990000018", "9990000042"


def _send(engine, message):
    with session_scope(engine) as s:
        ingest_message(s, json.dumps(message))


def test_tracker_page_finds_by_id_and_by_number(sample_ics, client_as, eps):
    _send(sample_ics, eps.with_nhs_number(eps.load(eps.CANCEL_SEND), ADA))
    _send(sample_ics, eps.with_nhs_number(eps.load(eps.CANCEL), ADA))
    client = client_as("community.pharmacist")
    for q in ("58E241-A83008-4E2F8R", "999 000 0018"):
        page = client.get("/prescriptions/tracker", params={"q": q})
        assert page.status_code == 200
        assert "58E241-A83008-4E2F8R" in page.text
        assert "Item Cancelled" in page.text and "Prescribing Error" in page.text
    assert "Prescription tracker" in client.get("/").text  # on the home page (NAV)


def test_tracker_page_bad_search_and_no_relationship(sample_ics, client_as, eps):
    _send(sample_ics, eps.with_nhs_number(eps.load(eps.ORDER_RP), DEV))
    client = client_as("community.pharmacist")
    bad = client.get("/prescriptions/tracker", params={"q": "24F5DA-A83008-7EFE6Y"})
    assert bad.status_code == 200 and "nhsuk-error-message" in bad.text
    refused = client.get("/prescriptions/tracker", params={"q": "24F5DA-A83008-7EFE6Z"})
    assert refused.status_code == 403 and "24F5DA-A83008-7EFE6Z</h2>" not in refused.text
