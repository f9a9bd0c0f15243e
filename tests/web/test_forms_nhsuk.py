"""Forms the NHS.UK way on every form (issue 14): an error summary whose entries link to their
fields, the same message inline beside the field (nhsuk-form-group--error), plain-English
messages with no internal codes, and what was typed kept after the error. Also the validation
each referral service needs (a known patient, a clinical summary, an outcome consistent with its
reason, the items and consent of an urgent supply, the discharge medicines of a DMS referral)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from ipmo.referrals.models import Referral
from ipmo.store import session_scope
from ipmo.web.forms import FormErrors, sentence

ADA, DEV = "9990000018", "9990000042"
GP_CSV = f"""nhs_number,source_kind,source_org_code,name,status,dose_text,authored_on,category
{ADA},gp,A10001,Amlodipine 5mg tablets,active,1 tablet once a day,2025-01-02,repeat
{ADA},gp,A10001,Warfarin 1mg tablets,active,1 tablet once a day,2025-01-02,repeat
"""
HOSPITAL_CSV = f"""nhs_number,source_kind,source_org_code,name,status,dose_text,authored_on,category
{ADA},hospital,RXX,Amlodipine 5mg tablets,active,1 tablet twice a day,2025-05-02,inpatient
"""
CODES = re.compile(r"confirm_intended|correct_source|needs_gp|YYYY-MM-DD|urgent-repeat-supply")


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _sender(client):
    """Posts to the referral form as ``client``, with the form's CSRF token."""
    token = _token(client.get("/referrals/new").text)

    def send(data: dict, **kw):
        return client.post("/referrals/new", data=data, headers={"X-CSRF-Token": token}, **kw)

    return send


def _summary_links(html: str) -> list[str]:
    body = html.split('class="nhsuk-error-summary"', 1)[1].split("</div>\n</div>", 1)[0]
    return re.findall(r'<a href="#([^"]+)">', body)


def _inline(html: str, field: str) -> bool:
    """The field's own error message, inside a form group marked as in error."""
    group = re.search(
        r'nhsuk-form-group--error">(?:(?!nhsuk-form-group").)*?id="' + re.escape(field) + '-error"',
        html,
        re.S,
    )
    return group is not None


def test_form_errors_link_each_field_once_in_order():
    errors = FormErrors().add("b", "Enter b").add("a", "Enter a").add("b", "again")
    assert errors.summary() == [
        {"text": "Enter b", "href": "#b"},
        {"text": "Enter a", "href": "#a"},
    ]
    assert "a" in errors and errors.get("b") == "Enter b" and errors.get("c") is None
    assert not FormErrors()
    assert sentence("no supply needs a reason.") == "No supply needs a reason"


def test_sign_in_errors_link_to_their_fields_and_keep_the_username(client_as):
    client = client_as(None)
    r = client.post(
        "/sign-in",
        data={"username": "", "password": "", "csrf_token": _token(client.get("/sign-in").text)},
    )
    assert r.status_code == 422
    assert _summary_links(r.text) == ["username", "password"]
    assert _inline(r.text, "username") and _inline(r.text, "password")
    assert "<title>Error: Sign in" in r.text
    r = client.post(
        "/sign-in",
        data={"username": "gp", "password": "wrong", "csrf_token": _token(r.text)},
    )
    assert r.status_code == 401
    assert "Enter a correct username and password" in r.text
    assert 'value="gp"' in r.text  # kept
    assert 'value="wrong"' not in r.text  # a password is never echoed


def test_referral_form_errors_are_linked_inline_and_keep_what_was_typed(client_as):
    send = _sender(client_as("nhs111"))
    r = send({"nhs_number": "", "service": "", "summary": "Ran out of amlodipine"})
    assert r.status_code == 422
    assert _summary_links(r.text) == ["nhs_number", "service"]
    assert _inline(r.text, "nhs_number") and _inline(r.text, "service")
    assert "Ran out of amlodipine</textarea>" in r.text
    r = send({"nhs_number": "123", "service": "urgent-repeat-supply", "summary": "x"})
    assert _summary_links(r.text) == ["nhs_number"]
    assert "NHS number must be 10 digits, for example 999 000 0018" in r.text
    assert '<option value="urgent-repeat-supply" selected>' in r.text


