"""The staff register's forms (NICE SC1 1.18 training and competency; SC1 1.5 medication
incidents with NRLS category and harm): NHS.UK error summary with what was typed kept and nothing
written, the confirmation panel after the redirect, CSRF, the home's own staff only, a resident
of another home refused, every write audited. The app's clock is fixed: no test reads today."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from tests.carehomes.homes import ELM, add_elm_house

from ipmo.carehomes.models import CarehomeStaff, MedicationIncident, StaffTraining
from ipmo.security.models import AuditEvent
from ipmo.store import session_scope

DAY = date(2026, 11, 16)  # the app's today in every test here
ADA = "9990000018"  # Oak Lodge (VM001), the care-home user's home


@pytest.fixture
def carer(sample_ics, client_as):
    with session_scope(sample_ics) as s:
        add_elm_house(s)
    client = client_as("carehome")
    client.app.state.clock = lambda: datetime(2026, 11, 16, 12, 0, tzinfo=UTC).replace(tzinfo=None)
    return client


def _token(page) -> str:
    return page.text.split('name="csrf_token" value="')[1].split('"')[0]


def _post(client, path: str, fields: dict[str, str]):
    token = _token(client.get("/carehomes/staff/new"))  # one token per signed-in session
    return client.post(path, data={"csrf_token": token, **fields})


def _date(name: str, when: date) -> dict[str, str]:
    return {f"{name}[day]": str(when.day), f"{name}[month]": str(when.month),
            f"{name}[year]": str(when.year)}  # fmt: skip


def _count(engine, table) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(table))


def _audited(engine, action: str) -> list[str]:
    with session_scope(engine) as s:
        return list(s.scalars(select(AuditEvent.outcome).where(AuditEvent.action == action)))


def test_carer_adds_a_member_of_staff_through_the_form(carer, sample_ics):
    empty = _post(carer, "/carehomes/staff/new", {"name": "", "job_title": "Senior carer"})
    assert empty.status_code == 422
    assert "There is a problem" in empty.text and 'href="#name"' in empty.text
    assert "Enter the full name" in empty.text
    assert 'value="Senior carer"' in empty.text  # what was typed is kept
    assert _count(sample_ics, CarehomeStaff) == 0
    done = _post(carer, "/carehomes/staff/new", {"name": "Kim Lee", "job_title": "Senior carer"})
    assert done.status_code == 200 and done.url.path == "/carehomes/staff"
    assert "Member of staff added" in done.text and "Kim Lee" in done.text
    assert "Never assessed" in done.text
    assert _audited(sample_ics, "carehomes.staff.write") == ["permitted"]


def test_nice_sc1_training_and_competency_recorded_through_the_form(carer, sample_ics):
    _post(carer, "/carehomes/staff/new", {"name": "Kim Lee", "job_title": "Carer"})
    with session_scope(sample_ics) as s:
        kim = s.scalar(select(CarehomeStaff.id))
    page = carer.get(f"/carehomes/staff/training?staff_id={kim}")
    assert f'<option value="{kim}" selected>Kim Lee, Carer</option>' in page.text
    future = {"staff_id": str(kim), "kind": "competency", "detail": "Assessed by R. Shah"}
    bad = _post(
        carer, "/carehomes/staff/training", future | _date("completed_on", date(2026, 11, 17))
    )
    assert bad.status_code == 422 and 'href="#completed_on-day"' in bad.text
    assert "The date must be today or in the past" in bad.text
    assert 'value="Assessed by R. Shah"' in bad.text and 'value="17"' in bad.text
    no_kind = _post(
        carer, "/carehomes/staff/training", {"staff_id": str(kim)} | _date("completed_on", DAY)
    )
    assert no_kind.status_code == 422 and 'href="#kind"' in no_kind.text
    assert _count(sample_ics, StaffTraining) == 0
    ok = _post(carer, "/carehomes/staff/training", future | _date("completed_on", date(2026, 1, 5)))
    assert "Competency assessment recorded" in ok.text
    # assessed 5 January 2026: due 5 January 2027, more than 30 days after 16 November 2026
    assert "5 January 2026" in ok.text and "In date" in ok.text
    trained = {"staff_id": str(kim), "kind": "training"} | _date("completed_on", DAY)
    assert "Training recorded" in _post(carer, "/carehomes/staff/training", trained).text
    assert _audited(sample_ics, "carehomes.training.write") == ["permitted", "permitted"]


def test_training_for_another_homes_staff_is_refused(carer, sample_ics):
    with session_scope(sample_ics) as s:
        s.add(CarehomeStaff(care_home_code="VM002", name="Elm carer", job_title="Carer"))
        s.flush()
        elm_staff = s.scalar(select(CarehomeStaff.id))
    assert "Elm carer" not in carer.get("/carehomes/staff/training").text
    fields = {"staff_id": str(elm_staff), "kind": "training"} | _date("completed_on", DAY)
    refused = _post(carer, "/carehomes/staff/training", fields)
    assert refused.status_code == 422 and 'href="#staff_id"' in refused.text
    assert _count(sample_ics, StaffTraining) == 0


def test_nrls_medication_incident_recorded_through_the_form(carer, sample_ics):
    page = carer.get("/carehomes/incidents/new")
    assert "Ada Smith" in page.text and "Elsie" not in page.text  # own home's residents only
    typed = {"description": "Evening levodopa missed at handover", "resident": ADA}
    bad = _post(carer, "/carehomes/incidents/new", typed | _date("occurred_on", DAY))
    assert bad.status_code == 422 and 'href="#category"' in bad.text
    assert "Evening levodopa missed at handover" in bad.text
    assert _count(sample_ics, MedicationIncident) == 0
    fields = typed | {"category": "omitted dose", "harm": "low harm"}
    ok = _post(carer, "/carehomes/incidents/new", fields | _date("occurred_on", DAY))
    assert ok.status_code == 200 and "Medication incident recorded" in ok.text
    with session_scope(sample_ics) as s:
        incident = s.scalar(select(MedicationIncident))
        assert (incident.category, incident.harm, incident.occurred_on) == (
            "omitted dose", "low harm", DAY,
        )  # fmt: skip
        assert incident.patient_id is not None
    assert "permitted" in _audited(sample_ics, "carehomes.incident.write")


def test_incident_naming_another_homes_resident_is_refused_and_audited(carer, sample_ics):
    fields = {"category": "wrong dose", "harm": "no harm", "description": "x", "resident": ELM}
    refused = _post(carer, "/carehomes/incidents/new", fields | _date("occurred_on", DAY))
    assert refused.status_code == 403
    assert _count(sample_ics, MedicationIncident) == 0
    assert "refused" in _audited(sample_ics, "carehomes.incident.write")


def test_staff_forms_are_the_homes_own_staffs_only(carer, client_as, sample_ics):
    pharmacist = client_as("pcn.pharmacist")
    for path in ("/carehomes/staff/new", "/carehomes/staff/training", "/carehomes/incidents/new"):
        assert pharmacist.get(path).status_code == 403
    # signed in, the client carries the session's CSRF token (X-CSRF-Token) as the browser does
    added = pharmacist.post("/carehomes/staff/new", data={"name": "X", "job_title": "Carer"})
    assert added.status_code == 403 and _count(sample_ics, CarehomeStaff) == 0


def test_staff_form_without_the_csrf_token_is_refused(carer, sample_ics):
    del carer.headers["X-CSRF-Token"]  # neither the header nor the form's field
    sent = carer.post("/carehomes/staff/new", data={"name": "Kim Lee", "job_title": "Carer"})
    assert sent.status_code == 403 and _count(sample_ics, CarehomeStaff) == 0
