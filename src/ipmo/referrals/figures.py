"""Service activity figures per pharmacy, PCN or place (for the dashboard and service evaluation).

Definitions (one place, so the workforce and analytics views agree):
- ``referrals``: referrals created in the month, counted against the group of the pharmacy (or
  practice) they are with now; ``by_service`` and ``by_source`` (sender kind) split them.
- ``completion_rate``: completed ÷ closed (open referrals cannot be judged yet).
- ``median_minutes_to_accept`` / ``_to_complete``: from creation, over those that got there.
- ``no_supply_rate``: no-supply ÷ (supplied + no-supply), with ``no_supply_reasons`` counted.
- ``escalations``: referrals re-routed or returned at least once, plus those referred on.
Groups: ``pharmacy`` (the receiving organisation), ``place`` (its parent), ``pcn`` (the PCN of the
patient's GP practice; "unregistered" when none).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from statistics import median

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.organisations.models import Organisation
from ipmo.referrals.lifecycle import CLOSED, Outcome, Status
from ipmo.referrals.models import Referral

GROUPINGS = ("pharmacy", "pcn", "place")


def _month_bounds(month: str) -> tuple[datetime, datetime]:
    try:
        start = datetime.strptime(month, "%Y-%m")
    except ValueError:
        raise ValueError(f"month must look like 2026-10, not {month!r}") from None
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


def summarise(rows: list[dict]) -> dict:
    """Figures for one group from plain referral rows (pure)."""
    closed = [r for r in rows if r["status"] in CLOSED]
    completed = [r for r in rows if r["status"] == Status.COMPLETED]
    accept = [
        (r["accepted_at"] - r["created_at"]).total_seconds() / 60 for r in rows if r["accepted_at"]
    ]
    done = [
        (r["completed_at"] - r["created_at"]).total_seconds() / 60
        for r in completed
        if r["completed_at"]
    ]
    supplied = sum(1 for r in completed if r["business_status"] == Outcome.SUPPLIED)
    no_supply = [r for r in completed if r["business_status"] == Outcome.NO_SUPPLY]
    escalations = sum(
        1
        for r in rows
        if (r["escalations"] or 0) > 0 or r["business_status"] == Outcome.REFERRED_ON
    )
    return {
        "referrals": len(rows),
        "by_service": dict(Counter(r["service"] for r in rows)),
        "by_source": dict(Counter(r["sender_kind"] for r in rows)),
        "open": len(rows) - len(closed),
        "completed": len(completed),
        "completion_rate": round(len(completed) / len(closed), 3) if closed else None,
        "median_minutes_to_accept": round(median(accept), 1) if accept else None,
        "median_minutes_to_complete": round(median(done), 1) if done else None,
        "no_supply": len(no_supply),
        "no_supply_rate": round(len(no_supply) / (supplied + len(no_supply)), 3)
        if supplied + len(no_supply)
        else None,
        "no_supply_reasons": dict(Counter(r["outcome_reason"] or "not given" for r in no_supply)),
        "escalations": escalations,
    }


def activity_figures(
    session: Session, by: str = "pharmacy", month: str | None = None
) -> list[dict]:
    """One row per group, largest first. ``month`` is "YYYY-MM" (default: all time)."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}")
    cols = [
        Referral.status,
        Referral.business_status,
        Referral.outcome_reason,
        Referral.service,
        Referral.sender_kind,
        Referral.created_at,
        Referral.accepted_at,
        Referral.completed_at,
        Referral.escalations,
        Referral.target_org_code,
        Referral.practice_code,
    ]
    q = select(*cols)
    if month:
        start, end = _month_bounds(month)
        q = q.where(Referral.created_at >= start, Referral.created_at < end)
    parent = dict(session.execute(select(Organisation.ods_code, Organisation.parent_code)).all())
    names = dict(session.execute(select(Organisation.ods_code, Organisation.name)).all())
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in session.execute(q).mappings():
        r = dict(row)
        if by == "pharmacy":
            key = r["target_org_code"] or "none"
        elif by == "place":
            key = parent.get(r["target_org_code"]) or "unknown"
        else:
            key = parent.get(r["practice_code"]) or "unregistered"
        groups[key].append(r)
    out = [
        {"group": key, "name": names.get(key), **summarise(rows)} for key, rows in groups.items()
    ]
    out.sort(key=lambda g: (-g["referrals"], g["group"]))
    return out
