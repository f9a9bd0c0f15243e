"""Pharmacy First consultation rows and figures for other domains (offered in ``hooks.py``).

One definition of each count, used by this domain's pages and by whoever asks through
``ipmo.hooks`` (the dashboard's service figures): no patient identifiers leave here.

* a *consultation* is a row of ``pf_consultations`` (clinical pathway or urgent supply);
* *completed*: status ``completed`` (an outcome was recorded);
* *items supplied* / *items not supplied*: rows of ``pf_consultation_items`` by outcome (an
  urgent-supply consultation may have several items, each with its own outcome);
* *no supply*: completed consultations whose outcome is ``no-supply``;
* *referred on*: completed consultations whose outcome is ``referred-on``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Row, and_, case, func, select
from sqlalchemy.orm import Session

from ipmo.pharmacyfirst.models import Consultation, ConsultationItem

ROW_FIELDS = (
    "reference",
    "kind",
    "channel",
    "referral_reference",
    "org_code",
    "practice_code",
    "consulted_on",
    "month",
    "pathway",
    "pathway_version",
    "gateway_passed",
    "status",
    "outcome",
    "no_supply_reason",
    "referred_to",
    "referral_urgency",
    "items_supplied",
    "items_not_supplied",
    "created_at",
    "completed_at",
)


def month_bounds(month: str) -> tuple[date, date]:
    """The first day of ``month`` ("YYYY-MM") and of the month after (ValueError if malformed)."""
    year, mon = (int(p) for p in month.split("-"))
    if not 1 <= mon <= 12 or not 2000 <= year <= 2100:
        raise ValueError(f"month must be YYYY-MM, not {month!r}")
    start = date(year, mon, 1)
    end = date(year + (mon == 12), mon % 12 + 1, 1)
    return start, end


def _item_counts():
    supplied = func.sum(case((ConsultationItem.outcome == "supplied", 1), else_=0))
    not_supplied = func.sum(case((ConsultationItem.outcome == "no-supply", 1), else_=0))
    return (
        select(
            ConsultationItem.consultation_id.label("cid"),
            supplied.label("supplied"),
            not_supplied.label("not_supplied"),
        )
        .group_by(ConsultationItem.consultation_id)
        .subquery()
    )


def consultation_rows(
    session: Session, *, month: str | None = None, org_codes: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """One dict per consultation (fields ``ROW_FIELDS``), optionally for one month
    (``"2026-11"``) and some pharmacies, oldest first."""
    items = _item_counts()
    q = (
        select(Consultation, items.c.supplied, items.c.not_supplied)
        .outerjoin(items, items.c.cid == Consultation.id)
        .order_by(Consultation.consulted_on, Consultation.id)
    )
    if month:
        start, end = month_bounds(month)
        q = q.where(and_(Consultation.consulted_on >= start, Consultation.consulted_on < end))
    if org_codes is not None:
        q = q.where(Consultation.org_code.in_(list(org_codes)))
    return [_row(r) for r in session.execute(q)]


def _row(r: Row) -> dict[str, Any]:
    c: Consultation = r[0]
    return {
        "reference": c.reference,
        "kind": c.kind,
        "channel": c.channel,
        "referral_reference": c.referral_reference,
        "org_code": c.org_code,
        "practice_code": c.practice_code,
        "consulted_on": c.consulted_on,
        "month": c.consulted_on.strftime("%Y-%m"),
        "pathway": c.pathway,
        "pathway_version": c.pathway_version,
        "gateway_passed": c.gateway_passed,
        "status": c.status,
        "outcome": c.outcome,
        "no_supply_reason": c.no_supply_reason,
        "referred_to": c.referred_to,
        "referral_urgency": c.referral_urgency,
        "items_supplied": int(r[1] or 0),
        "items_not_supplied": int(r[2] or 0),
        "created_at": c.created_at,
        "completed_at": c.completed_at,
    }


FIGURE_FIELDS = (
    "consultations",
    "completed",
    "pathway_consultations",
    "urgent_supply_consultations",
    "gateway_passed",
    "items_supplied",
    "items_not_supplied",
    "no_supply",
    "referred_on",
    "advice_only",
)


def consultation_figures(
    session: Session, *, month: str | None = None, org_codes: Iterable[str] | None = None
) -> dict[tuple[str, str], dict[str, int]]:
    """``{(pharmacy ODS code, "YYYY-MM"): {figure: count}}`` with the counts ``FIGURE_FIELDS``
    (definitions in the module doc), summed from :func:`consultation_rows`."""
    out: dict[tuple[str, str], dict[str, int]] = {}
    for row in consultation_rows(session, month=month, org_codes=org_codes):
        fig = out.setdefault((row["org_code"], row["month"]), dict.fromkeys(FIGURE_FIELDS, 0))
        done = row["status"] == "completed"
        fig["consultations"] += 1
        fig["completed"] += done
        fig["pathway_consultations"] += row["kind"] == "clinical-pathway"
        fig["urgent_supply_consultations"] += row["kind"] == "urgent-supply"
        fig["gateway_passed"] += bool(row["gateway_passed"])
        fig["items_supplied"] += row["items_supplied"]
        fig["items_not_supplied"] += row["items_not_supplied"]
        fig["no_supply"] += done and row["outcome"] == "no-supply"
        fig["referred_on"] += done and row["outcome"] == "referred-on"
        fig["advice_only"] += done and row["outcome"] == "advice-given"
    return out
