"""Demo hook: eMAR administrations for every care-home resident of the synthetic ICS from the
first day of the month two months back (so two complete months and the current one: 9 to 13
weeks), sent home by home through the same batch ingest as a real eMAR feed (access policy and
audit); the pharmacy's monthly supplies and the homes' returns and destruction (waste).

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

Waste (the figures aimed at are ipmo's assumptions; the context is the £50m a year of unused
medicines from care homes in England, York Health Economics Consortium and The School of
Pharmacy 2010, "Evaluation of the scale, causes and costs of waste medicines"):

* every regular medicine is supplied on the 1st of each month (the home's monthly order) for
  the month's rounds, stored as dispensed EPS prescriptions from the resident's nominated
  pharmacy (the prescriptions domain's ``DEMO_DISPENSES`` hook); paracetamol PRN 32 tablets;
* one regular medicine in 12 is supplied at twice what the rounds use (a dose reduced on the MAR
  and the repeat not changed): under half given each month, the stop-ordering rule's case; in
  half of the homes the surplus is returned to the pharmacy at the month's end;
* one resident in 10 stops using their PRN paracetamol (no dose in the last 5 weeks) yet it is
  supplied again each month, and the unused tablets go back at the month's end;
* doses refused after being prepared are destroyed at the home, recorded at the month's end.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, select

from ipmo import hooks
from ipmo.carehomes.actions import (
    emar_feed,
    ingest_rows,
    record_best_interests,
    record_registration_changes,
    record_waste,
)
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


def rounds(code: str, name: str) -> tuple[int, ...]:
    """The hours of a regular medicine's dose rounds in the demo."""
    return ROUNDS[4 if is_time_critical(name) else 1 + sum(map(ord, code)) % 2]


def resident_doses(
    rng: random.Random,
    nhs: str,
    medicines: list[tuple[str, str]],
    start: datetime,
    days: int = DAYS,
    prn_idle_from: int | None = None,
) -> list[Row]:
    """``days`` of one resident's doses from ``start`` (a midnight, UTC); no PRN dose from day
    ``prn_idle_from`` on when it is given."""
    rows: list[Row] = []
    refused_code = rng.choice(medicines)[0] if medicines and rng.random() < 0.2 else None
    covert = rng.random() < 0.05
    prn_daily = rng.random() < 1 / 6
    for day in range(days):
        midnight = start + timedelta(days=day)
        for code, name in medicines:
            times = rounds(code, name)
            for hour in times:
                sched = midnight + timedelta(hours=hour)
                late = is_time_critical(name) and rng.random() < 1 / 8
                at = sched + timedelta(minutes=rng.randint(45, 90) if late else rng.randint(0, 25))
                outcome = _outcome(rng, code == refused_code)
                rows.append(_row(nhs, code, name, outcome, at, sched, covert=covert))
        for hour in (8, 14, 20):
            if prn_idle_from is not None and day >= prn_idle_from:
                continue
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


