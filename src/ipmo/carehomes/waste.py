"""Care-home medicines waste (issue 17): supplied vs administered vs returned or destroyed, per
medicine per month, its cost at dm+d Drug Tariff prices, and the "stop ordering" candidates for
each home's monthly order.

One definition, used by the API, the pages and the plan metric (``carehomes.waste_cost``):

* **supplied** — the quantity EPS dispense notifications say was handed over for the resident
  (the prescriptions domain's ``DISPENSED_SUPPLIES`` hook), in the calendar month (UTC) of the
  dispense;
* **administered** — the eMAR's given doses in the month, each counted as its dose value (1 when
  the eMAR gave none);
* **returned / destroyed** — what the home recorded (``MedicineWaste``), in the month of disposal;
* **cost of waste** — (returned + destroyed) × the Drug Tariff price of one unit (``ipmo.terminology
  .unit_prices``: the VMPP's DTINFO price over its pack size); "no price" when the dictionary has
  none, never a guess. Medicines are matched by dm+d code, an AMP through its VMP.

Context: unused medicines from care homes cost the NHS about £50m a year in England (York Health
Economics Consortium and The School of Pharmacy, University of London, "Evaluation of the scale,
causes and costs of waste medicines", 2010; quoted by NHS England's Medicines Optimisation in Care
Homes programme).

"Stop ordering" rules are ipmo's (thresholds not set by any guidance). Motivation: NICE SC1
(Managing medicines in care homes, 2014) 1.16 — care homes order only the medicines residents
need, with a process that avoids over-ordering and stockpiling; PrescQIPP's care-home ordering
guidance ("order only what is needed" at each monthly cycle, check PRN stock before re-ordering).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, aliased

from ipmo import hooks
from ipmo.carehomes.administrations import GIVEN
from ipmo.carehomes.models import AdministrationRow, MedicineWaste
from ipmo.organisations import Organisation
from ipmo.patients import Patient
from ipmo.terminology import resolve_to_vmp_vtm, unit_prices

RETURNED, DESTROYED = "returned", "destroyed"
DISPOSALS = (RETURNED, DESTROYED)
LOW_USE_SHARE = 0.5  # administered below half of supplied …
LOW_USE_MONTHS = 2  # … in each of the last two complete months (ipmo's)
PRN_IDLE = timedelta(days=28)  # a PRN medicine not given for 28 days but re-supplied (ipmo's)
HISTORY = timedelta(days=100)  # eMAR read for PRN status, last given and coverage
RULE_SOURCE = (
    "NICE SC1 (2014) 1.16 ordering medicines; PrescQIPP care-home ordering guidance; "
    "thresholds ipmo's"
)
Supplies = Callable[[Session, Iterable[str], datetime, datetime], list]


def month_of(when: date | datetime) -> str:
    return f"{when.year:04d}-{when.month:02d}"


def month_start(month: str) -> date:
    year, mon = month.split("-")
    return date(int(year), int(mon), 1)


def months_before(on: date, count: int) -> list[str]:
    """The ``count`` complete calendar months before ``on``'s month, oldest first."""
    out, first = [], on.replace(day=1)
    for _ in range(count):
        first = (first - timedelta(days=1)).replace(day=1)
        out.append(month_of(first))
    return sorted(out)


@dataclass
class Resident:
    patient_id: int
    nhs_number: str
    home: str
    pcn: str | None = None
    name: str = ""


def residents(session: Session, where: ColumnElement[bool] | None = None) -> list[Resident]:
    """Living care-home residents (those ``where`` allows), with their practice's PCN."""
    practice = aliased(Organisation)
    query = (
        select(
            Patient.id,
            Patient.nhs_number,
            Patient.care_home_code,
            practice.parent_code,
            Patient.given_name,
            Patient.family_name,
        )
        .outerjoin(practice, practice.ods_code == Patient.practice_code)
        .where(Patient.care_home_code.is_not(None), Patient.date_of_death.is_(None))
        .order_by(Patient.family_name, Patient.given_name, Patient.id)
    )
    if where is not None:
        query = query.where(where)
    return [
        Resident(pid, nhs, home or "", pcn, f"{given} {family}")
        for pid, nhs, home, pcn, given, family in session.execute(query)
    ]


