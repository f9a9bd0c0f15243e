"""Side effects of the review domain: read the store, run the rules, write the worklist and
rates, record reviews. Clinical logic lives in the pure modules; this file only moves data.

Nothing here logs patient identifiers; counts and row ids only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, TypeVar

import duckdb
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from ipmo import hooks
from ipmo.organisations.models import Organisation
from ipmo.patients.models import Admission, Condition, MedicationIssue, Observation, Patient
from ipmo.review import population
from ipmo.review.engine_sql import evaluate_population
from ipmo.review.facts import Event, Issue, Obs, PatientFacts, Stay
from ipmo.review.models import (
    IndicatorRate,
    Intervention,
    InterventionKind,
    InterventionStatus,
    MedicationReview,
    WorklistEntry,
)
from ipmo.review.params import DEFAULT, Params
from ipmo.review.rates import rates  # noqa: F401 - re-exported: api and pages call service.rates
from ipmo.review.units import normalise
from ipmo.review.worklist import priority
from ipmo.store import session_scope


def _facts_rows(session: Session, patient_ids: list[int] | None = None):
    def q(model):
        stmt = select(model)
        if patient_ids is not None:
            stmt = stmt.where(model.patient_id.in_(patient_ids))
        return session.scalars(stmt)

    return q(MedicationIssue), q(Condition), q(Observation), q(Admission)


def facts_for(session: Session, patient: Patient) -> PatientFacts:
    """One patient's facts from the store (the direct-care path)."""
    return next(iter(_load_facts(session, [patient]).values()))


def _load_facts(session: Session, patients: list[Patient]) -> dict[int, PatientFacts]:
    facts = {
        p.id: PatientFacts(
            p.id, p.birth_date, p.sex, care_home=p.care_home_code is not None, weight_kg=p.weight_kg
        )
        for p in patients
    }
    issues, conditions, observations, admissions = _facts_rows(session, list(facts))
    for i in issues:
        facts[i.patient_id].issues.append(_fact(Issue, i))
    for c in conditions:
        facts[c.patient_id].events.append(_fact(Event, c, code=c.snomed_code))
    for o in observations:
        value = normalise(o.kind, o.value, o.unit)
        facts[o.patient_id].observations.append(_fact(Obs, o, code=o.snomed_code, value=value))
    for a in admissions:
        facts[a.patient_id].admissions.append(_fact(Stay, a))
    return facts


F = TypeVar("F", Issue, Event, Obs, Stay)


def _fact(cls: type[F], row: object, **given: Any) -> F:
    """A ``cls`` fact from a stored row: each field not ``given`` is the row's column of the
    same name."""
    read = {f.name: getattr(row, f.name) for f in fields(cls) if f.name not in given}
    return cls(**read, **given)


def _alive_registered(session: Session, as_of: date) -> list[Patient]:
    """PINCER §1.2: registered at the index date and not dead on or before it."""
    return list(
        session.scalars(
            select(Patient).where(
                Patient.practice_code.is_not(None),
                (Patient.date_of_death.is_(None)) | (Patient.date_of_death > as_of),
            )
        )
    )


@dataclass
class RunSummary:
    patients: int
    on_worklist: int
    findings: int


def other_findings(
    session: Session, as_of: date, patient_ids: list[int] | None = None
) -> dict[int, list[tuple[str, str]]]:
    """Findings other domains offer for the SMR worklist and a patient's review page (hook
    ``REVIEW_FINDINGS``: ``{name: fn(session, as_of, patient_ids)}`` → per patient id, (rule
    id, reason)). Callers have checked access to these patients."""
    out: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for offered in hooks.offered_map("REVIEW_FINDINGS").values():
        for pid, items in offered(session, as_of, patient_ids).items():
            out[pid].extend(items)
    return out