def populate(engine: Engine, seed: int, now: datetime | None = None) -> str:
    """``now``: the moment the demo is laid out up to (default the real time; tests fix it)."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    today = now.date()
    first = today.replace(day=1)
    for _ in range(2):  # the first of the month two months back
        first = (first - timedelta(days=1)).replace(day=1)
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    days = (today - first).days
    with session_scope(engine) as s:
        residents = s.execute(
            select(
                Patient.id,
                Patient.nhs_number,
                Patient.care_home_code,
                Patient.practice_code,
                Patient.nominated_pharmacy_code,
            )
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
    supplies: list[tuple] = []
    waste: list[tuple[str, str, dict]] = []
    for pid, nhs, home, practice, pharmacy in residents:
        meds = sorted(medicines[pid].items())
        prn_idle = rng.random() < 0.1
        rows = resident_doses(rng, nhs, meds, start, days, days - 35 if prn_idle else None)
        by_home[home or ""].extend(rows)
        covert = next((r for r in rows if r[12]), None)
        if covert is not None:
            covert_residents.append((home or "", nhs, covert[2], covert[3]))
        over = {code for code, _name in meds if rng.random() < 1 / 12}
        returns_surplus = sum(map(ord, home or "")) % 2 == 0  # half of the homes
        plan = _waste_plan(nhs, meds, rows, first, today, over, returns_surplus, prn_idle)
        for code, name, quantity, unit, on in plan.supplies:
            at = datetime(on.year, on.month, on.day, 10, tzinfo=UTC)
            supplies.append((nhs, practice, pharmacy, code, name, quantity, unit, at))
        waste.extend((home or "", nhs, w) for w in plan.waste)
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
    dispensed = 0
    with session_scope(engine) as s:
        for store in hooks.offered("DEMO_DISPENSES"):
            dispensed += store(s, supplies)
    wasted = 0
    with session_scope(engine) as s:
        for home, nhs, fields in waste:
            wasted += record_waste(s, emar_feed(home), nhs, today=today, **fields)[1]
        record_registration_changes(s, today)  # the first look: later changes show as movements
    return (
        f"{added:,} eMAR administrations for {len(residents)} care-home residents in "
        f"{len(by_home)} homes; {decided} best-interests decisions; {dispensed:,} monthly "
        f"supplies; {wasted:,} returns or destructions"
    )


class _Plan:
    def __init__(self) -> None:
        self.supplies: list[tuple[str, str, float, str, date]] = []
        self.waste: list[dict] = []


def _unit(name: str) -> str:
    lowered = name.lower()
    for unit in ("tablet", "capsule", "patch", "sachet"):
        if unit in lowered:
            return unit
    return "dose"


def _waste_plan(
    nhs: str,
    medicines: list[tuple[str, str]],
    rows: list[Row],
    first: date,
    today: date,
    over: set[str],
    returns_surplus: bool,
    prn_idle: bool,
) -> _Plan:
    """One resident's monthly supplies (the 1st of each month) and the home's records of what
    went back or was destroyed at the end of each complete month."""
    given: dict[tuple[str, str], int] = defaultdict(int)
    refused: dict[tuple[str, str], int] = defaultdict(int)
    for r in rows:
        when = f"{r[5]:%Y-%m}"
        if r[4] == GIVEN:
            given[(r[2], when)] += 1
        elif r[4] == REFUSED:
            refused[(r[2], when)] += 1
    plan = _Plan()
    month = first
    while month <= today:
        following = (month + timedelta(days=32)).replace(day=1)
        days, key = (following - month).days, f"{month:%Y-%m}"
        complete = following <= today
        end = following - timedelta(days=1)
        for code, name in medicines:
            need = len(rounds(code, name)) * days
            quantity = float(need * 2 if code in over else need)
            plan.supplies.append((code, name, quantity, _unit(name), month))
            common = {"medicine_code": code, "medicine_name": name, "unit": _unit(name)}
            surplus = quantity - given[(code, key)]
            if complete and code in over and returns_surplus and surplus > 0:
                plan.waste.append(
                    common
                    | {
                        "quantity": surplus,
                        "disposal": "returned",
                        "disposed_on": end,
                        "reason": "Over-supplied: the dose was reduced",
                        "key": f"demo-{nhs}-{code}-{key}-returned",
                    }
                )
            if complete and refused[(code, key)]:
                plan.waste.append(
                    common
                    | {
                        "quantity": float(refused[(code, key)]),
                        "disposal": "destroyed",
                        "disposed_on": end,
                        "reason": "Refused after being prepared",
                        "key": f"demo-{nhs}-{code}-{key}-destroyed",
                    }
                )
        plan.supplies.append((PRN[0], PRN[1], 32.0, "tablet", month))
        if complete and prn_idle and given[(PRN[0], key)] == 0:
            plan.waste.append(
                {
                    "medicine_code": PRN[0],
                    "medicine_name": PRN[1],
                    "unit": "tablet",
                    "quantity": 32.0,
                    "disposal": "returned",
                    "disposed_on": end,
                    "reason": "When-required medicine not used",
                    "key": f"demo-{nhs}-prn-{key}-returned",
                }
            )
        month = following
    return plan