@dataclass
class MedicineMonth:
    """One medicine of one resident (or, summed, of one home) in one month."""

    home: str
    medicine: str  # the matching key: VMP code when dm+d resolves it, else the code recorded
    name: str
    month: str  # YYYY-MM
    supplied: float = 0.0
    administered: float = 0.0
    returned: float = 0.0
    destroyed: float = 0.0
    unit: str | None = None
    supplies: list[str] = field(default_factory=list)  # evidence: date, quantity, prescription
    supplied_on: list[date] = field(default_factory=list)
    price_pence: float | None = None  # per unit; None: no price

    @property
    def wasted(self) -> float:
        return self.returned + self.destroyed

    @property
    def cost_pence(self) -> float | None:
        return None if self.price_pence is None else self.wasted * self.price_pence


@dataclass
class StopCandidate:
    """A medicine to question before the home's next monthly order, with its evidence."""

    rule: str  # supplied-mostly-unused | prn-not-given-resupplied
    nhs_number: str
    home: str
    medicine: str
    name: str
    summary: str
    evidence: list[str]
    source: str = RULE_SOURCE


class _Keys:
    """dm+d code → matching key (its VMP when the dictionary resolves it), looked up once."""

    def __init__(self, session: Session) -> None:
        self.session, self.cache = session, dict[str, str]()

    def __call__(self, code: str | None, name: str) -> str:
        if not code:
            return f"name:{name.strip().lower()}"
        if code not in self.cache:
            vmp, _vtm = resolve_to_vmp_vtm(self.session, code)
            self.cache[code] = vmp or code
        return self.cache[code]


def resident_months(
    session: Session,
    residents: list[Resident],
    first: date,
    end: date,
    supplies: Iterable[Supplies] | None = None,
) -> dict[tuple[int, str, str], MedicineMonth]:
    """Per (patient id, medicine key, month) from ``first`` up to (not including) ``end``."""
    out: dict[tuple[int, str, str], MedicineMonth] = {}
    if not residents:
        return out
    by_nhs = {r.nhs_number: r for r in residents}
    by_id = {r.patient_id: r for r in residents}
    key = _Keys(session)

    def cell(r: Resident, code: str | None, name: str, when: date | datetime) -> MedicineMonth:
        k = (r.patient_id, key(code, name), month_of(when))
        if k not in out:
            out[k] = MedicineMonth(r.home, k[1], name, k[2])
        return out[k]

    lo = datetime(first.year, first.month, first.day, tzinfo=UTC)
    hi = datetime(end.year, end.month, end.day, tzinfo=UTC)
    for offered in hooks.offered("DISPENSED_SUPPLIES") if supplies is None else supplies:
        for s in offered(session, list(by_nhs), lo, hi):
            m = cell(by_nhs[s.nhs_number], s.code, s.name, s.dispensed_at)
            m.supplied += s.quantity or 0.0
            m.unit = m.unit or s.unit
            qty = f"{s.quantity:g} {s.unit or ''}".strip() if s.quantity else "quantity not given"
            m.supplies.append(f"{s.dispensed_at:%d %b %Y}: {qty} ({s.prescription_id})")
            m.supplied_on.append(s.dispensed_at.date())
    t = AdministrationRow
    given = session.execute(
        select(
            t.patient_id, t.medicine_code, t.medicine_name, t.at, func.coalesce(t.dose_value, 1.0)
        ).where(
            t.patient_id.in_(list(by_id)),
            t.outcome == GIVEN,
            t.at >= lo.replace(tzinfo=None),
            t.at < hi.replace(tzinfo=None),
        )
    )
    for pid, code, name, at, dose in given:
        cell(by_id[pid], code, name, at).administered += dose
    w = MedicineWaste
    for pid, code, name, on, amount, unit, disposal in session.execute(
        select(
            w.patient_id, w.medicine_code, w.medicine_name, w.disposed_on, w.quantity, w.unit,
            w.disposal,
        ).where(w.patient_id.in_(list(by_id)), w.disposed_on >= first, w.disposed_on < end)
    ):  # fmt: skip
        m = cell(by_id[pid], code, name, on)
        m.unit = m.unit or unit
        if disposal == RETURNED:
            m.returned += amount
        else:
            m.destroyed += amount
    prices = unit_prices(session, {m.medicine for m in out.values()})
    for m in out.values():
        if m.medicine in prices:
            m.price_pence = prices[m.medicine].pence
    return out


