"""Care-home pages: staff see their own home's residents and alerts only; the PCN (MOCH)
pharmacist sees the caseload; a best-interests decision recorded through the form (errors in
the NHS.UK error summary, nothing written); the ICS sees per-home figures without names."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from tests.carehomes.homes import ELM, add_elm_house

from ipmo.carehomes.actions import emar_feed, ingest_rows
from ipmo.carehomes.administrations import csv_rows
from ipmo.carehomes.models import BestInterestsDecision
from ipmo.store import session_scope

NOW = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)  # the app's clock: the pages read today from it
TODAY = NOW.date()  # every time below is relative to it
ADA = "9990000018"  # Oak Lodge (VM001), Riverside PCN practice A10001
HEADER = "administration_id,nhs_number,medicine_code,medicine_name,outcome,at,covert\n"


def _at(days_ago: int) -> str:
    return (NOW - timedelta(days=days_ago, hours=3)).isoformat()


@pytest.fixture
def app_clock():
    """The app's clock stopped at :data:`NOW`."""
    return lambda: NOW


@pytest.fixture
def homes(sample_ics):
    with session_scope(sample_ics) as s:
        add_elm_house(s)
    rows = [f"c1,{ADA},777,Sertraline 50mg tablets,given,{_at(2)},Y"] + [
        f"r{d},{ADA},999,Amlodipine 5mg tablets,refused,{_at(d)},N" for d in (3, 4, 5)
    ]
    with session_scope(sample_ics) as s:
        ingest_rows(s, emar_feed("VM001"), "VM001", csv_rows(HEADER + "\n".join(rows)), "csv", NOW)
        elm = [f"e1,{ELM},555,Co-careldopa 25mg/100mg tablets,given,{_at(1)},Y"]
        ingest_rows(s, emar_feed("VM002"), "VM002", csv_rows(HEADER + elm[0]), "csv", NOW)
    return sample_ics


def test_care_home_staff_see_their_own_homes_residents_and_alerts_only(homes, client_as):
    staff = client_as("carehome")
    page = staff.get("/carehomes")
    assert page.status_code == 200
    assert "Ada Smith" in page.text and "Repeated refusals or omissions" in page.text
    assert "Elsie" not in page.text and "Elm House" not in page.text
    assert staff.get(f"/carehomes/residents/{ELM}").status_code == 403
    assert staff.get(f"/carehomes/residents/{ADA}").status_code == 200


def test_moch_pharmacist_sees_the_caseload_across_homes(homes, client_as):
    page = client_as("pcn.pharmacist").get("/carehomes")
    assert "Ada Smith" in page.text and "Elsie Elmwood" in page.text
    assert "Oak Lodge Care Home" in page.text and "Elm House" in page.text


def test_best_interests_form_errors_then_confirmation(homes, client_as):
    staff = client_as("carehome")
    form = staff.get(f"/carehomes/residents/{ADA}")
    assert "Record a best-interests decision" in form.text
    token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    fields = {
        "csrf_token": token,
        "medicine": "777|Sertraline 50mg tablets",
        "decided_on[day]": str(TODAY.day),
        "decided_on[month]": str(TODAY.month),
        "decided_on[year]": str(TODAY.year),
        "review_by[day]": "",
        "review_by[month]": "",
        "review_by[year]": "",
        "participants": "GP, pharmacist, son",
    }
    bad = staff.post(f"/carehomes/residents/{ADA}/best-interests", data=fields)
    assert bad.status_code == 422
    assert "There is a problem" in bad.text and 'href="#review_by-day"' in bad.text
    with session_scope(homes) as s:
        assert s.scalar(select(func.count()).select_from(BestInterestsDecision)) == 0
    later = TODAY + timedelta(days=90)
    fields |= {
        "review_by[day]": str(later.day),
        "review_by[month]": str(later.month),
        "review_by[year]": str(later.year),
    }
    ok = staff.post(f"/carehomes/residents/{ADA}/best-interests", data=fields)
    assert ok.status_code == 200 and "Best-interests decision recorded" in ok.text
    assert "Covert administration without a best-interests decision" not in ok.text


def test_ics_sees_per_home_figures_without_names(homes, client_as):
    page = client_as("analyst").get("/carehomes/homes")
    assert page.status_code == 200
    assert "Oak Lodge Care Home" in page.text and "Elm House" in page.text
    assert "Ada" not in page.text and ADA not in page.text
    assert "7 or fewer" in page.text  # one resident per home: withheld
    assert client_as("carehome").get("/carehomes/homes").status_code == 403
