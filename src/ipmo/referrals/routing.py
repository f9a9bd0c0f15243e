"""Which pharmacy gets a referral: pure functions, no database.

Order (issue 5, "Routing"): the patient's choice first, then their nominated pharmacy, then the
pharmacies that offer the service and are open before the deadline, nearest first.

"Open before the deadline" follows the Directory of Services guidance quoted in
../shared/fhir/STANDARDS.md §4.2: leave out pharmacies that are closed or closing within 30 minutes,
so a pharmacy counts only if it is open for at least ``MIN_OPEN`` between now and the deadline.
Opening hours are local (UK) clock times; deadlines are stored in UTC.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
MIN_OPEN = timedelta(minutes=30)  # DoS: not closed now nor closing within 30 minutes
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)


class RoutingBasis(StrEnum):
    PATIENT_CHOICE = "patient-choice"
    NOMINATED = "nominated"
    NEAREST_OPEN = "nearest-open"


class RoutingError(ValueError):
    """The chosen pharmacy cannot take the referral; the message says why."""


@dataclass(frozen=True)
class Pharmacy:
    ods_code: str
    name: str = ""
    services: Sequence[str] = field(default_factory=tuple)
    opening_hours: dict[str, list[list[str]]] = field(default_factory=dict)
    latitude: float | None = None
    longitude: float | None = None
    active: bool = True


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine formula)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def _local(utc_naive: datetime) -> datetime:
    return utc_naive.replace(tzinfo=UTC).astimezone(LONDON)


def _intervals(hours: dict[str, list[list[str]]], start: datetime, end: datetime):
    """Opening intervals (aware, local) of the days touching [start, end]."""
    day = start.date() - timedelta(days=1)  # a session may run past midnight
    while day <= end.date():
        for opens, closes in hours.get(DAYS[day.weekday()], []):
            o = datetime.combine(day, time.fromisoformat(opens), LONDON)
            c = datetime.combine(day, time.fromisoformat(closes), LONDON)
            if c <= o:  # closes after midnight
                c += timedelta(days=1)
            yield o, c
        day += timedelta(days=1)


def open_time_before(
    hours: dict[str, list[list[str]]], now: datetime, deadline: datetime
) -> timedelta:
    """How long the pharmacy is open between ``now`` and ``deadline`` (both naive UTC)."""
    start, end = _local(now), _local(deadline)
    total = timedelta(0)
    for o, c in _intervals(hours, start, end):
        lo, hi = max(o, start), min(c, end)
        if hi > lo:
            total += hi - lo
    return total


def is_open_before(hours: dict[str, list[list[str]]], now: datetime, deadline: datetime) -> bool:
    needed = min(MIN_OPEN, deadline - now)
    return deadline > now and open_time_before(hours, now, deadline) >= needed


def why_unsuitable(
    pharmacy: Pharmacy | None, service: str | None, now: datetime, deadline: datetime
) -> str | None:
    """``None`` if the pharmacy can take the referral, else a reason a person can act on."""
    if pharmacy is None:
        return "is not a pharmacy in this ICS"
    if not pharmacy.active:
        return "is closed permanently"
    if service is not None and service not in pharmacy.services:
        return f"does not offer the {service} service"
    if not is_open_before(pharmacy.opening_hours, now, deadline):
        return "is not open before the referral's deadline"
    return None


def rank(
    pharmacies: Iterable[Pharmacy],
    *,
    service: str | None,
    now: datetime,
    deadline: datetime,
    origin: tuple[float, float] | None = None,
    patient_choice: str | None = None,
    nominated: str | None = None,
    exclude: Iterable[str] = (),
) -> list[tuple[Pharmacy, RoutingBasis]]:
    """Pharmacies able to take the referral, best first, each with the reason it was chosen.

    A patient's explicit choice that cannot take the referral is an error (the sender must tell
    the patient); an unsuitable nominated pharmacy is passed over silently.
    """
    by_code = {p.ods_code: p for p in pharmacies}
    skip = set(exclude)
    out: list[tuple[Pharmacy, RoutingBasis]] = []
    if patient_choice and patient_choice not in skip:
        chosen = by_code.get(patient_choice)
        reason = why_unsuitable(chosen, service, now, deadline)
        if reason:
            raise RoutingError(f"the chosen pharmacy {patient_choice} {reason}")
        out.append((chosen, RoutingBasis.PATIENT_CHOICE))  # type: ignore[arg-type]
        skip.add(patient_choice)
    if nominated and nominated not in skip:
        nom = by_code.get(nominated)
        if why_unsuitable(nom, service, now, deadline) is None:
            out.append((nom, RoutingBasis.NOMINATED))  # type: ignore[arg-type]
        skip.add(nominated)

    def distance(p: Pharmacy) -> float:
        if origin is None or p.latitude is None or p.longitude is None:
            return math.inf
        return haversine_km(origin[0], origin[1], p.latitude, p.longitude)

    rest = [
        p
        for code, p in by_code.items()
        if code not in skip and why_unsuitable(p, service, now, deadline) is None
    ]
    rest.sort(key=lambda p: (distance(p), p.ods_code))
    out.extend((p, RoutingBasis.NEAREST_OPEN) for p in rest)
    return out


def first_open_at(hours: dict[str, list[list[str]]], now: datetime, until: datetime) -> datetime:
    """The first moment (naive UTC) at or after ``now`` when the pharmacy is open; ``now`` if it
    is open now or has no hours recorded. Used so an evening referral's accept clock starts when
    the pharmacy opens, not while it is shut."""
    if not hours:
        return now
    start, end = _local(now), _local(until)
    best: datetime | None = None
    for o, c in _intervals(hours, start, end):
        if c <= start:
            continue
        moment = max(o, start)
        if best is None or moment < best:
            best = moment
    if best is None:
        return now
    return best.astimezone(UTC).replace(tzinfo=None)


def deadlines(
    rule, pharmacy: Pharmacy | None, now: datetime, requested_due_by: datetime | None
) -> tuple[datetime, datetime]:
    due_by = now + rule.complete_within
    if requested_due_by is not None and now < requested_due_by < due_by:
        due_by = requested_due_by
    clock_starts = first_open_at(pharmacy.opening_hours, now, due_by) if pharmacy else now
    return min(clock_starts + rule.accept_within, due_by), due_by