@dataclass
class EmarHistory:
    """What the eMAR of the ~100 days to a day shows, per resident: the medicines it marks PRN,
    the day each medicine was last given (keys as in :func:`resident_months`) and the day of the
    first dose recorded (a month before it is not covered by the eMAR and is not judged)."""

    prn: dict[int, set[str]] = field(default_factory=dict)
    last_given: dict[tuple[int, str], date] = field(default_factory=dict)
    first: dict[int, date] = field(default_factory=dict)


def emar_history(session: Session, patient_ids: list[int], as_of: date) -> EmarHistory:
    key = _Keys(session)
    t = AdministrationRow
    since = datetime(as_of.year, as_of.month, as_of.day) - HISTORY
    out = EmarHistory()
    for pid, code, name, is_prn, outcome, first, last in session.execute(
        select(
            t.patient_id, t.medicine_code, t.medicine_name, t.prn, t.outcome,
            func.min(t.at), func.max(t.at),
        )
        .where(t.patient_id.in_(patient_ids), t.at >= since)
        .group_by(t.patient_id, t.medicine_code, t.medicine_name, t.prn, t.outcome)
    ):  # fmt: skip
        medicine = key(code, name)
        if is_prn:
            out.prn.setdefault(pid, set()).add(medicine)
        if outcome == GIVEN and out.last_given.get((pid, medicine), date.min) < last.date():
            out.last_given[(pid, medicine)] = last.date()
        if first.date() < out.first.get(pid, date.max):
            out.first[pid] = first.date()
    return out


def by_home(cells: Iterable[MedicineMonth]) -> list[MedicineMonth]:
    """Residents' cells summed per (home, medicine, month), sorted by home, month, name."""
    summed: dict[tuple[str, str, str], MedicineMonth] = {}
    for c in cells:
        k = (c.home, c.medicine, c.month)
        if k not in summed:
            summed[k] = MedicineMonth(c.home, c.medicine, c.name, c.month, unit=c.unit)
            summed[k].price_pence = c.price_pence
        s = summed[k]
        s.supplied += c.supplied
        s.administered += c.administered
        s.returned += c.returned
        s.destroyed += c.destroyed
        s.supplies.extend(c.supplies)
        s.supplied_on.extend(c.supplied_on)
        s.unit = s.unit or c.unit
    return sorted(summed.values(), key=lambda m: (m.home, m.month, m.name.lower()))


@dataclass
class WasteTotal:
    """Waste of a home, a PCN or the ICS over some months: what was recorded and its cost."""

    wasted_items: int = 0  # medicine-months with anything returned or destroyed
    cost_pence: float = 0.0  # priced waste only
    unpriced_items: int = 0  # medicine-months with waste but no dm+d price

    def add(self, m: MedicineMonth) -> None:
        if not m.wasted:
            return
        self.wasted_items += 1
        if m.cost_pence is None:
            self.unpriced_items += 1
        else:
            self.cost_pence += m.cost_pence

    @property
    def cost_pounds(self) -> float:
        return round(self.cost_pence / 100, 2)


