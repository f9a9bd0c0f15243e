"""Staff training and annual competency (NICE SC1 1.18) and medication incidents (SC1 1.5; NRLS
categories and harm), kept by the home's own staff and summed per home for the ICS."""

from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from ipmo.carehomes.models import MedicationIncident
from ipmo.carehomes.staff import status_on
from ipmo.store import session_scope

TODAY = date(2026, 11, 16)  # the app's clock (the API reads today from it)
DAY = date(2026, 6, 1)


def _at_today(client):
    """The client's app with its clock at noon on :data:`TODAY`."""
    client.app.state.clock = lambda: datetime(TODAY.year, TODAY.month, TODAY.day, 12)
    return client


def test_nice_sc1_annual_competency_in_date_due_soon_overdue_never():
    """SC1 1.18: competence assessed at least annually — due 12 months after the last
    assessment; due soon in its last 30 days (ipmo's); overdue after; never assessed."""
    assert status_on(DAY - timedelta(days=100), DAY) == (DAY + timedelta(days=265), "in date")
    assert status_on(DAY - timedelta(days=340), DAY)[1] == "due soon"
    assert status_on(DAY - timedelta(days=365), DAY)[1] == "due soon"  # due today
    assert status_on(DAY - timedelta(days=366), DAY)[1] == "overdue"
    assert status_on(None, DAY) == (None, "never assessed")


def test_staff_register_training_and_competency_through_the_api(sample_ics, client_as):
    home = _at_today(client_as("carehome"))
    staff_id = home.post("/api/carehomes/staff", json={"name": "Kim Lee", "job_title": "Carer"})
    assert staff_id.status_code == 201
    sid = staff_id.json()["id"]
    old = (TODAY - timedelta(days=400)).isoformat()
    posted = [
        home.post(
            f"/api/carehomes/staff/{sid}/training", json={"kind": kind, "completed_on": old}
        ).status_code
        for kind in ("training", "competency")
    ]
    assert posted == [201, 201]
    [kim] = home.get("/api/carehomes/staff").json()
    assert (kim["name"], kim["status"]) == ("Kim Lee", "overdue")
    recent = {"kind": "competency", "completed_on": (TODAY - timedelta(days=10)).isoformat()}
    home.post(f"/api/carehomes/staff/{sid}/training", json=recent)
    assert home.get("/api/carehomes/staff").json()[0]["status"] == "in date"
    future = {"kind": "competency", "completed_on": (TODAY + timedelta(days=1)).isoformat()}
    assert home.post(f"/api/carehomes/staff/{sid}/training", json=future).status_code == 422
    assert home.post("/api/carehomes/staff/999/training", json=recent).status_code == 422
    # not a care home's staff: refused
    assert client_as("pcn.pharmacist").get("/api/carehomes/staff").status_code == 403
    page = home.get("/carehomes/staff")
    assert page.status_code == 200 and "Kim Lee" in page.text and "In date" in page.text


def test_incidents_recorded_with_category_and_harm_feed_the_ics_view(sample_ics, client_as):
    home = _at_today(client_as("carehome"))
    incident = {
        "occurred_on": (TODAY - timedelta(days=2)).isoformat(),
        "category": "omitted dose",
        "harm": "low harm",
        "description": "Evening levodopa missed at handover",
        "nhs_number": "9990000018",
    }
    assert home.post("/api/carehomes/incidents", json=incident).status_code == 201
    bad = home.post("/api/carehomes/incidents", json=incident | {"harm": "a bit"})
    assert bad.status_code == 422 and "harm" in bad.json()["detail"]
    # a resident of another home (or no home): the same refusal as any unrelated patient
    other = home.post("/api/carehomes/incidents", json=incident | {"nhs_number": "9990000026"})
    assert other.status_code == 403
    with session_scope(sample_ics) as s:
        assert s.scalar(select(func.count()).select_from(MedicationIncident)) == 1
    figures = client_as("analyst").get("/carehomes/homes").text
    assert "Low harm: 7 or fewer" in figures and "No staff register" in figures
