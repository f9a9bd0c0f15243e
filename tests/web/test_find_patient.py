"""Finding a patient (NHS number, or name + date of birth within the user's relationships, every
shown patient audited) and the patient banner on every patient page (issue 14)."""

import re
from datetime import date

from sqlalchemy import select

from ipmo.security.models import AuditEvent
from ipmo.store import session_scope

HTML = {"accept": "text/html"}


def _search(client, **params):
    return client.get("/patients", params=params, headers=HTML)


def test_name_search_is_partial_and_case_insensitive(client_as):
    r = _search(
        client_as("pcn.pharmacist"),
        family_name="MIT",
        **{"dob[day]": "1", "dob[month]": "3", "dob[year]": "1940"},
    )
    assert r.status_code == 200
    assert "1 patient found" in r.text
    assert 'href="/patients/9990000018">Ada Smith</a>' in r.text
    assert "999 000 0018" in r.text and "1 March 1940" in r.text


def test_given_name_narrows_and_date_of_birth_must_match(client_as):
    c = client_as("pcn.pharmacist")
    dob = {"dob[day]": "1", "dob[month]": "3", "dob[year]": "1940"}
    assert "Ada Smith" not in _search(c, family_name="smith", given_name="zed", **dob).text
    other_day = {"dob[day]": "2", "dob[month]": "3", "dob[year]": "1940"}
    assert "0 patients found" in _search(c, family_name="smith", **other_day).text


def test_search_shows_only_patients_the_user_cares_for(client_as, sample_ics):
    # Dev Patel is registered at A20001 (Hillside PCN): not the PCN pharmacist's (Riverside PCN)
    dob = {"dob[day]": "30", "dob[month]": "1", "dob[year]": "1961"}
    r = _search(client_as("pcn.pharmacist"), family_name="patel", **dob)
    assert "0 patients found" in r.text and "Dev Patel" not in r.text
    # the hospital pharmacist's trust admitted him
    r = _search(client_as("hospital.pharmacist"), family_name="patel", **dob)
    assert "Dev Patel" in r.text
    with session_scope(sample_ics) as s:
        shown = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "patient.search", AuditEvent.patient_nhs_number.is_not(None)
            )
        ).all()
    assert [(e.username, e.patient_nhs_number, e.reason) for e in shown] == [
        ("hospital.pharmacist", "9990000042", "admission")
    ]


def test_search_terms_are_not_written_to_the_audit_detail(client_as, sample_ics):
    dob = {"dob[day]": "1", "dob[month]": "3", "dob[year]": "1940"}
    _search(client_as("pcn.pharmacist"), family_name="smith", **dob)
    with session_scope(sample_ics) as s:
        summary = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "patient.search", AuditEvent.patient_nhs_number.is_(None)
            )
        ).one()
    assert summary.detail == {"by": "name-dob", "shown": 1}


def test_wildcards_in_a_name_are_literal(client_as):
    dob = {"dob[day]": "1", "dob[month]": "3", "dob[year]": "1940"}
    r = _search(client_as("pcn.pharmacist"), family_name="%", **dob)
    assert "0 patients found" in r.text


def test_search_errors_link_to_their_fields_and_keep_what_was_typed(client_as):
    c = client_as("pcn.pharmacist")
    r = _search(c, family_name="smith")
    assert r.status_code == 422
    assert 'href="#dob-day"' in r.text and "Enter the patient&#39;s date of birth" in r.text
    assert 'value="smith"' in r.text
    r = _search(
        c, family_name="smith", **{"dob[day]": "31", "dob[month]": "2", "dob[year]": "1940"}
    )
    assert r.status_code == 422 and "Date of birth must be a real date" in r.text
    r = _search(c, **{"dob[day]": "1", "dob[month]": "3", "dob[year]": "1940"})
    assert r.status_code == 422 and 'href="#family_name"' in r.text
    r = _search(c, nhs_number="123")
    assert r.status_code == 422 and 'href="#nhs_number"' in r.text


