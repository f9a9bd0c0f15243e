"""Pharmacy First consultations: start, assess against the gateway, complete with an outcome.

No access checks or audit here: :mod:`ipmo.pharmacyfirst.actions` does both, then calls these.
Every function validates everything before it writes anything, so a refused request leaves
nothing behind (the web layer also rolls the unit of work back on any error).

Outcomes and no-supply reasons are the referrals vocabulary (``ipmo.referrals``: one vocabulary
for every pharmacy outcome). A clinical pathway consultation is judged by the pathway version in
force on its date (:mod:`ipmo.pharmacyfirst.pathways`); urgent supply by the emergency supply
rules (:mod:`ipmo.pharmacyfirst.urgent`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import ipmo.records as records
import ipmo.referrals as referrals
from ipmo.patients import Condition, Patient
from ipmo.pharmacyfirst import gateway as gw
from ipmo.pharmacyfirst import urgent
from ipmo.pharmacyfirst.models import Consultation, ConsultationItem
from ipmo.pharmacyfirst.pathways import URGENCIES, UnknownPathway, catalogue, pregnancy_codes
from ipmo.terminology import verhoeff_ok

KINDS = ("clinical-pathway", "urgent-supply")
CHANNELS = ("walk-in", "nhs111", "gp", "urgent-care")
CHOSEN = ("supplied", "advice-given", "referred-on", "no-supply")
PREGNANCY_WINDOW = timedelta(days=280)  # a pregnancy code in the last 40 weeks counts


class ConsultationError(ValueError):
    """Bad input: the sentence says what and why (HTTP 422); nothing written."""


class GatewayNotMet(ConsultationError):
    """A PGD supply asked for a consultation that did not pass the gateway (names the criterion)."""


class ConsultationNotFound(LookupError):
    """No consultation with that reference at this pharmacy (HTTP 404)."""


class ConsultationConflict(ValueError):
    """The consultation changed meanwhile, or is already completed differently (HTTP 409)."""


@dataclass(frozen=True)
class NewConsultation:
    kind: str
    channel: str
    consulted_on: date
    pathway: str | None = None
    referral_reference: str | None = None


@dataclass(frozen=True)
class ItemInput:
    dmd_code: str | None
    quantity: float | None
    name: str | None = None  # urgent supply: the medicine as prescribed
    days: int | None = None
    unit: str | None = None
    dose_text: str | None = None
    outcome: str = "supplied"  # urgent supply items: supplied | no-supply
    reason: str | None = None  # no-supply reason of an item
    pack_exception: str | None = None
    epilepsy: bool = False
    immediate_need: bool = False


@dataclass(frozen=True)
class OutcomeInput:
    outcome: str
    consent: bool
    reason: str | None = None
    referred_to: str | None = None
    urgency: str | None = None
    advice: str | None = None
    items: Sequence[ItemInput] = field(default_factory=tuple)


# ---- starting --------------------------------------------------------------------------------


def new_reference() -> str:
    return "PF-" + uuid.uuid4().hex[:8].upper()


def find(session: Session, org_code: str, reference: str) -> Consultation:
    found = session.scalar(
        select(Consultation).where(
            Consultation.reference == reference, Consultation.org_code == org_code
        )
    )
    if found is None:
        raise ConsultationNotFound(f"no consultation {reference} at this pharmacy")
    return found


def by_key(session: Session, org_code: str, key: str | None) -> Consultation | None:
    if not key:
        return None
    return session.scalar(
        select(Consultation).where(
            Consultation.org_code == org_code, Consultation.idempotency_key == key
        )
    )


def check_new(new: NewConsultation) -> None:
    if new.kind not in KINDS:
        raise ConsultationError(f"unknown consultation kind {new.kind!r}; use {', '.join(KINDS)}")
    if new.channel not in CHANNELS:
        raise ConsultationError(f"unknown channel {new.channel!r}; use {', '.join(CHANNELS)}")
    if new.kind == "clinical-pathway":
        if not new.pathway:
            raise ConsultationError("a clinical pathway consultation names its pathway")
        try:
            catalogue().pathway(new.pathway, new.consulted_on)
        except UnknownPathway as exc:
            raise ConsultationError(str(exc)) from None
    elif new.pathway:
        raise ConsultationError("an urgent supply consultation has no clinical pathway")


def start(
    session: Session,
    username: str,
    org_code: str,
    patient: Patient,
    new: NewConsultation,
    idempotency_key: str | None = None,
) -> Consultation:
    """A new consultation (in progress) for ``patient`` at ``org_code``."""
    check_new(new)
    version = (
        catalogue().pathway(new.pathway, new.consulted_on).version.isoformat()
        if new.pathway
        else None
    )
    c = Consultation(
        reference=new_reference(),
        kind=new.kind,
        channel=new.channel,
        referral_reference=new.referral_reference,
        idempotency_key=idempotency_key,
        org_code=org_code,
        pharmacist=username,
        patient_id=patient.id,
        nhs_number=patient.nhs_number,
        practice_code=patient.practice_code,
        consulted_on=new.consulted_on,
        pathway=new.pathway,
        pathway_version=version,
        answers={},
        findings=[],
        red_flags=[],
        status="in-progress",
    )
    session.add(c)
    session.flush()
    return c


# ---- what ipmo knows about the patient --------------------------------------------------------


def current_medicines(session: Session, patient: Patient, day: date) -> list[gw.Medicine] | None:
    """The One Medication Record's current medicines on ``day`` (None: the patient has none)."""
    lines = records.current_medications(session, patient.id, day)
    if lines is None:
        return None
    return [gw.Medicine(line.name, line.dmd_code) for line in lines]


