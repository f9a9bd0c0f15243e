"""The organisations a referral names, read from the store for routing: cached look-ups by ODS
code (one SELECT per code per unit of work) and the pharmacies as :class:`routing.Pharmacy`
values, with the fast path for a patient's choice or nominated pharmacy."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.organisations.models import Organisation, OrgKind
from ipmo.referrals.routing import Pharmacy, RoutingBasis, why_unsuitable


def organisation(session: Session, code: str | None) -> Organisation | None:
    """The organisation with this ODS code. One SELECT per code per session: the row is kept in
    ``session.info`` (a message names the same pharmacy to check it and to route to it)."""
    if not code:
        return None
    known = session.info.setdefault("referrals.orgs", {})
    org = known.get(code)
    if org is None or org not in session:
        org = session.scalar(select(Organisation).where(Organisation.ods_code == code))
        if org is not None:
            known[code] = org
    return org


def load_organisations(session: Session, *codes: str | None) -> None:
    """Fetch several organisations in one SELECT, for :func:`organisation` to find later."""
    known = session.info.setdefault("referrals.orgs", {})
    wanted = sorted({c for c in codes if c and c not in known})
    if wanted:
        for org in session.scalars(select(Organisation).where(Organisation.ods_code.in_(wanted))):
            known[org.ods_code] = org


def _as_pharmacy(o: Organisation) -> Pharmacy:
    """The routing view of a pharmacy's row."""
    return Pharmacy(
        o.ods_code,
        o.name,
        tuple(o.services or ()),
        dict(o.opening_hours or {}),
        o.latitude,
        o.longitude,
        bool(o.active),
    )


def pharmacies(session: Session) -> list[Pharmacy]:
    rows = session.scalars(select(Organisation).where(Organisation.kind == OrgKind.PHARMACY))
    return [_as_pharmacy(o) for o in rows]


def pharmacy(session: Session, code: str) -> Pharmacy | None:
    o = organisation(session, code)
    if o is None or o.kind != OrgKind.PHARMACY:
        return None
    return _as_pharmacy(o)


def first_choice(
    session: Session,
    service: str,
    now: datetime,
    deadline: datetime,
    choice: str | None,
    nominated: str | None,
) -> list[tuple[Pharmacy, RoutingBasis]]:
    """Fast path with the same answer as :func:`rank`'s first entry: a usable patient choice or
    nomination needs only that one pharmacy, not every pharmacy in the ICS. Empty when the
    full ranking is needed (it also raises the error for an unusable choice)."""
    if choice:
        p = pharmacy(session, choice)
        ok = why_unsuitable(p, service, now, deadline) is None
        return [(p, RoutingBasis.PATIENT_CHOICE)] if ok else []  # type: ignore[list-item]
    if nominated:
        p = pharmacy(session, nominated)
        if why_unsuitable(p, service, now, deadline) is None:
            return [(p, RoutingBasis.NOMINATED)]  # type: ignore[list-item]
    return []


def origin(session: Session, *codes: str | None) -> tuple[float, float] | None:
    """Where "nearest" is measured from: the patient's practice, else the sender."""
    for code in codes:
        org = organisation(session, code)
        if org is not None and org.latitude is not None and org.longitude is not None:
            return (org.latitude, org.longitude)
    return None