def test_nhs_number_search_opens_the_patient(client_as):
    r = client_as("gp").get(
        "/patients", params={"nhs_number": "999 000 0018"}, headers=HTML, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/patients/9990000018"


def test_banner_on_every_patient_page_with_links_between_them(client_as):
    c = client_as("pcn.pharmacist")
    for url in (
        "/patients/9990000018",
        "/records/patients/9990000018",
        "/review/patients/9990000018",
        "/referrals/patients/9990000018",
    ):
        r = c.get(url, headers=HTML)
        assert r.status_code == 200, url
        banner = r.text.split('class="ipmo-patient-banner"', 1)[1].split("</section>", 1)[0]
        for text in (
            "Ada Smith",
            "999 000 0018",
            "1 March 1940",
            "Riverside Medical Centre",
            "Riverside Pharmacy",
            "Oak Lodge Care Home",
            'href="/records/patients/9990000018"',
            'href="/review/patients/9990000018"',
            'href="/referrals/patients/9990000018"',
        ):
            assert text in banner, (url, text)
        assert f'href="{url}" aria-current="page"' in banner or url == "/patients/9990000018"


def test_banner_links_follow_the_role(client_as):
    # care-home staff see the record only: no review or referral links
    r = client_as("carehome").get("/records/patients/9990000018", headers=HTML)
    banner = r.text.split('class="ipmo-patient-banner"', 1)[1].split("</section>", 1)[0]
    assert "/records/patients/9990000018" in banner
    assert "/review/patients/" not in banner and "/referrals/patients/" not in banner


def test_patient_referrals_page_is_relationship_checked(client_as):
    r = client_as("gp").get("/referrals/patients/9990000042", headers=HTML)
    assert r.status_code == 403 and "legitimate relationship" in r.text


def test_banner_age_is_on_the_day_asked(sample_ics):
    from ipmo.lookup import banner

    with session_scope(sample_ics) as s:
        b = banner(s, "9990000018", today=date(2026, 2, 28))
        assert (b["age"], b["nhs_number_display"]) == (85, "999 000 0018")
        assert banner(s, "9990000018", today=date(2026, 3, 1))["age"] == 86


def test_record_index_date_is_typed_in_the_nhs_date_input(client_as):
    c = client_as("pcn.pharmacist")
    url = "/records/patients/9990000018"
    r = c.get(
        url, params={"as_of[day]": "1", "as_of[month]": "6", "as_of[year]": "2025"}, headers=HTML
    )
    assert r.status_code == 200
    for part, value in (("day", "1"), ("month", "6"), ("year", "2025")):
        assert re.search(rf'name="as_of\[{part}\]"[^>]*value="{value}"', r.text), part
    r = c.get(
        url, params={"as_of[day]": "31", "as_of[month]": "2", "as_of[year]": "2025"}, headers=HTML
    )
    assert r.status_code == 422 and "Date must be a real date" in r.text


def test_review_follow_up_date_is_typed_in_the_nhs_date_input(client_as):
    c = client_as("pcn.pharmacist")
    form = {"shared_decision": "Carry on", "decision_with": "patient"}
    bad = {
        "follow_up_date[day]": "30",
        "follow_up_date[month]": "2",
        "follow_up_date[year]": "2031",
    }
    r = c.post("/review/patients/9990000018", data={**form, **bad}, headers=HTML)
    assert r.status_code == 422 and "Follow-up date must be a real date" in r.text
    good = {
        "follow_up_date[day]": "1",
        "follow_up_date[month]": "3",
        "follow_up_date[year]": "2031",
    }
    r = c.post("/review/patients/9990000018", data={**form, **good}, headers=HTML)
    assert r.status_code == 200 and "follow up 1 March 2031" in r.text


def test_too_many_matches_are_cut_and_said(sample_ics):
    """More than MAX_SHOWN visible matches: the first MAX_SHOWN, and it says there are more."""
    from ipmo.lookup.actions import search
    from ipmo.lookup.service import MAX_SHOWN, NameSearch
    from ipmo.patients import Patient
    from ipmo.security.principal import Principal
    from ipmo.security.users import DEMO_PASSWORD, authenticate

    with session_scope(sample_ics) as s:
        for i in range(MAX_SHOWN + 1):
            s.add(
                Patient(
                    nhs_number=f"{9000000000 + i:010d}",
                    given_name=f"Twin{i}",
                    family_name="Smithson",
                    birth_date=date(1940, 3, 1),
                    sex="female",
                    practice_code="A10001",
                )
            )
        s.flush()
        principal: Principal = authenticate(s, "pcn.pharmacist", DEMO_PASSWORD)
        smiths = NameSearch(family_name="smith", birth_date=date(1940, 3, 1))
        result = search(s, principal, smiths)
        assert result.too_many and len(result.patients) == MAX_SHOWN
        hospital = authenticate(s, "hospital.pharmacist", DEMO_PASSWORD)
        none = search(s, hospital, smiths)
        assert (none.patients, none.too_many) == ([], False)


def test_the_banner_and_the_api_give_the_age_on_the_apps_today(client_as):
    """Ada was born on 1 March 1940: 85 the day before her birthday in 2026, 86 on it."""
    from datetime import datetime

    c = client_as("pcn.pharmacist")
    c.app.state.clock = lambda: datetime(2026, 2, 28, 12)
    for url in (
        "/patients/9990000018",
        "/records/patients/9990000018",
        "/review/patients/9990000018",
        "/referrals/patients/9990000018",
    ):
        assert "1 March 1940 (85 years)" in c.get(url, headers=HTML).text, url
    assert c.get("/api/patients/9990000018").json()["age"] == 85
    c.app.state.clock = lambda: datetime(2026, 3, 1, 12)
    assert "1 March 1940 (86 years)" in c.get("/patients/9990000018", headers=HTML).text
    assert c.get("/api/patients/9990000018").json()["age"] == 86
