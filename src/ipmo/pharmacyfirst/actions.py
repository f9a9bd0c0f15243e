"""Pharmacy First use cases: the ONE place in this domain that checks access and writes audit.

Every use case is ``(session, principal, …)`` inside the caller's unit of work (``api.py`` and
``pages.py`` are thin adapters). Access to the patient goes through the one access policy
(:mod:`ipmo.security.policy`): a referral to this pharmacy, nomination, or a consultation here
(this domain's ``PATIENT_RELATIONSHIPS``). A walk-in patient with none of those may be seen when
the pharmacist states the patient is present (audited with that reason). Every read and write of
a consultation is audited; refusals are audited too. Starts are idempotent per pharmacy on the
Idempotency-Key; a completion repeated with the same outcome answers the stored one; any other
change carries the version the client saw (409 when it is stale).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

import ipmo.records as records
import ipmo.referrals as referrals
from ipmo.organisations.models import Organisation, OrgKind
from ipmo.patients import Patient, normalise_nhs_number
from ipmo.pharmacyfirst import claims
from ipmo.pharmacyfirst import service as svc
from ipmo.pharmacyfirst.gateway import GatewayResult
from ipmo.pharmacyfirst.models import Consultation, UpdateRecordMessage
from ipmo.pharmacyfirst.pathways import catalogue
from ipmo.pharmacyfirst.update_record import consultation_message
from ipmo.security.access import audit_event, check_patient_access
from ipmo.security.audit import flush as audit_flush
from ipmo.security.errors import Forbidden
from ipmo.security.policy import relationship_for
from ipmo.security.principal import Principal
from ipmo.security.roles import Activity
from ipmo.store import utcnow

WALK_IN_REASON = "walk-in: patient present (stated by the pharmacist)"  # ≤ 60
SENDER_MAILBOX = "IPMO-PHARMACY-FIRST"
REFERRAL_SERVICES = {"pharmacy-first": "clinical-pathway", "urgent-repeat-supply": "urgent-supply"}
CHANNEL_OF_SENDER = {"nhs111": "nhs111", "practice": "gp", "pcn": "gp"}


def _require(principal: Principal, *activities: Activity) -> None:
    if not any(principal.can(a) for a in activities):
        raise Forbidden("your role does not record Pharmacy First consultations")


def _pharmacy(session: Session, principal: Principal) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.ods_code == principal.org_code))
    if org is None or org.kind != OrgKind.PHARMACY:
        raise Forbidden("only a community pharmacy records Pharmacy First consultations")
    return org


def _consultation(
    session: Session, principal: Principal, reference: str, action: str
) -> tuple[Consultation, Patient]:
    """A consultation of the principal's pharmacy and its patient, the access audited."""
    c = svc.find(session, principal.org_code, reference)  # another pharmacy's: 404
    if c.patient_id is None:
        raise svc.ConsultationNotFound(f"consultation {reference} has no patient in this ICS")
    patient = check_patient_access(session, principal, c.nhs_number, action)
    audit_event(session, principal, action, patient, {"consultation": c.reference})
    return c, patient


def _check_version(c: Consultation, version: int | None) -> None:
    if version is not None and version != c.version:
        raise svc.ConsultationConflict(
            f"consultation {c.reference} changed since you opened it (version {version}, now "
            f"{c.version}): reload it"
        )


def _changed_meanwhile(reference: str) -> svc.ConsultationConflict:
    """Another user saved the consultation between this one's read and write (the UPDATE's
    ``WHERE version = …`` matched nothing)."""
    return svc.ConsultationConflict(
        f"consultation {reference} was changed by someone else meanwhile: reload it"
    )


# ---- starting --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Started:
    consultation: Consultation
    replay: bool  # True: the Idempotency-Key had already started it (answer 200, not 201)


def start(
    session: Session, principal: Principal, nhs_number: str, new: svc.NewConsultation, **kw: Any
) -> Consultation:
    """Start a consultation: from a referral to this pharmacy (channel from its sender), or a
    walk-in. Repeating the same Idempotency-Key answers the consultation it started. Keywords
    as :func:`start_or_replay` (``patient_present``, ``idempotency_key``)."""
    return start_or_replay(session, principal, nhs_number, new, **kw).consultation


def _replay(
    session: Session, principal: Principal, done: Consultation, nhs_number: str, pathway: str | None
) -> Started:
    if done.nhs_number != normalise_nhs_number(nhs_number) or done.pathway != pathway:
        raise svc.ConsultationConflict(
            "this Idempotency-Key started a different consultation; use a new key"
        )
    audit_event(session, principal, "pharmacyfirst.start", None, {"replay": done.reference})
    return Started(done, replay=True)