def pregnant_on_record(session: Session, patient: Patient, day: date) -> bool:
    codes = pregnancy_codes()
    rows = session.scalars(
        select(Condition).where(
            Condition.patient_id == patient.id, Condition.snomed_code.in_(list(codes))
        )
    )
    return any(
        c.onset_date is not None
        and day - PREGNANCY_WINDOW <= c.onset_date <= day
        and (c.resolved_date is None or c.resolved_date > day)
        for c in rows
    )


def facts_for(
    session: Session, c: Consultation, patient: Patient, answers: Mapping[str, Any], flags: list
) -> tuple[gw.Facts, bool]:
    meds = current_medicines(session, patient, c.consulted_on)
    facts = gw.Facts(
        birth_date=patient.birth_date,
        sex=patient.sex,
        consulted_on=c.consulted_on,
        pregnant_on_record=pregnant_on_record(session, patient, c.consulted_on),
        answers=dict(answers),
        medicines=meds or [],
        red_flags=flags,
    )
    return facts, meds is not None


# ---- assessing ---------------------------------------------------------------------------------


def _clean_answers(pathway: Any, answers: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in answers.items():
        if value is None or value == "":
            continue
        q = pathway.questions.get(key)
        if key == "pregnant" or (q is not None and q.kind == "yes-no"):
            if not isinstance(value, bool):
                raise ConsultationError(f"answer {key!r} must be yes or no")
        elif q is not None:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3650:
                raise ConsultationError(f"answer {key!r} must be a whole number from 0 to 3650")
        else:
            known = ", ".join(["pregnant", *pathway.questions])
            raise ConsultationError(f"unknown question {key!r} for this pathway; use {known}")
        out[key] = value
    return out


def assess(
    session: Session,
    c: Consultation,
    patient: Patient,
    answers: Mapping[str, Any],
    red_flags: Sequence[str],
) -> gw.GatewayResult:
    """Record the pharmacist's answers and red flags and judge them against the gateway of the
    pathway version in force on the consultation's date (stored with the result)."""
    if c.kind != "clinical-pathway" or not c.pathway:
        raise ConsultationError("only a clinical pathway consultation has a gateway")
    if c.status != "in-progress":
        raise ConsultationConflict(f"consultation {c.reference} is already completed")
    pathway = catalogue().pathway(c.pathway, c.consulted_on)
    clean = _clean_answers(pathway, answers)
    flags = list(dict.fromkeys(red_flags))
    if unknown := [f for f in flags if pathway.red_flag(f) is None]:
        known = ", ".join(f.id for f in pathway.red_flags)
        raise ConsultationError(f"unknown red flag {unknown[0]!r}; use {known}")
    facts, has_record = facts_for(session, c, patient, clean, flags)
    result = gw.check(pathway, facts)
    c.answers = clean
    c.red_flags = flags
    c.gateway_passed = result.passed
    failed = result.first_failed
    c.gateway_failed = failed.id if failed else None
    c.gateway_reason = f"{failed.text}: {failed.why}"[:300] if failed else None
    c.findings = list(result.findings) + (
        [] if has_record else ["No One Medication Record: ask the patient about current medicines."]
    )
    c.pathway_version = pathway.version.isoformat()
    session.flush()
    return result


def judge(session: Session, c: Consultation, patient: Patient) -> gw.GatewayResult:
    """The gateway result for what is stored on the consultation (for pages and completion)."""
    pathway = catalogue().pathway(c.pathway or "", c.consulted_on)
    facts, _ = facts_for(session, c, patient, c.answers or {}, list(c.red_flags or []))
    return gw.check(pathway, facts)


# ---- completing ------------------------------------------------------------------------------


def _vocabulary(o: OutcomeInput) -> None:
    if o.outcome not in CHOSEN:
        raise ConsultationError(f"unknown outcome {o.outcome!r}; use one of: {', '.join(CHOSEN)}")
    reasons = [r.value for r in referrals.NoSupplyReason]
    if o.outcome == "no-supply":
        if o.reason not in reasons:
            raise ConsultationError("no supply needs a reason: " + ", ".join(reasons))
    elif o.reason:
        raise ConsultationError(
            f"a no-supply reason ({o.reason}) does not go with the outcome {o.outcome!r}"
        )
    if o.outcome == "referred-on":
        targets = [e.value for e in referrals.EscalateTo]
        if o.referred_to not in targets:
            raise ConsultationError("referred on needs where to: " + ", ".join(targets))
        if o.urgency not in URGENCIES:
            raise ConsultationError("referred on needs an urgency: " + ", ".join(URGENCIES))
    elif o.referred_to or o.urgency:
        raise ConsultationError(
            f"where to refer and how urgently go only with 'referred-on', not {o.outcome!r}"
        )
    if not o.consent and not (o.outcome == "no-supply" and o.reason == "patient-declined"):
        raise ConsultationError(
            "record the patient's consent to the consultation (or no supply: patient declined)"
        )


def _pathway_items(c: Consultation, result: gw.GatewayResult, o: OutcomeInput) -> list:
    """Validate a clinical pathway outcome; the PGD supply lines to store."""
    if result.red_flags and o.outcome in ("supplied", "advice-given"):
        flag = result.red_flags[0]
        raise ConsultationError(
            f"red flag present: {flag.text}; refer the patient on ({flag.urgency})"
        )
    if o.outcome == "referred-on" and result.red_flags:
        order = {u: i for i, u in enumerate(URGENCIES)}
        needed = min(result.red_flags, key=lambda f: order[f.urgency]).urgency
        if order[o.urgency or "routine"] > order[needed]:
            raise ConsultationError(f"a red flag needs an {needed} referral, not {o.urgency}")
    if o.outcome == "no-supply" and o.reason == "gateway-not-met" and result.passed:
        raise ConsultationError("the gateway was passed: 'gateway not met' is not the reason")
    if o.outcome != "supplied":
        if o.items:
            raise ConsultationError(f"the outcome {o.outcome!r} supplies no medicine")
        return []
    if not result.passed:
        failed = result.first_failed
        assert failed is not None
        raise GatewayNotMet(
            f"no PGD supply: the gateway criterion '{failed.text}' is not met ({failed.why}; "
            f"{result.pathway.title}, version of {result.pathway.version.isoformat()})"
        )
    if not o.items:
        raise ConsultationError("a supply under a PGD names the product and quantity")
    rows = []
    for item in o.items:
        code = (item.dmd_code or "").strip()
        if not code.isdigit() or not verhoeff_ok(code):
            raise ConsultationError(f"unknown product code {code!r}: give a dm+d code")
        treatment = result.pathway.treatment_for(code)
        if treatment is None:
            raise ConsultationError(
                f"product {code} is not a PGD treatment of the {result.pathway.title} pathway"
            )
        judged = result.treatment(treatment.id)
        assert judged is not None
        if not judged.allowed:
            raise ConsultationError(
                f"{treatment.title} cannot be supplied under the PGD: " + "; ".join(judged.reasons)
            )
        if item.quantity is None or not 0 < item.quantity <= treatment.max_quantity:
            raise ConsultationError(
                f"quantity of {treatment.title} must be more than 0 and at most "
                f"{treatment.max_quantity:g} ({treatment.unit})"
            )
        rows.append(
            ConsultationItem(
                dmd_code=code,
                name=treatment.products[code],
                supply_type=treatment.supply_type,
                outcome="supplied",
                quantity=item.quantity,
                unit=item.unit or treatment.unit,
                days=treatment.days,
                dose_text=item.dose_text or treatment.dose,
            )
        )
    return rows


def previously_prescribed(item: ItemInput, medicines: Sequence[gw.Medicine]) -> bool:
    """On the One Medication Record: the same dm+d code, or a current medicine whose name starts
    with the same substance."""
    name = (item.name or "").lower().split()
    for med in medicines:
        if item.dmd_code and item.dmd_code == med.dmd_code:
            return True
        if name and med.name.lower().split()[:1] == name[:1]:
            return True
    return False


def _urgent_items(o: OutcomeInput, medicines: Sequence[gw.Medicine]) -> list:
    """Validate an urgent supply's items (each with its own outcome); the lines to store."""
    if not o.items:
        raise ConsultationError("an urgent supply lists the medicines asked for")
    reasons = [r.value for r in referrals.NoSupplyReason]
    rows = []
    for item in o.items:
        name = (item.name or "").strip()
        if not name:
            raise ConsultationError("each urgent supply item names the medicine")
        code = (item.dmd_code or "").strip() or None
        if code is not None and not (code.isdigit() and verhoeff_ok(code)):
            raise ConsultationError(f"unknown product code {code!r} for {name}")
        if item.outcome == "supplied":
            if item.reason:
                raise ConsultationError(f"{name}: supplied items have no no-supply reason")
            if item.quantity is None or item.quantity <= 0 or item.days is None:
                raise ConsultationError(f"{name}: give the quantity and days of treatment")
            try:
                breaches = urgent.check_item(
                    urgent.UrgentItem(
                        name=name,
                        days=item.days,
                        previously_prescribed=previously_prescribed(item, medicines),
                        immediate_need=item.immediate_need,
                        pack_exception=item.pack_exception or None,
                        epilepsy=item.epilepsy,
                    )
                )
            except ValueError as exc:
                raise ConsultationError(str(exc)) from None
            if breaches:
                every = "; ".join(f"{b.text} ({b.source})" for b in breaches)
                raise ConsultationError(f"{name} cannot be supplied: {every}")
        elif item.outcome == "no-supply":
            if item.reason not in reasons:
                raise ConsultationError(f"{name}: no supply needs a reason: " + ", ".join(reasons))
        else:
            raise ConsultationError(f"{name}: an item is supplied or no-supply")
        rows.append(
            ConsultationItem(
                dmd_code=code,
                name=name,
                supply_type="emergency-supply",
                outcome=item.outcome,
                no_supply_reason=item.reason if item.outcome == "no-supply" else None,
                quantity=item.quantity,
                unit=item.unit,
                days=item.days,
                dose_text=item.dose_text,
            )
        )
    return rows


def _urgent_outcome(o: OutcomeInput, rows: list) -> OutcomeInput:
    supplied = any(r.outcome == "supplied" for r in rows)
    if o.outcome not in ("supplied", "no-supply"):
        raise ConsultationError("an urgent supply's outcome is supplied or no-supply (per item)")
    if supplied != (o.outcome == "supplied"):
        raise ConsultationError(
            "the outcome must say what the items say: supplied when any item was supplied"
        )
    return o


def validate_completion(
    session: Session, c: Consultation, patient: Patient, o: OutcomeInput
) -> list[ConsultationItem]:
    """Everything checked, nothing written: the item rows to store."""
    if c.kind == "urgent-supply":
        if o.outcome == "no-supply" and not o.reason:
            o = OutcomeInput(**{**o.__dict__, "reason": next((i.reason for i in o.items), None)})
        _vocabulary(o)
        meds = current_medicines(session, patient, c.consulted_on) or []
        rows = _urgent_items(o, meds)
        _urgent_outcome(o, rows)
        return rows
    _vocabulary(o)
    return _pathway_items(c, judge(session, c, patient), o)


def complete(
    session: Session,
    c: Consultation,
    patient: Patient,
    o: OutcomeInput,
    rows: list[ConsultationItem],
    now: datetime,
) -> Consultation:
    """Store the validated outcome (``validate_completion`` first)."""
    c.status = "completed"
    c.outcome = o.outcome
    c.no_supply_reason = (o.reason if o.outcome == "no-supply" else None) or next(
        (r.no_supply_reason for r in rows if o.outcome == "no-supply"), None
    )
    c.referred_to = o.referred_to
    c.referral_urgency = o.urgency
    c.advice = (o.advice or "").strip()[:4000] or None
    c.consent = o.consent
    c.completed_at = now
    c.items.extend(rows)
    session.flush()
    return c


def same_completion(c: Consultation, o: OutcomeInput) -> bool:
    """A repeated completion (a retry) asks exactly what is stored."""
    return (
        c.status == "completed"
        and c.outcome == o.outcome
        and c.referred_to == o.referred_to
        and sorted(i.dmd_code or i.name for i in c.items)
        == sorted(i.dmd_code or i.name or "" for i in o.items)
    )
