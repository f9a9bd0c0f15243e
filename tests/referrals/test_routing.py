"""Routing: patient's choice, then nomination, then open pharmacies offering the service, nearest
first (pure functions)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from ipmo.referrals.routing import (
    Pharmacy,
    RoutingBasis,
    RoutingError,
    first_open_at,
    haversine_km,
    is_open_before,
    rank,
)

WEEKDAYS = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
WED_10 = datetime(2026, 11, 18, 10, 0)  # 10:00 GMT
FRI_17 = datetime(2026, 11, 20, 17, 0)


def ph(code, services=("pharmacy-first",), hours=WEEKDAYS, lat=None, lon=None, active=True):
    return Pharmacy(code, code, services, hours, lat, lon, active)


def test_haversine_one_degree_of_latitude_is_about_111_km():
    assert haversine_km(0, 0, 1, 0) == pytest.approx(6371.0088 * math.pi / 180, rel=1e-9)
    assert haversine_km(53.8, -1.55, 53.8, -1.55) == 0


def test_open_before_deadline_needs_thirty_minutes_of_opening():
    # Friday 17:00: open until 18:00, so a 2-hour window is fine …
    assert is_open_before(WEEKDAYS, FRI_17, FRI_17 + timedelta(hours=2))
    # … but 17:45 leaves only 15 minutes before closing: not open enough (DoS 30-minute rule)
    late = FRI_17 + timedelta(minutes=45)
    assert not is_open_before(WEEKDAYS, late, late + timedelta(hours=12))
    # and the weekend is closed until Monday 09:00
    assert is_open_before(WEEKDAYS, late, late + timedelta(days=3))


def test_opening_hours_are_local_time_in_summer():
    # 1 July 2026 08:30 UTC = 09:30 BST: open. 07:30 UTC = 08:30 BST: closed.
    assert is_open_before(WEEKDAYS, datetime(2026, 7, 1, 8, 30), datetime(2026, 7, 1, 9, 0))
    assert not is_open_before(WEEKDAYS, datetime(2026, 7, 1, 7, 30), datetime(2026, 7, 1, 8, 0))


def test_first_open_at_is_next_opening_when_closed():
    evening = datetime(2026, 11, 18, 20, 0)
    assert first_open_at(WEEKDAYS, evening, evening + timedelta(days=1)) == datetime(
        2026, 11, 19, 9, 0
    )
    assert first_open_at(WEEKDAYS, WED_10, WED_10 + timedelta(hours=4)) == WED_10


def test_rank_order_choice_then_nominated_then_nearest():
    origin = (53.80, -1.55)
    far = ph("FAR", lat=54.5, lon=-1.55)
    near = ph("NEAR", lat=53.81, lon=-1.55)
    nominated = ph("NOM", lat=55.0, lon=-1.0)
    chosen = ph("CHO", lat=56.0, lon=-1.0)
    out = rank(
        [far, near, nominated, chosen],
        service="pharmacy-first",
        now=WED_10,
        deadline=WED_10 + timedelta(hours=4),
        origin=origin,
        patient_choice="CHO",
        nominated="NOM",
    )
    assert [(p.ods_code, b) for p, b in out] == [
        ("CHO", RoutingBasis.PATIENT_CHOICE),
        ("NOM", RoutingBasis.NOMINATED),
        ("NEAR", RoutingBasis.NEAREST_OPEN),
        ("FAR", RoutingBasis.NEAREST_OPEN),
    ]


def test_unsuitable_nomination_is_passed_over_and_others_filtered():
    out = rank(
        [
            ph("NOM", services=("dms",)),
            ph("SHUT", hours={}),
            ph("GONE", active=False),
            ph("OK"),
        ],
        service="pharmacy-first",
        now=WED_10,
        deadline=WED_10 + timedelta(hours=4),
        nominated="NOM",
    )
    assert [p.ods_code for p, _ in out] == ["OK"]


@pytest.mark.parametrize(
    "choice, why",
    [
        ("NOPE", "is not a pharmacy in this ICS"),
        ("SHUT", "is not open before"),
        ("DMSONLY", "does not offer"),
    ],
)
def test_an_unsuitable_patient_choice_is_an_error(choice, why):
    with pytest.raises(RoutingError, match=why):
        rank(
            [ph("SHUT", hours={}), ph("DMSONLY", services=("dms",)), ph("OK")],
            service="pharmacy-first",
            now=WED_10,
            deadline=WED_10 + timedelta(hours=4),
            patient_choice=choice,
        )


def test_exclude_skips_pharmacies_already_tried():
    out = rank(
        [ph("A", lat=53.8, lon=-1.5), ph("B", lat=54.0, lon=-1.5)],
        service="pharmacy-first",
        now=WED_10,
        deadline=WED_10 + timedelta(hours=4),
        origin=(53.8, -1.5),
        exclude=["A"],
    )
    assert [p.ods_code for p, _ in out] == ["B"]