def start_or_replay(
    session: Session,
    principal: Principal,
    nhs_number: str,
    new: svc.NewConsultation,
    *,
    patient_present: bool = False,
    idempotency_key: str | None = None,
) -> Started:
    """:func:`start`, saying whether the Idempotency-Key replayed an earlier start. Two starts
    with the same key racing on two connections make one consultation: the loser's insert hits
    the (org_code, idempotency_key) unique constraint inside a savepoint, and it answers the
    winner's consultation as a replay."""
    _require(principal, Activity.REFERRAL_RECEIVE)
    _pharmacy(session, principal)
    if (done := svc.by_key(session, principal.org_code, idempotency_key)) is not None:
        return _replay(session, principal, done, nhs_number, new.pathway)
    svc.check_new(new)  # bad input refused before anything is read or written
    number = normalise_nhs_number(nhs_number)
    if new.referral_reference:
        ref = referrals.read(session, principal, new.referral_reference)  # audited; 403 / 404
        if ref.target_org_code != principal.org_code or ref.nhs_number != number:
            raise svc.ConsultationError("that referral is not for this patient at this pharmacy")
        wanted = REFERRAL_SERVICES.get(ref.service)
        if wanted != new.kind:
            raise svc.ConsultationError(
                f"a {ref.service} referral starts a {wanted or 'different'} consultation, "
                f"not {new.kind}"
            )
        channel = CHANNEL_OF_SENDER.get(ref.sender_kind, "urgent-care")
        if channel != new.channel:
            new = svc.NewConsultation(**{**new.__dict__, "channel": channel})
    elif new.channel != "walk-in":
        raise svc.ConsultationError("a consultation without a referral is a walk-in")
    found = session.scalar(select(Patient).where(Patient.nhs_number == number))
    related = relationship_for(session, principal, found) if found is not None else None
    if found is not None and related is None and new.channel == "walk-in" and patient_present:
        audit_event(session, principal, "pharmacyfirst.start", found, reason=WALK_IN_REASON)
        patient = found
    else:
        patient = check_patient_access(session, principal, number, "pharmacyfirst.start")
    audit_flush(session)  # the access audit is kept whichever way the savepoint goes
    try:
        with session.begin_nested():
            c = svc.start(
                session, principal.username, principal.org_code, patient, new, idempotency_key
            )
    except IntegrityError:
        # the same key raced in on another connection and won: its consultation is the answer
        first = svc.by_key(session, principal.org_code, idempotency_key)
        if first is None:
            raise
        return _replay(session, principal, first, nhs_number, new.pathway)
    audit_event(
        session,
        principal,
        "pharmacyfirst.started",
        patient,
        {"consultation": c.reference, "kind": c.kind, "pathway": c.pathway},
    )
    return Started(c, replay=False)


# ---- reading ---------------------------------------------------------------------------------


def read(session: Session, principal: Principal, reference: str) -> Consultation:
    _require(principal, Activity.REFERRAL_RECEIVE)
    c, _ = _consultation(session, principal, reference, "pharmacyfirst.read")
    return c


def read_with_check(
    session: Session, principal: Principal, reference: str
) -> tuple[Consultation, Patient, GatewayResult | None, list[str]]:
    """The consultation, its patient, the gateway result now (clinical pathways) and the One
    Medication Record's current medicines (names), for the pharmacist's page."""
    _require(principal, Activity.REFERRAL_RECEIVE)
    c, patient = _consultation(session, principal, reference, "pharmacyfirst.read")
    result = svc.judge(session, c, patient) if c.kind == "clinical-pathway" else None
    meds = svc.current_medicines(session, patient, c.consulted_on) or []
    return c, patient, result, [m.name for m in meds]


def list_for_pharmacy(
    session: Session, principal: Principal, *, limit: int = 100
) -> list[Consultation]:
    """The pharmacy's consultations, newest first (the list shows no patient data beyond the
    reference; opening one is audited)."""
    _require(principal, Activity.REFERRAL_RECEIVE)
    audit_event(session, principal, "pharmacyfirst.list")
    return list(
        session.scalars(
            select(Consultation)
            .where(Consultation.org_code == principal.org_code)
            .order_by(Consultation.created_at.desc(), Consultation.id.desc())
            .limit(limit)
        )
    )


# ---- assessing and completing ----------------------------------------------------------------


