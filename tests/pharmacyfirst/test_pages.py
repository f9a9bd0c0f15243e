"""Pharmacy First pages: a walk-in taken through the UTI pathway to a PGD supply, with the error
summary linked to the field when the outcome is refused, and claim readiness by month."""

from __future__ import annotations

import re
from datetime import date

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


def test_urgent_supply_page_refuses_a_controlled_drug_then_records_each_item(client_as, sample_ics):
    from ipmo.records.canonical import MedItem, SourceDocument, content_hash
    from ipmo.records.service import ingest
    from ipmo.store import session_scope

    with session_scope(sample_ics) as s:  # Cara's GP list: the medicines she asks for
        names = ["Ramipril 5mg capsules", "Oxycodone 5mg capsules"]
        issued = dict(authored_on=date(2026, 8, 1), last_issued=date(2026, 11, 1))
        items = [MedItem(name=n, status="active", category="repeat", **issued) for n in names]
        doc = SourceDocument("gp", "A10002", "test-gp", items, nhs_number=CARA)
        doc.kind_reason, doc.content_hash = "stated by the test", content_hash(["ramipril"])
        ingest(s, doc)
    client = client_as("community.pharmacist")
    new = {"nhs_number": CARA, "pathway": "urgent-supply", "day-day": "18", "day-month": "11"}
    started = form_post(client, "/pharmacy-first/new", new | {"day-year": "2026"})
    ref = re.search(r"consultation (PF-[0-9A-F]{8})", started.text).group(1)
    item = {"item-0-name": "Oxycodone 5mg capsules", "item-0-quantity": "28", "item-0-days": "7"}
    asked = {"outcome": "supplied", "consent": "yes", "item-0-need": "yes"} | item
    path = f"/pharmacy-first/{ref}/outcome"
    refused = form_post(client, path, asked | {"version": _version(started.text)})
    summary = re.search(r'error-summary__list">(.*?)</ul>', refused.text, re.S).group(1)
    assert refused.status_code == 422 and "Schedule 2 controlled drug" in summary, summary
    both = asked | {
        "item-0-outcome": "no-supply",
        "item-0-reason": "schedule-2-3-controlled-drug",
        "item-1-name": "Ramipril 5mg capsules",
        "item-1-quantity": "28",
        "item-1-days": "28",
        "item-1-need": "yes",
        "version": _version(refused.text),
    }
    done = form_post(client, f"/pharmacy-first/{ref}/outcome", both)
    problem = re.search(r'error-summary__list">(.*?)</ul>', done.text, re.S)
    assert "Consultation completed" in done.text, problem and problem.group(1)
    assert "Schedule 1, 2 or 3 controlled drug" in done.text  # the item's reason, by name


def test_the_claims_page_shows_the_app_clocks_month_by_default(client_as):
    from datetime import datetime

    client = client_as("community.pharmacist")
    client.app.state.clock = lambda: datetime(2026, 3, 15, 12)
    assert "Completed consultations in March 2026" in client.get("/pharmacy-first/claims").text
    client.app.state.clock = lambda: datetime(2026, 11, 30, 23, 59)
    assert "Completed consultations in November 2026" in client.get("/pharmacy-first/claims").text
