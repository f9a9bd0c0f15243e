"""A realistic stream of referrals with outcomes for the demo ICS (``ipmo demo`` calls
:func:`populate` after the synthetic ICS exists).

Over the last ``DAYS`` days, in opening hours: NHS 111 sends urgent supply and Pharmacy First
referrals, practices send Pharmacy First, trusts send DMS. Most are accepted within two hours and
completed with a spread of outcomes; some are never accepted and are escalated by the same overdue
sweep the worker runs; the newest stay open so the inboxes have work in them.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from ipmo.organisations.models import Organisation, OrgKind
from ipmo.patients.models import Admission, MedicationIssue, Patient
from ipmo.referrals.errors import ReferralError
from ipmo.referrals.lifecycle import NoSupplyReason
from ipmo.referrals.new_referrals import NewReferral, create_referral
from ipmo.referrals.outbox import deliver_pending
from ipmo.referrals.outcome_details import ReferralOutcome
from ipmo.referrals.overdue import escalate_overdue
from ipmo.referrals.state_changes import accept, record_dms_check, record_outcome
from ipmo.security.principal import Principal
from ipmo.security.roles import ROLES
from ipmo.store import session_scope, utcnow

DAYS = 60
PER_DAY = 6
OUTCOMES = [("supplied", 55), ("no-supply", 15), ("advice-given", 22), ("referred-on", 8)]


def _person(role: str, org: str) -> Principal:
    return Principal(0, f"demo:{role}@{org}", f"Demo {role}", ROLES[role], org)


def _working_time(rng: random.Random, day: datetime) -> datetime:
    return day.replace(hour=rng.randint(9, 15), minute=rng.randint(0, 59), second=0, microsecond=0)


def populate(engine: Engine, seed: int = 1, now: datetime | None = None) -> str:
    """``now``: the moment the demo is made (UTC, no zone; default the real time; tests fix it)."""
    rng = random.Random(seed)
    with session_scope(engine) as s:
        nhs111 = s.scalars(
            select(Organisation.ods_code).where(Organisation.kind == OrgKind.NHS111)
        ).all()
        patients = s.execute(
            select(Patient.id, Patient.nhs_number, Patient.practice_code).limit(5000)
        ).all()
        # a DMS referral comes from the trust the patient was admitted to
        admitted = s.execute(
            select(Patient.id, Patient.nhs_number, Admission.trust_code)
            .join(Admission, Admission.patient_id == Patient.id)
            .limit(5000)
        ).all()
    if not patients or not (nhs111 or admitted):
        return "referrals: no patients or senders in this ICS; nothing generated"
    started = now or utcnow()
    today = started.replace(hour=0, minute=0, second=0, microsecond=0)
    made = closed = 0
    for back in range(DAYS, -1, -1):
        day = today - timedelta(days=back)
        for _ in range(PER_DAY):
            pid, nhs, practice = rng.choice(patients)
            kind = rng.random()
            if kind < 0.45 and nhs111:
                sender, service = (
                    _person("nhs111-clinician", nhs111[0]),
                    rng.choice(["urgent-repeat-supply", "pharmacy-first"]),
                )
            elif kind < 0.8 and practice:
                sender, service = _person("gp", practice), "pharmacy-first"
            elif admitted:
                pid, nhs, trust = rng.choice(admitted)
                sender, service = (
                    _person("hospital-pharmacist", trust),
                    "discharge-medicines-service",
                )
            else:
                continue
            # never in the future: today's referrals were sent before the demo was made
            at = min(_working_time(rng, day), started - timedelta(minutes=5))
            with session_scope(engine) as s:
                items = []
                if service == "discharge-medicines-service":
                    meds = s.scalars(
                        select(MedicationIssue)
                        .where(
                            MedicationIssue.patient_id == pid,
                            MedicationIssue.issue_type == "repeat",
                        )
                        .limit(3)
                    ).all()
                    items = [
                        {
                            "name": m.name,
                            "dmd_code": m.dmd_code,
                            "change": c,
                            "dose_text": m.dose_text,
                        }
                        for m, c in zip(meds, ["unchanged", "changed", "stopped"], strict=False)
                    ]
                    items.append(
                        {
                            "name": "Apixaban 5mg tablets",
                            "change": "started",
                            "dose_text": "One tablet twice a day",
                        }
                    )
                try:
                    ref = create_referral(
                        s,
                        sender,
                        NewReferral(
                            service=service,
                            nhs_number=nhs,
                            summary="Demo referral",
                            # 111 callers are nobody's registered patients at 111
                            no_relationship_reason="NHS 111 caller"
                            if sender.role.code == "nhs111-clinician"
                            else None,
                        ),
                        now=at,
                    )
                except ReferralError:
                    continue
                made += 1
                if back <= 1 or rng.random() < 0.08:
                    continue  # still open, or never accepted: the sweep below escalates it
                if ref.target_org_code is None:
                    continue  # a referral without a receiving pharmacy is never accepted
                pharmacist = _person("community-pharmacist", ref.target_org_code)
                accepted = at + timedelta(minutes=rng.randint(5, 50))
                accept(s, pharmacist, ref, now=accepted)
                if service == "discharge-medicines-service":
                    record_dms_check(
                        s,
                        pharmacist,
                        ref,
                        rng.choice(["", "Stopped medicine still on repeat"]),
                        now=accepted + timedelta(hours=3),
                    )
                outcome = rng.choices([o for o, _ in OUTCOMES], [w for _, w in OUTCOMES])[0]
                reason = rng.choice(list(NoSupplyReason)).value if outcome == "no-supply" else None
                target = rng.choice(["gp", "urgent-care"]) if outcome == "referred-on" else None
                if target == "gp" and not ref.practice_code:
                    target = "urgent-care"
                record_outcome(
                    s,
                    pharmacist,
                    ref,
                    ReferralOutcome(outcome, reason, "Demo outcome", target),
                    now=accepted + timedelta(minutes=rng.randint(10, 240)),
                )
                closed += 1
        if back >= 2:  # the last two days stay as they are: inboxes with work in them
            with session_scope(engine) as s:
                escalate_overdue(s, now=day + timedelta(days=1))
    sent = deliver_pending(engine, now=now or utcnow())
    return (
        f"referrals: {made} generated ({closed} completed), "
        f"{sent.delivered} outcome notices delivered"
    )