def test_spec_referral_needs_a_clinical_summary(client_as, open_pharmacies):
    send = _sender(client_as("nhs111"))
    data = {
        "nhs_number": ADA,
        "service": "urgent-repeat-supply",
        "summary": "  ",
        "no_relationship_reason": "NHS 111 caller",
    }
    r = send(data)
    assert r.status_code == 422
    assert _summary_links(r.text) == ["summary"]
    data["summary"] = "Ran out of amlodipine 5 mg"
    r = send(data, follow_redirects=False)
    assert r.status_code == 303


def test_spec_referral_needs_a_patient_known_to_the_ics(client_as, open_pharmacies):
    """A valid NHS number that no patient of this ICS has is refused, once the sender has
    stated why it refers (so the answer tells nobody without a reason whether it exists)."""
    send = _sender(client_as("nhs111"))
    data = {
        "nhs_number": "9434765919",  # valid Modulus 11, not in the sample ICS
        "service": "urgent-repeat-supply",
        "summary": "Ran out",
    }
    r = send(data)
    assert _summary_links(r.text) == ["no_relationship_reason"]
    assert "No patient with this NHS number" not in r.text
    r = send({**data, "no_relationship_reason": "NHS 111 caller"})
    assert r.status_code == 422
    assert _summary_links(r.text) == ["nhs_number"]
    assert "No patient with this NHS number is registered in this ICS" in r.text
    with session_scope(open_pharmacies) as s:
        assert s.scalar(select(Referral.id).where(Referral.nhs_number == "9434765919")) is None


