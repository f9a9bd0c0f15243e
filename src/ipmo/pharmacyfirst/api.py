"""Pharmacy First API (``/api/pharmacy-first/…``): the pathways in force on a day, consultations
(start, assess, outcome, the Update Record sent) and claim readiness per pharmacy and month.

Access: ``referral.receive`` (community pharmacy staff) for consultations; claims also for
``referral.oversight`` (ICS-wide). Every read and write is access-checked and audited in
``actions``. Bad input answers 422 with a sentence naming what is wrong, and nothing is written;
a stale ``version`` 409. Starting is idempotent on the ``Idempotency-Key`` header (per pharmacy).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Response

from ipmo.pharmacyfirst import actions
from ipmo.pharmacyfirst import service as svc
from ipmo.pharmacyfirst.gateway import GatewayResult
from ipmo.pharmacyfirst.models import Consultation
from ipmo.pharmacyfirst.pathways import catalogue
from ipmo.pharmacyfirst.schemas import (
    AssessmentIn,
    ClaimRead,
    ConsultationRead,
    NewConsultationIn,
    OutcomeIn,
    PathwayRead,
    UpdateRecordBundle,
)
from ipmo.security import Activity, Principal
from ipmo.web.deps import Caller, caller, require
from ipmo.web.params import Day

router = APIRouter(tags=["pharmacy-first"])
BASE = "/api/pharmacy-first"
RECEIVE = caller(Activity.REFERRAL_RECEIVE)


def _criteria(results) -> list[dict]:
    return [
        {"id": c.id, "text": c.text, "met": c.met, "why": c.why, "source": c.source}
        for c in results
    ]


def consultation_json(c: Consultation, result: GatewayResult | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "reference": c.reference,
        "version": c.version,
        "kind": c.kind,
        "channel": c.channel,
        "referral": c.referral_reference,
        "pharmacy": c.org_code,
        "nhs_number": c.nhs_number,
        "consulted_on": c.consulted_on,
        "pathway": c.pathway,
        "pathway_version": c.pathway_version,
        "status": c.status,
        "answers": c.answers or {},
        "red_flags": c.red_flags or [],
        "findings": c.findings or [],
        "gateway_passed": c.gateway_passed,
        "gateway_failed": c.gateway_failed,
        "gateway_reason": c.gateway_reason,
        "outcome": c.outcome,
        "no_supply_reason": c.no_supply_reason,
        "referred_to": c.referred_to,
        "referral_urgency": c.referral_urgency,
        "consent": c.consent,
        "items": [
            {
                "dmd_code": i.dmd_code,
                "name": i.name,
                "supply_type": i.supply_type,
                "outcome": i.outcome,
                "no_supply_reason": i.no_supply_reason,
                "quantity": i.quantity,
                "unit": i.unit,
                "days": i.days,
            }
            for i in c.items
        ],
        "completed_at": c.completed_at,
        "update_record_sent_at": c.update_record_sent_at,
    }
    if result is not None:
        out["gateway"] = _criteria(result.gateway)
        out["supply_criteria"] = _criteria(result.supply)
        out["treatments"] = [
            {
                "id": t.treatment.id,
                "title": t.treatment.title,
                "allowed": t.allowed,
                "reasons": list(t.reasons),
                "max_quantity": t.treatment.max_quantity,
                "unit": t.treatment.unit,
            }
            for t in result.treatments
        ]
    return out


def pathway_json(code: str, on: date) -> dict[str, Any]:
    p = catalogue().pathway(code, on)
    return {
        "code": p.code,
        "title": p.title,
        "population": p.population,
        "version": p.version,
        "condition": p.condition_display,
        "questions": [{"id": q.id, "text": q.text, "kind": q.kind} for q in p.questions.values()],
        "gateway": [{"id": c.id, "text": c.text, "source": c.source} for c in p.gateway],
        "supply_criteria": [{"id": c.id, "text": c.text, "source": c.source} for c in p.supply],
        "red_flags": [
            {"id": f.id, "text": f.text, "urgency": f.urgency, "source": f.source}
            for f in p.red_flags
        ],
        "treatments": [
            {
                "id": t.id,
                "title": t.title,
                "supply_type": t.supply_type,
                "dose": t.dose,
                "max_quantity": t.max_quantity,
                "unit": t.unit,
                "days": t.days,
                "products": len(t.products),
                "source": t.source,
            }
            for t in p.treatments
        ],
    }


@router.get(f"{BASE}/pathways", response_model=list[PathwayRead])
def pathways(
    on: Annotated[Day, Query(description="the consultation date: pathways in force that day")],
    principal: Principal = Depends(require(Activity.REFERRAL_RECEIVE)),
) -> list[dict[str, Any]]:
    """The clinical pathways in force on ``on`` (gateway criteria, red flags, PGD treatments)."""
    version = catalogue().in_force(on)
    if version is None:
        raise HTTPException(422, f"no Pharmacy First pathway was in force on {on.isoformat()}")
    return [pathway_json(code, on) for code in sorted(version.pathways)]


@router.post(f"{BASE}/consultations", status_code=201, response_model=ConsultationRead)
def start(
    body: NewConsultationIn,
    response: Response,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=100),
    c: Caller = RECEIVE,
) -> dict[str, Any]:
    """Start a consultation: from a referral to your pharmacy (``referral``), or a walk-in. With
    an ``Idempotency-Key`` header, a resend (even one racing the first) answers the consultation
    first started (200, ``X-Idempotent-Replay: true``)."""
    new = svc.NewConsultation(
        kind=body.kind,
        channel=body.channel,
        consulted_on=body.consulted_on,
        pathway=body.pathway,
        referral_reference=body.referral,
    )
    done = actions.start_or_replay(
        c.session,
        c.principal,
        body.nhs_number,
        new,
        patient_present=body.patient_present,
        idempotency_key=idempotency_key,
    )
    if done.replay:
        response.status_code = 200
        response.headers["X-Idempotent-Replay"] = "true"
    return consultation_json(done.consultation)


@router.get(f"{BASE}/consultations/{{reference}}", response_model=ConsultationRead)
def read(reference: str, c: Caller = RECEIVE) -> dict[str, Any]:
    """A consultation of your pharmacy with its gateway judged now (audited read)."""
    consultation, _patient, result, _meds = actions.read_with_check(
        c.session, c.principal, reference
    )
    return consultation_json(consultation, result)


@router.post(f"{BASE}/consultations/{{reference}}/assessment", response_model=ConsultationRead)
def assess(reference: str, body: AssessmentIn, c: Caller = RECEIVE) -> dict[str, Any]:
    """Record the answers and red flags; the gateway is judged by the pathway version in force
    on the consultation date."""
    consultation, result = actions.assess(
        c.session, c.principal, reference, body.answers, body.red_flags, body.version
    )
    return consultation_json(consultation, result)


@router.post(f"{BASE}/consultations/{{reference}}/outcome", response_model=ConsultationRead)
def outcome(reference: str, body: OutcomeIn, c: Caller = RECEIVE) -> dict[str, Any]:
    """Complete the consultation: the supply goes on the One Medication Record and the Update
    Record to the GP practice; a referral is completed with the same outcome."""
    items = [svc.ItemInput(**i.model_dump()) for i in body.items]
    o = svc.OutcomeInput(**body.model_dump(exclude={"version", "items"}), items=items)
    return consultation_json(actions.complete(c.session, c.principal, reference, o, body.version))


@router.get(f"{BASE}/consultations/{{reference}}/update-record", response_model=UpdateRecordBundle)
def update_record(reference: str, c: Caller = RECEIVE) -> dict[str, Any]:
    """The GP Connect Update Record (ITK3 message Bundle, FHIR STU3) the consultation sent."""
    return actions.update_record(c.session, c.principal, reference)


@router.get(f"{BASE}/claims", response_model=list[ClaimRead])
def claims(
    month: str = Query(pattern=r"^20\d\d-(0[1-9]|1[0-2])$", description="YYYY-MM"),
    pharmacy: str | None = Query(None, max_length=12),
    c: Caller = caller(),  # receive or oversight: checked in actions
) -> list[dict[str, Any]]:
    """Completed consultations of a month checked for what a claim needs (no patient data)."""
    return [
        {
            "reference": row.reference,
            "pharmacy": row.org_code,
            "month": row.month,
            "consulted_on": row.consulted_on,
            "kind": row.kind,
            "pathway": row.pathway,
            "outcome": row.outcome,
            "ready": row.ready,
            "missing": list(row.missing),
        }
        for row in actions.claim_readiness(c.session, c.principal, month, pharmacy)
    ]