def assess(
    session: Session,
    principal: Principal,
    reference: str,
    answers: Mapping[str, Any],
    red_flags: Sequence[str],
    version: int | None = None,
) -> tuple[Consultation, GatewayResult]:
    _require(principal, Activity.REFERRAL_RECEIVE)
    c, patient = _consultation(session, principal, reference, "pharmacyfirst.assess")
    _check_version(c, version)
    try:
        result = svc.assess(session, c, patient, answers, red_flags)
    except StaleDataError:
        raise _changed_meanwhile(reference) from None
    audit_event(
        session,
        principal,
        "pharmacyfirst.assessed",
        patient,
        {"consultation": c.reference, "gateway_passed": result.passed, "version": c.version},
    )
    return c, result


def complete(
    session: Session,
    principal: Principal,
    reference: str,
    outcome: svc.OutcomeInput,
    version: int | None = None,
    now: datetime | None = None,
) -> Consultation:
    """Record the outcome; supplied medicines go on the One Medication Record (pharmacy source),
    the Update Record is queued for the GP practice, and a referral is completed with the same
    outcome — all in this unit of work, after every check has passed."""
    _require(principal, Activity.REFERRAL_RECEIVE)
    c, patient = _consultation(session, principal, reference, "pharmacyfirst.complete")
    if c.status == "completed":
        if svc.same_completion(c, outcome):
            return c  # a retry: the stored outcome
        raise svc.ConsultationConflict(f"consultation {c.reference} is already completed")
    _check_version(c, version)
    pharmacy = _pharmacy(session, principal)
    rows = svc.validate_completion(session, c, patient, outcome)
    now = now or utcnow()
    try:
        svc.complete(session, c, patient, outcome, rows, now)
    except StaleDataError:
        raise _changed_meanwhile(reference) from None
    for item in c.items:
        if item.outcome == "supplied":
            records.record_pharmacy_supply(
                session,
                principal,
                patient,
                c.org_code,
                records.PharmacySupply(
                    reference=c.reference,
                    dmd_code=item.dmd_code,
                    name=item.name,
                    quantity=item.quantity,
                    unit=item.unit,
                    days=item.days,
                    dose_text=item.dose_text,
                    supplied_on=c.consulted_on,
                    supply_type=item.supply_type,
                ),
            )
    _queue_update_record(session, c, patient, pharmacy, now)
    if c.referral_reference:
        referrals.record_outcome(
            session,
            principal,
            c.referral_reference,
            referrals.ReferralOutcome(
                outcome.outcome,
                c.no_supply_reason,
                f"Pharmacy First consultation {c.reference}",
                c.referred_to,
            ),
        )
    audit_event(
        session,
        principal,
        "pharmacyfirst.completed",
        patient,
        {"consultation": c.reference, "outcome": c.outcome, "items": len(c.items)},
    )
    return c


def _queue_update_record(
    session: Session, c: Consultation, patient: Patient, pharmacy: Organisation, now: datetime
) -> None:
    if not c.practice_code:
        return  # no GP practice to tell
    pathway = None
    if c.pathway:
        p = catalogue().pathway(c.pathway, c.consulted_on)
        pathway = (p.title, p.condition_code, p.condition_display)
    key = f"pharmacy-first/{c.reference}"
    body = consultation_message(c, patient, pharmacy.name, pathway, key, SENDER_MAILBOX, now)
    session.add(
        UpdateRecordMessage(
            consultation_id=c.id, idempotency_key=key, recipient_org_code=c.practice_code, body=body
        )
    )
    c.update_record_key = key
    c.update_record_sent_at = now
    session.flush()


def update_record(session: Session, principal: Principal, reference: str) -> dict[str, Any]:
    """The Update Record message a consultation sent (audited read)."""
    _require(principal, Activity.REFERRAL_RECEIVE)
    c, _ = _consultation(session, principal, reference, "pharmacyfirst.update_record.read")
    msg = session.scalar(
        select(UpdateRecordMessage).where(UpdateRecordMessage.consultation_id == c.id)
    )
    if msg is None:
        raise svc.ConsultationNotFound(f"consultation {reference} has sent no Update Record")
    return msg.body


# ---- claims ----------------------------------------------------------------------------------


def claim_readiness(
    session: Session, principal: Principal, month: str, pharmacy: str | None = None
) -> list[claims.ClaimCheck]:
    """Completed consultations of a month checked for what a claim needs: the user's own
    pharmacy, or any pharmacy for an ICS-wide role (no patient identifiers in the answer)."""
    _require(principal, Activity.REFERRAL_RECEIVE, Activity.REFERRAL_OVERSIGHT)
    ics_wide = principal.can(Activity.REFERRAL_OVERSIGHT)
    org = pharmacy if ics_wide else principal.org_code
    if pharmacy and not ics_wide and pharmacy != principal.org_code:
        raise Forbidden("you can see your own pharmacy's claims only")
    audit_event(session, principal, "pharmacyfirst.claims", None, {"month": month, "org": org})
    return claims.readiness(session, month, org)
