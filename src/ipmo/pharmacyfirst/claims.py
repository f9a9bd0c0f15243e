"""Claim readiness: each completed consultation checked for what a claim needs (issue 15 item 6).

The NHS Pharmacy First service specification (PRN00936, section on payment and claims) pays per
completed consultation recorded with the minimum data set; a clinical pathway consultation is
claimed as such only with its pathway and gateway outcome. What ipmo checks, per consultation:

- ``pathway``: a clinical pathway consultation names its pathway (and the version applied);
- ``gateway``: the gateway was assessed (passed, or the criterion not met recorded);
- ``outcome``: an outcome from the one vocabulary, with its reason / referral details;
- ``supply``: every supplied item has its dm+d code, quantity and unit (urgent supply: and days);
- ``consent``: the patient's consent recorded;
- ``update-record``: the Update Record to the GP practice queued (a patient with a practice).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ipmo.pharmacyfirst.figures import month_bounds
from ipmo.pharmacyfirst.models import Consultation

CHECKS = ("pathway", "gateway", "outcome", "supply", "consent", "update-record")


@dataclass(frozen=True)
class ClaimCheck:
    reference: str
    org_code: str
    month: str
    consulted_on: date
    kind: str
    pathway: str | None
    outcome: str | None
    missing: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return not self.missing


def missing_for(c: Consultation) -> tuple[str, ...]:
    """What a claim for ``c`` still lacks (empty: ready to claim)."""
    out = []
    pathway_kind = c.kind == "clinical-pathway"
    if pathway_kind and not (c.pathway and c.pathway_version):
        out.append("pathway")
    if pathway_kind and (
        c.gateway_passed is None or (not c.gateway_passed and not c.gateway_failed)
    ):
        out.append("gateway")
    if (
        not c.outcome
        or (c.outcome == "no-supply" and not c.no_supply_reason)
        or (c.outcome == "referred-on" and not (c.referred_to and c.referral_urgency))
    ):
        out.append("outcome")
    supplied = [i for i in c.items if i.outcome == "supplied"]
    if c.outcome == "supplied" and (
        not supplied
        or any(
            not i.quantity
            or not i.unit
            or (pathway_kind and not i.dmd_code)
            or (not pathway_kind and not i.days)
            for i in supplied
        )
    ):
        out.append("supply")
    if not c.consent and c.no_supply_reason != "patient-declined":
        out.append("consent")
    if c.practice_code and not c.update_record_sent_at:
        out.append("update-record")
    return tuple(out)


def readiness(session: Session, month: str, org_code: str | None) -> list[ClaimCheck]:
    """Completed consultations of ``month`` ("YYYY-MM"), one pharmacy or all, checked."""
    start, end = month_bounds(month)
    q = (
        select(Consultation)
        .options(selectinload(Consultation.items))
        .where(
            Consultation.status == "completed",
            Consultation.consulted_on >= start,
            Consultation.consulted_on < end,
        )
        .order_by(Consultation.org_code, Consultation.consulted_on, Consultation.id)
    )
    if org_code:
        q = q.where(Consultation.org_code == org_code)
    return [
        ClaimCheck(
            c.reference,
            c.org_code,
            month,
            c.consulted_on,
            c.kind,
            c.pathway,
            c.outcome,
            missing_for(c),
        )
        for c in session.scalars(q)
    ]
