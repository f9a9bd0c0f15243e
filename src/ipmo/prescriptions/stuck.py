"""Urgent care: urgent prescriptions "stuck" — not downloaded by their pharmacy in time.

An urgent EPS prescription (``MedicationRequest.priority`` urgent / asap / stat, typically issued
by an NHS 111 or urgent-care prescriber) that is still "To be Dispensed" (0001: no pharmacy has
downloaded it) after :data:`DEFAULT_HOURS` hours *during which its pharmacy was open* is listed
for the NHS 111 service to redirect to an open pharmacy. The clock counts only the pharmacy's
opening hours (``organisations.opening_hours``, UK local time): a prescription sent to a closed
pharmacy at night is not stuck until it has been open for that long. A prescription with no
nominated (or chosen) pharmacy, or whose pharmacy has no opening hours on record, is counted on
the wall clock — the cautious choice: it shows sooner. A redirect restarts the clock for the
new pharmacy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.organisations import Organisation
from ipmo.prescriptions.models import Prescription

LONDON = ZoneInfo("Europe/London")
DEFAULT_HOURS = 2.0  # urgent supply expected within the pharmacy's next two open hours
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Hours = dict[str, list[list[str]]]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _intervals(hours: Hours, day: date) -> list[tuple[datetime, datetime]]:
    out = []
    for start, end in hours.get(DAYS[day.weekday()], []):
        a = datetime.combine(day, time.fromisoformat(start), LONDON)
        b = datetime.combine(day, time.fromisoformat(end), LONDON)
        out.append((a.astimezone(UTC), b.astimezone(UTC)))
    return out


def open_hours_between(hours: Hours | None, start: datetime, end: datetime) -> float:
    """Hours between ``start`` and ``end`` (aware datetimes) during which the pharmacy was open;
    the whole span when no opening hours are known."""
    start, end = _aware(start), _aware(end)
    if end <= start:
        return 0.0
    if not hours:
        return (end - start).total_seconds() / 3600
    total = 0.0
    day = start.astimezone(LONDON).date()
    last = end.astimezone(LONDON).date()
    while day <= last:
        for a, b in _intervals(hours, day):
            lo, hi = max(a, start), min(b, end)
            if hi > lo:
                total += (hi - lo).total_seconds() / 3600
        day += timedelta(days=1)
    return total


def open_now(hours: Hours | None, now: datetime) -> bool:
    if not hours:
        return False
    now = _aware(now)
    return any(a <= now < b for a, b in _intervals(hours, now.astimezone(LONDON).date()))


@dataclass(frozen=True)
class Stuck:
    prescription: Prescription
    pharmacy: str | None  # ODS code
    pharmacy_name: str | None
    since: datetime
    open_hours_waited: float
    pharmacy_open_now: bool


def find_stuck(
    session: Session, now: datetime, hours: float = DEFAULT_HOURS, where=None
) -> list[Stuck]:
    """Urgent prescriptions not downloaded after ``hours`` open hours of their pharmacy, longest
    waiting first. ``where``: an extra SQL condition (the caller's access filter)."""
    now = _aware(now)
    query = select(Prescription).where(
        Prescription.urgent.is_(True),
        Prescription.status_code == "0001",
        Prescription.issued_at.is_not(None),
        Prescription.issued_at <= now.replace(tzinfo=None),
    )
    if where is not None:
        query = query.where(where)
    rows = session.scalars(query).all()
    codes = {p.nominated_pharmacy for p in rows if p.nominated_pharmacy}
    orgs = {
        o.ods_code: o
        for o in session.scalars(select(Organisation).where(Organisation.ods_code.in_(codes)))
    }
    out = []
    for p in rows:
        since = _aware(p.redirected_at or p.issued_at or now)
        org = orgs.get(p.nominated_pharmacy or "")
        opening = dict(org.opening_hours or {}) if org else None
        waited = open_hours_between(opening, since, now)
        if waited >= hours:
            out.append(
                Stuck(
                    p,
                    p.nominated_pharmacy,
                    org.name if org else None,
                    since,
                    round(waited, 1),
                    open_now(opening, now),
                )
            )
    return sorted(out, key=lambda s: -s.open_hours_waited)


def stuck_figures(session: Session, now: datetime) -> dict[str, float]:
    """For the service dashboard: how many urgent prescriptions are stuck, and the longest wait
    in open hours (no patient data)."""
    stuck = find_stuck(session, now)
    return {
        "stuck_urgent_prescriptions": float(len(stuck)),
        "longest_wait_open_hours": max((s.open_hours_waited for s in stuck), default=0.0),
        "pharmacies_with_stuck": float(len({s.pharmacy for s in stuck})),
    }
