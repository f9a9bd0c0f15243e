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
        assert "58E241-A83008-4E2F8R</a>" in page.text and "Cancelled" in page.text
    detail = client.get("/prescriptions/tracker/58E241-A83008-4E2F8R")
    assert "Item Cancelled" in detail.text and "Prescribing Error" in detail.text
    assert "Prescription tracker" in client.get("/").text  # on the home page (NAV)


def test_tracker_page_bad_search_and_no_relationship(sample_ics, client_as, eps):
    _send(sample_ics, eps.with_nhs_number(eps.load(eps.ORDER_RP), DEV))
    client = client_as("community.pharmacist")
    bad = client.get("/prescriptions/tracker", params={"q": "24F5DA-A83008-7EFE6Y"})
    assert bad.status_code == 200 and "nhsuk-error-message" in bad.text
    refused = client.get("/prescriptions/tracker", params={"q": "24F5DA-A83008-7EFE6Z"})
    assert refused.status_code == 403 and "24F5DA-A83008-7EFE6Z</a>" not in refused.text


def _acute_order(eps, number, pid_items=None):
    order = eps.with_nhs_number(eps.load(eps.ORDER_RP), number)
    for req in eps.resources(order, "MedicationRequest"):
        req["courseOfTherapyType"]["coding"][0]["code"] = "acute"
    return order


def test_tracker_tabs_names_and_nhs_dates(sample_ics, client_as, eps):
    order = _acute_order(eps, ADA)
    _send(sample_ics, order)
    erd = eps.with_nhs_number(
        eps.load(
            "primary-care_repeat-dispensing_nominated-pharmacy_medical-prescriber_author_gmc_"
            "responsible-party_medication-list_din_1-Process-Request-Send-200_OK.json"
        ),
        ADA,
    )
    _send(sample_ics, erd)
    erd_id = eps.resources(erd, "MedicationRequest")[0]["groupIdentifier"]["value"]
    _send(sample_ics, eps.release_for(erd_id, ods="FA001"))
    _send(sample_ics, eps.with_nhs_number(eps.load(eps.CANCEL_SEND), ADA))
    _send(sample_ics, eps.with_nhs_number(eps.load(eps.CANCEL), ADA))
    client = client_as("community.pharmacist")
    page = client.get("/prescriptions/tracker", params={"q": ADA, "as_of": "2022-03-01"})
    assert page.status_code == 200
    text = page.text
    current = text[text.index('id="current"') : text.index('id="future"')]
    future = text[text.index('id="future"') : text.index('id="past"')]
    past = text[text.index('id="past"') :]
    # on 1 March 2022: the repeat-dispensing prescription (19 February to 19 March 2022) is
    # current with its later issues to come; the order dated 21 October 2022 is future; the
    # cancelled one is past
    assert "With Dispenser" in current and "(issue 1 of 5)" in current
    assert "24F5DA-A83008-7EFE6Z" not in current and "24F5DA-A83008-7EFE6Z" in future
    assert "Repeat dispensing: issues 2, 3, 4, 5 of 5 to come" in future
    assert "58E241-A83008-4E2F8R" in past and "Cancelled" in past
    assert "Riverside Pharmacy" in text  # names, not ODS codes
    assert "21 October 2022" in future and "19 February 2022" in current  # NHS dates
    later = client.get("/prescriptions/tracker", params={"q": ADA, "as_of": "2022-10-21"}).text
    assert "24F5DA-A83008-7EFE6Z" in later[later.index('id="current"') : later.index('id="future"')]
    assert "to come" not in later  # the repeat-dispensing prescription has expired: past


def test_tracker_date_range_filters_and_a_reversed_range_is_an_error(sample_ics, client_as, eps):
    _send(sample_ics, _acute_order(eps, ADA))
    client = client_as("community.pharmacist")
    issued = client.get("/api/prescriptions", params={"nhs_number": ADA}).json()
    authored = issued["entry"][1]["resource"]["authoredOn"][:10]
    inside = client.get(
        "/prescriptions/tracker", params={"q": ADA, "from": authored, "to": authored}
    )
    assert "24F5DA-A83008-7EFE6Z</a>" in inside.text
    outside = client.get("/prescriptions/tracker", params={"q": ADA, "from": "2099-01-01"})
    assert "24F5DA-A83008-7EFE6Z</a>" not in outside.text
    reversed_ = client.get(
        "/prescriptions/tracker", params={"q": ADA, "from": "2026-02-01", "to": "2026-01-01"}
    )
    assert "nhsuk-error-summary" in reversed_.text and 'href="#from"' in reversed_.text
    api = client.get(
        "/api/prescriptions",
        params={"nhs_number": ADA, "date_from": "2099-01-01"},
    ).json()
    assert api["total"] == 0


def test_prescription_page_shows_items_and_timeline_in_words(sample_ics, client_as, eps):
    order = _acute_order(eps, ADA)
    _send(sample_ics, order)
    _send(sample_ics, eps.release_for("24F5DA-A83008-7EFE6Z"))
    disp = eps.dispense_for(order, 0, "0001")
    _send(sample_ics, disp)
    page = client_as("community.pharmacist").get("/prescriptions/tracker/24F5DA-A83008-7EFE6Z")
    assert page.status_code == 200
    steps = ["Prescription issued", "Downloaded by the pharmacy", "Partly dispensed"]
    positions = [page.text.index(s) for s in steps]
    assert positions == sorted(positions)
    assert "Item fully dispensed" in page.text and "Riverside Pharmacy" in page.text
    missing = client_as("community.pharmacist").get("/prescriptions/tracker/E3E6FA-A83008-41F09Y")
    assert missing.status_code == 404


def test_a_pharmacy_sees_its_own_prescriptions_not_the_patients_others(sample_ics, client_as, eps):
    # Dev is nominated to FB001; FA001 (community.pharmacist) downloads one prescription of his
    mine = _acute_order(eps, DEV)
    _send(sample_ics, mine)
    other = eps.with_nhs_number(eps.load(eps.CANCEL_SEND), DEV)
    _send(sample_ics, other)
    client = client_as("community.pharmacist")
    assert client.get("/api/prescriptions", params={"nhs_number": DEV}).status_code == 403
    _send(sample_ics, eps.release_for("24F5DA-A83008-7EFE6Z", ods="FA001"))
    body = client.get("/api/prescriptions", params={"nhs_number": DEV}).json()
    ids = [
        e["resource"]["identifier"][0]["value"]
        for e in body["entry"]
        if e["resource"]["resourceType"] == "RequestGroup"
    ]
    assert ids == ["24F5DA-A83008-7EFE6Z"]  # not 58E241-…, which is not FA001's
    by_id = client.get("/api/prescriptions", params={"prescription_id": "58E241-A83008-4E2F8R"})
    assert by_id.status_code == 200 and by_id.json()["total"] == 0
