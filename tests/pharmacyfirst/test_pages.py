"""Pharmacy First pages: a walk-in taken through the UTI pathway to a PGD supply, with the error
summary linked to the field when the outcome is refused, and claim readiness by month."""

from __future__ import annotations

import re

from .conftest import CARA, NITROFURANTOIN_MR

UTI = {
    "q-pregnant": "no",
    "q-urinary_catheter": "no",
    "q-recurrent_uti": "no",
    "q-dysuria": "yes",
    "q-new_nocturia": "yes",
    "q-cloudy_urine": "no",
    "q-vaginal_discharge": "no",
    "q-renal_impairment": "no",
}
SUPPLY = {"outcome": "supplied", "dmd_code": NITROFURANTOIN_MR, "consent": "yes"}


def form_post(client, path: str, data: dict):
    return client.post(path, data=data)


def _version(html: str) -> str:
    return re.search(r'name="version" value="(\d+)"', html).group(1)


def test_walk_in_uti_through_the_pages(client_as):
    client = client_as("community.pharmacist")
    assert "Start a consultation" in client.get("/pharmacy-first").text
    new = {
        "nhs_number": CARA,
        "pathway": "uti",
        "day-day": "18",
        "day-month": "11",
        "day-year": "2026",
    }
    started = form_post(client, "/pharmacy-first/new", new)
    assert started.status_code == 200 and "Consultation started" in started.text
    ref = re.search(r"consultation (PF-[0-9A-F]{8})", started.text).group(1)
    assert "18 November 2026" in started.text
    page = form_post(
        client, f"/pharmacy-first/{ref}/assess", UTI | {"version": _version(started.text)}
    )
    assert "Gateway passed" in page.text
    # a supply without a quantity: the error summary links to the quantity field
    refused = form_post(
        client,
        f"/pharmacy-first/{ref}/outcome",
        SUPPLY | {"version": _version(page.text)},
    )
    assert refused.status_code == 422
    assert 'href="#quantity"' in refused.text and 'id="quantity-error"' in refused.text
    done = form_post(
        client,
        f"/pharmacy-first/{ref}/outcome",
        SUPPLY | {"quantity": "6", "version": _version(refused.text)},
    )
    assert "Consultation completed" in done.text
    assert "Update Record has been sent to Bridge Street Surgery" in done.text
    claims = client.get("/pharmacy-first/claims", params={"month": "2026-11"}).text
    assert "1 of 1 ready to claim" in claims and ref in claims


def test_a_failed_gateway_page_says_which_criterion(client_as):
    client = client_as("community.pharmacist")
    new = {
        "nhs_number": CARA,
        "pathway": "shingles",
        "day-day": "18",
        "day-month": "11",
        "day-year": "2026",
    }
    started = form_post(client, "/pharmacy-first/new", new)
    ref = re.search(r"consultation (PF-[0-9A-F]{8})", started.text).group(1)
    page = form_post(
        client,
        f"/pharmacy-first/{ref}/assess",
        {"q-pregnant": "yes", "version": _version(started.text)},
    )
    assert "Gateway not passed" in page.text and "Not pregnant" in page.text
