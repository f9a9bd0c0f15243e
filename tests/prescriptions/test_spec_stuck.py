"""The urgent-care "stuck prescription" rule: an urgent prescription still "To be Dispensed"
after N hours of its pharmacy's opening hours is listed for the NHS 111 service, with the action
to redirect it to a pharmacy open now. Fixed clock: Monday 7 December 2026, 3pm (UK time = UTC in
December); Hillside Pharmacy (FB001) opens 9am to 6pm on weekdays only."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from ipmo.prescriptions import ingest_message
from ipmo.prescriptions.models import Prescription
from ipmo.prescriptions.stuck import find_stuck, open_hours_between, stuck_figures
from ipmo.security.models import AuditEvent
from ipmo.store import session_scope

from .conftest import urgent_order

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # Monday
DEV = "9990000042"  # registered at A20001, nominated FB001
WEEKDAYS = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def _send(engine, message):
    with session_scope(engine) as s:
        ingest_message(s, json.dumps(message))


def test_spec_open_hours_count_only_when_the_pharmacy_is_open():
    friday_evening = datetime(2026, 12, 4, 17, 30, tzinfo=UTC)
    monday_morning = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
    # 64 hours on the wall clock, one hour of opening: half an hour on Friday and on Monday
    assert open_hours_between(WEEKDAYS, friday_evening, monday_morning) == pytest.approx(1.0)
    assert open_hours_between(None, friday_evening, monday_morning) == pytest.approx(64.0)
    summer = {"mon": [["09:00", "18:00"]]}  # UK local time: 9am BST is 8am UTC
    start, end = datetime(2026, 6, 1, 7, 0, tzinfo=UTC), datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    assert open_hours_between(summer, start, end) == pytest.approx(1.0)


@pytest.fixture
def urgent(sample_ics, eps):
    cases = {
        "waited 3 open hours": ("2026-12-07T12:00:00+00:00", "FB001", True),
        "waited 1 open hour": ("2026-12-07T14:00:00+00:00", "FB001", True),
        "sent on Sunday night: 6 open hours on Monday": (
            "2026-12-06T20:00:00+00:00",
            "FB001",
            True,
        ),
        "sent Friday 5:30pm: 64 hours, 6.5 open": ("2026-12-04T17:30:00+00:00", "FB001", True),
        "routine, not urgent": ("2026-12-07T09:00:00+00:00", "FB001", False),
    }
    ids = {}
    for n, (label, (issued, pharmacy, is_urgent)) in enumerate(cases.items(), start=1):
        order, pid = urgent_order(n, issued, pharmacy, DEV, urgent=is_urgent)
        _send(sample_ics, order)
        ids[label] = pid
    return ids


def test_spec_urgent_not_downloaded_within_n_open_hours_is_stuck(sample_ics, urgent):
    with session_scope(sample_ics) as s:
        stuck = {x.prescription.prescription_id: x.open_hours_waited for x in find_stuck(s, NOW)}
    assert stuck == {
        urgent["sent Friday 5:30pm: 64 hours, 6.5 open"]: 6.5,
        urgent["sent on Sunday night: 6 open hours on Monday"]: 6.0,
        urgent["waited 3 open hours"]: 3.0,
    }


def test_spec_downloaded_prescription_is_not_stuck(sample_ics, urgent, eps):
    _send(sample_ics, eps.release_for(urgent["waited 3 open hours"], ods="FB001"))
    with session_scope(sample_ics) as s:
        stuck = {x.prescription.prescription_id for x in find_stuck(s, NOW)}
        assert urgent["waited 3 open hours"] not in stuck and len(stuck) == 2
        assert stuck_figures(s, NOW) == {
            "stuck_urgent_prescriptions": 2.0,
            "longest_wait_open_hours": 6.5,
            "pharmacies_with_stuck": 1.0,
        }


def test_111_clinician_lists_and_redirects_a_stuck_prescription(sample_ics, urgent, client_as):
    client = client_as("nhs111")
    client.app.state.clock = lambda: NOW
    page = client.get("/prescriptions/stuck")
    assert page.status_code == 200
    pid = urgent["waited 3 open hours"]
    assert pid in page.text and "Hillside Pharmacy" in page.text and "3.0 open hours" in page.text
    bad = client.post(f"/prescriptions/stuck/{pid}/redirect", data={"pharmacy": "FB001"})
    assert bad.status_code == 422 and "nhsuk-error-summary" in bad.text
    token = bad.text.split('name="csrf_token" value="')[1].split('"')[0]
    done = client.post(
        f"/prescriptions/stuck/{pid}/redirect", data={"pharmacy": "FA001", "csrf_token": token}
    )
    assert done.status_code == 200 and "Prescription redirected" in done.text
    assert "Riverside Pharmacy" in done.text
    with session_scope(sample_ics) as s:
        p = s.scalar(select(Prescription).where(Prescription.prescription_id == pid))
        assert p.nominated_pharmacy == "FA001" and p.events[-1].kind == "redirected"
        actions = s.scalars(select(AuditEvent.action)).all()
        assert "prescriptions.redirect" in actions and "prescriptions.stuck.list" in actions
        assert pid not in {x.prescription.prescription_id for x in find_stuck(s, NOW)}


def test_stuck_list_needs_a_relationship(sample_ics, urgent, client_as):
    # the GP practice of Dev (A20001) sees them; another practice's GP does not
    client = client_as("community.pharmacist")  # FA001: no relationship with Dev
    client.app.state.clock = lambda: NOW
    page = client.get("/prescriptions/stuck")
    assert page.status_code in (200, 403)
    assert urgent["waited 3 open hours"] not in page.text
