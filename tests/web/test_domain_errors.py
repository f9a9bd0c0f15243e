"""A domain's own errors reach the user with the status the one table names (``ipmo.web.errors``):
an NHS number that fails its checks is a 422 naming the problem, as JSON or as a page."""

from __future__ import annotations


def test_an_invalid_nhs_number_is_a_422_as_json_and_as_a_page(client_as):
    client = client_as("pcn.pharmacist")
    r = client.get("/patients/1234567890", headers={"accept": "application/json"})
    assert r.status_code == 422
    assert r.json() == {"detail": "NHS number fails the Modulus 11 check"}
    page = client.get("/patients/12345", headers={"accept": "text/html"})
    assert page.status_code == 422
    assert "Check the NHS number" in page.text and "must be 10 digits" in page.text