def totals(
    cells: dict[tuple[int, str, str], MedicineMonth], residents: list[Resident]
) -> dict[str, dict[str, WasteTotal]]:
    """Waste totals by ``home``, by ``pcn`` (of the resident's practice) and ``ics``."""
    pcn_of = {r.patient_id: r.pcn or "unknown" for r in residents}
    out: dict[str, dict[str, WasteTotal]] = {"home": {}, "pcn": {}, "ics": {}}
    for (pid, _medicine, _month), m in cells.items():
        for level, name in (("home", m.home), ("pcn", pcn_of[pid]), ("ics", "ICS")):
            out[level].setdefault(name, WasteTotal()).add(m)
    return out


def _fmt(value: float) -> str:
    return f"{value:g}"


def stop_ordering(
    cells: dict[tuple[int, str, str], MedicineMonth],
    residents: list[Resident],
    emar: EmarHistory,
    as_of: date,
) -> list[StopCandidate]:
    """The candidates, per resident and medicine (rules in the module docstring):

    * ``supplied-mostly-unused`` — supplied in each of the two complete months before
      ``as_of``'s month with administered below half of supplied in each, judged only when the
      resident's eMAR covers both months (its first dose no later than the first month's first
      day: a home that has just started sending its eMAR is not taken for one that wastes);
    * ``prn-not-given-resupplied`` — a when-required medicine (the eMAR marks it PRN) not given
      in the 28 days to ``as_of`` yet supplied in them."""
    nhs = {r.patient_id: r for r in residents}
    months = months_before(as_of, LOW_USE_MONTHS)
    out: list[StopCandidate] = []
    meds: dict[tuple[int, str], dict[str, MedicineMonth]] = defaultdict(dict)
    for (pid, medicine, month), m in cells.items():
        meds[(pid, medicine)][month] = m
    since = as_of - PRN_IDLE
    for (pid, medicine), by_month in sorted(meds.items(), key=lambda i: (nhs[i[0][0]].home, i[0])):
        r = nhs[pid]
        name = next(iter(by_month.values())).name
        window = [by_month.get(month) for month in months]
        covered = emar.first.get(pid, date.max) <= month_start(months[0])
        if (
            covered
            and all(m is not None and m.supplied > 0 for m in window)
            and all(m.administered < LOW_USE_SHARE * m.supplied for m in window if m is not None)
        ):
            evidence = [
                f"{m.month}: supplied {_fmt(m.supplied)}, given {_fmt(m.administered)}"
                + (f", returned or destroyed {_fmt(m.wasted)}" if m.wasted else "")
                for m in window
                if m is not None
            ]
            out.append(
                StopCandidate(
                    "supplied-mostly-unused",
                    r.nhs_number,
                    r.home,
                    medicine,
                    name,
                    f"Less than half of what was supplied was given in each of {months[0]} and "
                    f"{months[1]}: check the dose and whether to order it this month",
                    evidence,
                )
            )
        if medicine in emar.prn.get(pid, set()):
            given = emar.last_given.get((pid, medicine))
            recent = [
                text
                for m in by_month.values()
                for text, on in zip(m.supplies, m.supplied_on, strict=True)
                if since <= on <= as_of
            ]
            if recent and (given is None or given < since):
                last = f"last given {given:%d %b %Y}" if given else "not given in the record"
                out.append(
                    StopCandidate(
                        "prn-not-given-resupplied",
                        r.nhs_number,
                        r.home,
                        medicine,
                        name,
                        f"When-required medicine not given in 28 days ({last}) but supplied "
                        "again: use the stock held before ordering more",
                        recent,
                    )
                )
    return out


def month_totals(
    session: Session, month: str, home: str | None = None
) -> tuple[int, dict[str, WasteTotal]]:
    """Every home's (or one home's) waste recorded in one calendar month: the number of residents
    and the totals by home (aggregates for the ICS and the plan metric)."""
    people = residents(session, None if home is None else Patient.care_home_code == home)
    first = month_start(month)
    end = (first + timedelta(days=32)).replace(day=1)
    cells = resident_months(session, people, first, end)
    return len(people), totals(cells, people)["home"]