def _sent_and_accepted(client_as, sample_ics, service="urgent-repeat-supply") -> tuple:
    send = _sender(client_as("nhs111"))
    r = send(
        {
            "nhs_number": ADA,
            "service": service,
            "summary": "Ran out of amlodipine 5 mg",
            "no_relationship_reason": "NHS 111 caller",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    ref = r.headers["location"].split("/")[-1].split("?")[0]
    pharmacist = client_as("community.pharmacist")
    page = pharmacist.get(f"/referrals/{ref}").text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    r = pharmacist.post(f"/referrals/{ref}/accept", data={"version": version})
    assert r.status_code in (200, 303), r.text
    page = pharmacist.get(f"/referrals/{ref}").text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    return pharmacist, ref, version


def test_spec_outcome_supplied_with_a_no_supply_reason_is_refused(client_as, open_pharmacies):
    pharmacist, ref, version = _sent_and_accepted(client_as, open_pharmacies)
    r = pharmacist.post(
        f"/referrals/{ref}/outcome",
        data={
            "version": version,
            "outcome": "supplied",
            "reason": "out-of-stock",
            "item-1-medicine": "Amlodipine 5mg tablets",
            "item-1-quantity": "28",
            "consent": "yes",
            "note": "Seen at 10:05",
        },
    )
    assert r.status_code == 422
    assert _summary_links(r.text) == ["reason"]
    assert _inline(r.text, "reason")
    assert "Seen at 10:05</textarea>" in r.text and 'value="Amlodipine 5mg tablets"' in r.text
    assert '<option value="out-of-stock" selected>' in r.text
    assert not CODES.search(r.text.split('id="error-summary-title"')[1].split("</ul>")[0])
    with session_scope(open_pharmacies) as s:
        assert s.scalar(select(Referral.status).where(Referral.reference == ref)) == "accepted"


def test_spec_urgent_supply_outcome_needs_items_quantities_and_consent(client_as, open_pharmacies):
    pharmacist, ref, version = _sent_and_accepted(client_as, open_pharmacies)
    base = {"version": version, "outcome": "supplied"}
    r = pharmacist.post(f"/referrals/{ref}/outcome", data=base)
    assert _summary_links(r.text) == ["item-1-medicine"]
    r = pharmacist.post(
        f"/referrals/{ref}/outcome",
        data={**base, "item-1-medicine": "Amlodipine 5mg tablets", "item-1-quantity": "a box"},
    )
    assert _summary_links(r.text) == ["item-1-quantity"]
    assert "as a whole number, for example 28" in r.text
    r = pharmacist.post(
        f"/referrals/{ref}/outcome",
        data={**base, "item-1-medicine": "Amlodipine 5mg tablets", "item-1-quantity": "28"},
    )
    assert _summary_links(r.text) == ["consent"]
    r = pharmacist.post(
        f"/referrals/{ref}/outcome",
        data={
            **base,
            "item-1-medicine": "Amlodipine 5mg tablets",
            "item-1-quantity": "28",
            "consent": "yes",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = pharmacist.get(f"/referrals/{ref}").text
    assert "Amlodipine 5mg tablets: 28" in page and "Patient consent: given" in page


def test_spec_onward_referral_needs_its_urgency_and_advice_needs_words(client_as, open_pharmacies):
    pharmacist, ref, version = _sent_and_accepted(client_as, open_pharmacies)
    r = pharmacist.post(
        f"/referrals/{ref}/outcome",
        data={"version": version, "outcome": "referred-on", "escalate_to": "urgent-care"},
    )
    assert _summary_links(r.text) == ["urgency"]
    r = pharmacist.post(
        f"/referrals/{ref}/outcome", data={"version": version, "outcome": "advice-given"}
    )
    assert _summary_links(r.text) == ["advice"]
    r = pharmacist.post(
        f"/referrals/{ref}/outcome",
        data={"version": version, "outcome": "", "note": "kept"},
    )
    assert _summary_links(r.text) == ["outcome"]
    assert 'id="outcome" name="outcome"' in r.text  # the link lands on the first radio


def test_spec_dms_referral_takes_the_discharge_medicines(client_as, open_pharmacies):
    """The discharge rows become the referral's discharge items, so the pharmacy's comparison
    with the GP list finds the medicines that changed instead of asking of each GP medicine
    "was it stopped?"; a row without its change is refused, linked to that row."""
    send = _sender(client_as("hospital.pharmacist"))
    data = {
        "nhs_number": DEV,
        "service": "discharge-medicines-service",
        "summary": "Discharged after a fall",
        "dm-1-name": "Apixaban 5mg tablets",
        "dm-1-dose": "One tablet twice a day",
        "dm-1-change": "started",
        "dm-2-name": "Ramipril 5mg capsules",
    }
    r = send(data)
    assert r.status_code == 422
    assert _summary_links(r.text) == ["dm-2-change"]
    assert 'value="Ramipril 5mg capsules"' in r.text
    r = send({**data, "dm-2-change": "stopped"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    with session_scope(open_pharmacies) as s:
        ref = s.scalar(select(Referral).where(Referral.nhs_number == DEV))
        assert [(i.name, i.change) for i in ref.discharge_items] == [
            ("Apixaban 5mg tablets", "started"),
            ("Ramipril 5mg capsules", "stopped"),
        ]
    r = send({k: v for k, v in data.items() if not k.startswith("dm-")})
    assert _summary_links(r.text) == ["dm-1-name"]


def test_dms_rows_can_come_from_a_fhir_discharge_bundle():
    from ipmo.referrals.discharge_form import discharge_items_from, rows_from_bundle

    change = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-MedicationStatementChangeSummary"
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "MedicationStatement",
                    "status": "active",
                    "subject": {"reference": "Patient/1"},
                    "medicationCodeableConcept": {
                        "coding": [
                            {
                                "system": "http://snomed.info/sct",
                                "code": "39695211000001102",
                                "display": "Apixaban 5mg tablets",
                            }
                        ]
                    },
                    "dosage": [{"text": "One tablet twice a day"}],
                    "extension": [
                        {"url": change, "extension": [{"url": "status", "valueCode": "added"}]}
                    ],
                }
            },
            {
                "resource": {
                    "resourceType": "MedicationStatement",
                    "status": "active",
                    "subject": {"reference": "Patient/1"},
                    "medicationCodeableConcept": {"text": "Ramipril 5mg capsules"},
                }
            },
        ],
    }
    import json

    data = json.dumps(bundle).encode()
    rows = rows_from_bundle(data)
    assert rows["dm-1-name"] == "Apixaban 5mg tablets" and rows["dm-1-change"] == "started"
    assert rows["dm-1-dmd"] == "39695211000001102"
    assert rows["dm-2-change"] == ""  # the bundle does not say: the pharmacist chooses
    form: dict[str, str] = {}
    with pytest.raises(ValueError, match="Select whether Ramipril") as info:
        discharge_items_from(form, data)
    assert info.value.field == "dm-2-change"
    assert form["dm-1-name"] == "Apixaban 5mg tablets"  # shown again, filled in


def test_record_decision_errors_are_linked_to_that_discrepancy(client_as, sample_ics):
    from ipmo.records.pages import named_detail

    names = {"gp:A10001": ("Riverside Medical Centre", "GP record"), "gp:A10001#2": ("X", "Y")}
    assert named_detail("current in gp:A10001, missing from gp:A10001#2", names) == (
        "current in Riverside Medical Centre (GP record), missing from X (Y)"
    )
    client = client_as("pcn.pharmacist")
    bad = client.post(
        f"/records/patients/{ADA}/sources",
        files={"file": ("bad.csv", b"nhs_number,name\n1,x\n", "text/csv")},
    )
    assert bad.status_code == 422 and _summary_links(bad.text) == ["file"]
    assert _inline(bad.text, "file")
    for name, text in (("gp.csv", GP_CSV), ("hospital.csv", HOSPITAL_CSV)):
        r = client.post(
            f"/records/patients/{ADA}/sources",
            data={"as_of": "2025-06-01"},
            files={"file": (name, text.encode(), "text/csv")},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
    page = client.get(f"/records/patients/{ADA}?as_of=2025-06-01").text
    assert "Riverside Medical Centre (GP record)" in page  # bullet 4: names, not gp:A10001
    assert not re.search(r"<p>[^<]*gp:A10001", page)
    found = re.search(r'name="discrepancy_id" value="([^"]+)"', page)
    assert found is not None
    did = found.group(1)
    etag = re.search(r'name="etag" value="([^"]+)"', page).group(1)
    r = client.post(
        f"/records/patients/{ADA}/decisions",
        data={
            "discrepancy_id": did,
            "etag": etag,
            "action": "",
            "reason": "",
            "as_of": "2025-06-01",
        },
    )
    assert r.status_code == 422
    assert _summary_links(r.text) == [f"a-{did}", f"r-{did}"]
    assert _inline(r.text, f"a-{did}") and _inline(r.text, f"r-{did}")
    assert "action must be one of" not in r.text
    r = client.post(
        f"/records/patients/{ADA}/decisions",
        data={
            "discrepancy_id": did,
            "etag": etag,
            "action": "correct_source",
            "reason": "typo",
            "as_of": "2025-06-01",
        },
    )
    assert _summary_links(r.text) == [f"s-{did}"]
    assert "typo</textarea>" in r.text


def test_review_form_errors_are_linked_and_keep_what_was_typed(client_as):
    client = client_as("pcn.pharmacist")
    r = client.post(
        f"/review/patients/{ADA}",
        data={
            "kind": "stop",
            "medicine": "",
            "detail": "GI bleed risk",
            "shared_decision": "",
            "follow_up_date[day]": "31",
            "follow_up_date[month]": "2",
            "follow_up_date[year]": "2030",
        },
    )
    assert r.status_code == 422
    assert _summary_links(r.text) == ["medicine", "shared_decision", "follow_up_date-day"]
    assert "Follow-up date must be a real date" in r.text
    assert 'value="GI bleed risk"' in r.text and '<option value="stop" selected>' in r.text
    assert _inline(r.text, "medicine") and _inline(r.text, "shared_decision")


def test_plan_form_uses_the_date_input_and_says_what_is_wrong_in_plain_english(client_as):
    lead = client_as("workforce.lead")
    r = lead.post("/plans", data={"title": "Fewer opioids"})
    assert r.status_code == 422
    assert _summary_links(r.text) == ["owner", "start_date-day", "end_date-day"]
    assert 'value="Fewer opioids"' in r.text
    r = lead.post(
        "/plans",
        data={
            "title": "Fewer opioids",
            "owner": "ICS chief pharmacist",
            "start_date[day]": "31",
            "start_date[month]": "2",
            "start_date[year]": "2026",
            "end_date[day]": "1",
            "end_date[month]": "1",
            "end_date[year]": "2026",
        },
    )
    assert _summary_links(r.text) == ["start_date-day"]
    assert "Start date must be a real date" in r.text and "YYYY-MM-DD" not in r.text
    r = lead.post(
        "/plans",
        data={
            "title": "Fewer opioids",
            "owner": "ICS chief pharmacist",
            "start_date[day]": "1",
            "start_date[month]": "4",
            "start_date[year]": "2026",
            "end_date[day]": "31",
            "end_date[month]": "3",
            "end_date[year]": "2026",
        },
    )
    assert _summary_links(r.text) == ["end_date-day"]
    assert "End date must be after the start date" in r.text
    r = lead.post(
        "/plans",
        data={
            "title": "Fewer opioids",
            "owner": "ICS chief pharmacist",
            "start_date[day]": "1",
            "start_date[month]": "4",
            "start_date[year]": "2026",
            "end_date[day]": "31",
            "end_date[month]": "3",
            "end_date[year]": "2027",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
