"""Demo hook: six weeks of eMAR administrations for every care-home resident of the synthetic ICS,
sent home by home through the same batch ingest as a real eMAR feed (access policy and audit).

Each resident's regular medicines are their GP repeat issues of the last 3 months (up to 8);
doses follow the patterns below, drawn from a seeded generator so the demo is the same every
time. The figures aimed at (all per dose unless said):

* not given ≈ 3.5% (2% refused, 1% omitted, 0.5% withheld): below the Care Homes
  Use of Medicines Study (CHUMS; Alldred et al., Qual Saf Health Care 2009;18:341-6), which
  found an administration error in 8.4% of opportunities, omissions the commonest (errors and
  refusals are not the same thing; the split is ipmo's assumption);
* one resident in 5 refuses a chosen medicine often (1 dose in 3) — the pattern the
  repeated-refusals finding exists for (ipmo's assumption);
* one "when required" (PRN) medicine per resident (paracetamol), offered at one round in 3 and
  taken at 60% of offers; one resident in 6 takes it nearly every day (ipmo's assumption);
* covert administration for 1 resident in 20, half of them with a recorded best-interests
  decision (NICE SC1 1.14; rate ipmo's assumption);
* Parkinson's medicines 4 times a day, 1 dose in 8 given over 30 minutes late (Parkinson's UK
  "Get It On Time" reports that most people with Parkinson's in hospital do not always get their
  medicines on time; the care-home rate is ipmo's assumption).
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from ipmo.carehomes.actions import emar_feed, ingest_rows, record_best_interests
from ipmo.carehomes.administrations import GIVEN, OMITTED, REFUSED, WITHHELD, Row
from ipmo.carehomes.findings import is_time_critical
from ipmo.patients import MedicationIssue, Patient
from ipmo.store import session_scope

DAYS = 42
MAX_MEDICINES = 8
PRN = ("0", "Paracetamol 500mg tablets (when required)")
ROUNDS = {1: (8,), 2: (8, 20), 4: (7, 11, 15, 19)}


def _outcome(rng: random.Random, refuser: bool) -> str:
    x = rng.random()
    if refuser and x < 0.33:
        return REFUSED
    if x < 0.02:
        return REFUSED
    if x < 0.03:
        return OMITTED
    if x < 0.035:
        return WITHHELD
    return GIVEN


def resident_doses(
    rng: random.Random, nhs: str, medicines: list[tuple[str, str]], start: datetime
) -> list[Row]:
    """Six weeks of one resident's doses from ``start`` (a midnight, UTC)."""
    rows: list[Row] = []
    refused_code = rng.choice(medicines)[0] if medicines and rng.random() < 0.2 else None
    covert = rng.random() < 0.05
    prn_daily = rng.random() < 1 / 6
    for day in range(DAYS):
        midnight = start + timedelta(days=day)
        for code, name in medicines:
            times = ROUNDS[4 if is_time_critical(name) else 1 + sum(map(ord, code)) % 2]
            for hour in times:
                sched = midnight + timedelta(hours=hour)
                late = is_time_critical(name) and rng.random() < 1 / 8
                at = sched + timedelta(minutes=rng.randint(45, 90) if late else rng.randint(0, 25))
                outcome = _outcome(rng, code == refused_code)
                rows.append(_row(nhs, code, name, outcome, at, sched, covert=covert))
        for hour in (8, 14, 20):
            if prn_daily and hour == 20 or rng.random() < 1 / 3 * 0.6:
                at = midnight + timedelta(hours=hour, minutes=rng.randint(0, 50))
                rows.append(_row(nhs, PRN[0], PRN[1], GIVEN, at, None, prn=True))
    return rows


def _row(
    nhs: str,
    code: str,
    name: str,
    outcome: str,
    at: datetime,
    scheduled: datetime | None,
    *,
    prn: bool = False,
    covert: bool = False,
) -> Row:
    ident = f"demo-{nhs}-{code}-{at:%Y%m%d%H%M}-{outcome}"
    reason = "Resident declined" if outcome == REFUSED else None
    sched = scheduled.replace(tzinfo=None) if scheduled else None
    given_covertly = covert and outcome == GIVEN and not prn
    head = (ident, nhs, code, name, outcome, at.replace(tzinfo=None), sched, reason)
    return (*head, 1.0, "dose", "Oral", prn, given_covertly)


def populate(engine: Engine, seed: int) -> str:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    today = now.date()
    start = datetime(today.year, today.month, today.day, tzinfo=UTC) - timedelta(days=DAYS)
    with session_scope(engine) as s:
        residents = s.execute(
            select(Patient.id, Patient.nhs_number, Patient.care_home_code)
            .where(Patient.care_home_code.is_not(None), Patient.date_of_death.is_(None))
            .order_by(Patient.id)
        ).all()
        medicines: dict[int, dict[str, str]] = defaultdict(dict)
        for pid, code, name in s.execute(
            select(MedicationIssue.patient_id, MedicationIssue.dmd_code, MedicationIssue.name)
            .where(
                MedicationIssue.patient_id.in_([r[0] for r in residents]),
                MedicationIssue.issue_type == "repeat",
                MedicationIssue.issue_date >= today - timedelta(days=90),
            )
            .order_by(MedicationIssue.issue_date)
        ):
            if code and len(medicines[pid]) < MAX_MEDICINES:
                medicines[pid].setdefault(code, name)
    by_home: dict[str, list[Row]] = defaultdict(list)
    covert_residents: list[tuple[str, str, str, str]] = []
    for pid, nhs, home in residents:
        rows = resident_doses(rng, nhs, sorted(medicines[pid].items()), start)
        by_home[home or ""].extend(rows)
        covert = next((r for r in rows if r[12]), None)
        if covert is not None:
            covert_residents.append((home or "", nhs, covert[2], covert[3]))
    added = 0
    for home, rows in sorted(by_home.items()):
        with session_scope(engine) as s:
            added += ingest_rows(s, emar_feed(home), home, rows, "csv", now).added
    decided = 0
    # half have a recorded decision (once: a second run of the demo adds nothing)
    for home, nhs, code, name in covert_residents[::2] if added else []:
        with session_scope(engine) as s:
            record_best_interests(
                s,
                emar_feed(home),
                nhs,
                medicine_code=code,
                medicine_name=name,
                decided_on=today - timedelta(days=60),
                review_by=today + timedelta(days=120),
                participants="GP, care-home pharmacist, family",
                today=today,
            )
            decided += 1
    return (
        f"{added:,} eMAR administrations for {len(residents)} care-home residents in "
        f"{len(by_home)} homes; {decided} best-interests decisions"
    )
