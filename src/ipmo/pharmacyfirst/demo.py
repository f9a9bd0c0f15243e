"""Pharmacy First consultations for the demo ICS (``ipmo demo`` calls :func:`populate`).

Over the last ``DAYS`` days, pharmacies see walk-ins whose nominated pharmacy they are: clinical
pathway consultations (answers that pass or fail the gateway, supplies under the PGD, advice,
onward referral) and urgent medicine supplies, each through the same use cases the pages call,
so the audit trail, the One Medication Record and the Update Records are what they would be.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import Engine, select

from ipmo.patients import Patient
from ipmo.pharmacyfirst import actions
from ipmo.pharmacyfirst import service as svc
from ipmo.pharmacyfirst.pathways import catalogue
from ipmo.security.principal import Principal
from ipmo.security.roles import ROLES
from ipmo.store import session_scope, utcnow

DAYS = 45
COUNT = 60
CD = "Morphine sulfate 10mg/5ml oral solution"  # asked for, never supplied in an emergency


def _pharmacist(org: str) -> Principal:
    role = ROLES["community-pharmacist"]
    return Principal(0, f"demo:community-pharmacist@{org}", "Demo pharmacist", role, org)


def _answers(pathway, rng: random.Random, passing: bool) -> dict:
    """Answers that pass every gateway and supply criterion (or fail the first exclusion)."""
    out: dict = {"pregnant": False}
    for q in pathway.questions.values():
        out[q.id] = False if q.kind == "yes-no" else 0
    for c in (*pathway.gateway, *pathway.supply):
        [(kind, arg)] = c.rule.items()
        if kind == "present":
            out[arg] = True
        elif kind == "at_least":
            for q in [q for q in arg["of"] if q in pathway.questions][: arg["n"]]:
                out[q] = True
        elif kind == "number":
            lo = arg.get("min", 0)
            hi = arg.get("max", lo + 5)
            out[arg["question"]] = max(lo, min(hi, lo + rng.randint(0, 2)))
    if not passing:
        first = next((c for c in pathway.gateway if "absent" in c.rule), None)
        if first is not None:
            out[first.rule["absent"]] = True
    return out


def _one(s, rng: random.Random, patient: Patient, day: date) -> str | None:
    principal = _pharmacist(patient.nominated_pharmacy_code or "")
    age = day.year - patient.birth_date.year
    codes = [
        code
        for code in catalogue().codes()
        if code != "uti" or (patient.sex == "female" and 16 <= age <= 64)
    ]
    if rng.random() < 0.2:
        c = actions.start(
            s, principal, patient.nhs_number, svc.NewConsultation("urgent-supply", "walk-in", day)
        )
        meds = [
            m
            for m in svc.current_medicines(s, patient, day) or []
            if "morphine" not in m.name.lower()
        ]
        cd_reason = "schedule-2-3-controlled-drug"
        items = [svc.ItemInput(None, 7.0, name=CD, days=7, outcome="no-supply", reason=cd_reason)]
        if meds:
            med = rng.choice(meds)
            asked = svc.ItemInput(
                med.dmd_code, 28.0, name=med.name, days=14, unit="dose", immediate_need=True
            )
            items.insert(0, asked)
        o = svc.OutcomeInput("supplied" if meds else "no-supply", True, items=items)
    else:
        code = rng.choice(codes)
        new = svc.NewConsultation("clinical-pathway", "walk-in", day, code)
        c = actions.start(s, principal, patient.nhs_number, new)
        pathway = catalogue().pathway(code, day)
        passing = rng.random() < 0.8
        _, result = actions.assess(s, principal, c.reference, _answers(pathway, rng, passing), [])
        allowed = [t for t in result.treatments if t.allowed]
        if result.passed and allowed and rng.random() < 0.75:
            t = allowed[0].treatment
            code_ = sorted(t.products)[0]
            o = svc.OutcomeInput("supplied", True, items=[svc.ItemInput(code_, t.max_quantity)])
        elif result.passed:
            o = svc.OutcomeInput(
                "advice-given", True, advice="Self-care advice and safety netting."
            )
        else:
            o = svc.OutcomeInput("referred-on", True, referred_to="gp", urgency="routine")
    try:
        with s.begin_nested():
            actions.complete(s, principal, c.reference, o)
    except (svc.ConsultationError, ValueError):
        return None  # e.g. ramipril not on this patient's record: left in progress
    return c.reference


def populate(engine: Engine, seed: int = 1) -> str:
    rng = random.Random(seed)
    with session_scope(engine) as s:
        patients = s.scalars(
            select(Patient)
            .where(Patient.nominated_pharmacy_code.is_not(None), Patient.practice_code.is_not(None))
            .order_by(Patient.id)
            .limit(2000)
        ).all()
        if not patients:
            return "pharmacy first: no patients with a nominated pharmacy; nothing generated"
        today = utcnow().date()
        done = 0
        for patient in rng.sample(list(patients), min(COUNT, len(patients))):
            day = today - timedelta(days=rng.randint(0, DAYS))
            if day.weekday() == 6:
                day -= timedelta(days=1)
            done += _one(s, rng, patient, day) is not None
    return f"pharmacy first: {done} consultations completed over {DAYS} days"