def run(engine: Engine, as_of: date, params: Params = DEFAULT) -> RunSummary:
    """Evaluate every rule over the store (set-based, DuckDB) and refresh the worklist and the
    per-practice rates in one transaction."""
    with session_scope(engine) as session:
        patients = _alive_registered(session, as_of)
        facts = _load_facts(session, patients)
        practice = {p.id: p.practice_code for p in patients}
        care_home = {p.id: p.care_home_code for p in patients}
        pcn = {
            o.ods_code: o.parent_code
            for o in session.scalars(select(Organisation).where(Organisation.kind == "practice"))
        }
        con = duckdb.connect()
        population.load_facts(con, facts.values(), practice)
        rules = evaluate_population(con, as_of, params)
        flag_cols = [(i, r) for i, r in enumerate(rules) if r.kind == "flag"]
        fired_sql = " , ".join(f"n{i}" for i, _ in flag_cols)
        rows = con.execute(
            f"SELECT patient_id, in_cohort, score, {fired_sql} FROM review_results"
        ).fetchall()
        other = other_findings(session, as_of)
        session.execute(delete(WorklistEntry))
        session.execute(delete(IndicatorRate).where(IndicatorRate.as_of == as_of))
        on_list = findings = 0
        for pid, in_cohort, score, *flags in rows:
            ids = [r.id for (_, r), hit in zip(flag_cols, flags, strict=True) if hit]
            findings += len(ids)
            if not in_cohort:
                continue
            py_score, reasons, _ = priority(ids, params)
            assert py_score == score  # same formula, rendered twice
            # other domains' findings (e.g. a care home's eMAR) are reasons, not score: weights
            # for them need the same clinical sign-off as §4.2's
            ids += [rule_id for rule_id, _reason in other.get(pid, [])]
            reasons += [reason for _rule_id, reason in other.get(pid, [])]
            session.add(
                WorklistEntry(
                    patient_id=pid,
                    practice_code=practice[pid],
                    pcn_code=pcn.get(practice[pid] or ""),
                    care_home_code=care_home[pid],
                    score=score,
                    reasons=reasons,
                    rule_ids=ids,
                    as_of=as_of,
                )
            )
            on_list += 1
        # per-practice rates: every flag, and the PINCER composites (practice measures only)
        rate_cols = [(i, r) for i, r in enumerate(rules) if r.kind in ("flag", "composite")]
        sums = ", ".join(f"sum(d{i}::INT), sum(n{i}::INT)" for i, _ in rate_cols)
        for practice_code, *counts in con.execute(
            f"SELECT p.practice_code, {sums} FROM review_results r JOIN patients p "
            f"USING (patient_id) GROUP BY 1"
        ).fetchall():
            for k, (_, r) in enumerate(rate_cols):
                d, n = counts[2 * k], counts[2 * k + 1]
                if d:
                    session.add(
                        IndicatorRate(
                            practice_code=practice_code,
                            rule_id=r.id,
                            as_of=as_of,
                            denominator=d,
                            numerator=n,
                        )
                    )
        return RunSummary(len(patients), on_list, findings)


# Interventions that change the medicines list; monitoring and referral do not.
_CHANGES_LIST = {
    InterventionKind.STOP,
    InterventionKind.START,
    InterventionKind.SWITCH,
    InterventionKind.DOSE_CHANGE,
}


def _propose_on_record(session: Session, principal, patient: Patient, item: Intervention) -> None:
    """Issue 6: "Interventions become proposed changes on the One Medication Record and are
    audited" — through the records domain's service function (which audits the proposal). A
    change the patient (or carer) did not accept in the shared decision is not proposed."""
    from ipmo.records import propose_change

    if item.kind not in _CHANGES_LIST or not item.accepted_by_patient:
        return
    propose_change(
        session,
        principal,
        patient,
        kind=item.kind,
        medicine=item.medicine,
        dmd_code=item.dmd_code,
        detail=item.detail,
        origin=f"review-intervention:{item.id}",
    )


def proposal_outcome(
    session: Session,
    ref: str,
    *,
    status: str,
    reason: str | None,
    by: str | None,
    at: datetime | None,
) -> None:
    """Called by the records domain (through ``review/hooks.py``) when the proposed change
    made from intervention ``ref`` is accepted or rejected, in the same transaction (audited
    there): the intervention becomes ``applied`` or ``rejected`` with the reason, so the reviewer
    sees what happened to it."""
    intervention = session.get(Intervention, int(ref)) if ref.isdigit() else None
    if intervention is None:  # the review was deleted since: nothing to tell
        return
    outcome = {"accepted": InterventionStatus.APPLIED, "rejected": InterventionStatus.REJECTED}
    if status not in outcome:
        raise ValueError(f"unknown proposal outcome {status!r}")
    intervention.status = outcome[status].value
    intervention.outcome_reason = reason
    intervention.outcome_by = by
    intervention.outcome_at = at
    session.flush()


def record_review(
    session: Session,
    principal,
    patient: Patient,
    *,
    review_date: date,
    findings_addressed: list[str],
    interventions: list[dict],
    shared_decision: str,
    decision_with: str = "patient",
    follow_up_date: date | None = None,
    notes: str = "",
) -> MedicationReview:
    """Record a review with its interventions and write one audit entry (caller's transaction)."""
    from ipmo.security.access import audit_event

    if decision_with not in ("patient", "carer"):
        raise ValueError("decision_with must be 'patient' or 'carer'")
    if follow_up_date is not None and follow_up_date < review_date:
        raise ValueError("follow-up date is before the review date")
    review = MedicationReview(
        patient_id=patient.id,
        reviewer=principal.username,
        review_date=review_date,
        findings_addressed=list(findings_addressed),
        shared_decision=shared_decision,
        decision_with=decision_with,
        follow_up_date=follow_up_date,
        notes=notes,
    )
    for item in interventions:
        kind = InterventionKind(item["kind"])  # ValueError on an unknown kind
        review.interventions.append(
            Intervention(
                kind=kind.value,
                rule_id=item.get("rule_id"),
                dmd_code=item.get("dmd_code"),
                medicine=item.get("medicine"),
                detail=item.get("detail", ""),
                accepted_by_patient=bool(item.get("accepted_by_patient", True)),
            )
        )
    session.add(review)
    session.flush()
    for intervention in review.interventions:
        _propose_on_record(session, principal, patient, intervention)
    audit_event(
        session,
        principal,
        "review.record",
        patient,
        detail={
            "review_id": review.id,
            "interventions": len(review.interventions),
            "findings_addressed": list(findings_addressed),
        },
    )
    return review
