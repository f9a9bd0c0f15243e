"""Service figures: ONE definition of each, used by the dashboard, the service evaluation, the
plan metrics, the CSV downloads and the API (issue 15 §5).

Every figure is a **count** or a **time total**, so the figures of any grouping (pharmacy, PCN,
place, ICB; one service or all; a month or a year) are sums of the figures below it, and rates
are derived last (:func:`derive`): the figures of each service add up to all services by
construction, and ``tests/referrals/test_service_figures.py`` checks it on a real store.

Counts, over referrals to a pharmacy service *created* in the month (the month they count in;
the escalation a pharmacy sends on is counted as ``referred_on``, not as a referral):

* ``referrals`` — every referral; ``accepted`` — accepted by a pharmacy at some point;
  ``closed`` — no longer open; ``completed`` — outcome recorded;
* ``completed_in_time`` — completed by its ``due_by`` deadline (the service's deadline,
  ``referrals/catalogue.py``);
* ``consultations`` — completed with a consultation outcome (supplied, no supply, advice, referred
  on), plus the Pharmacy First walk-in consultations (no referral) the ``pharmacyfirst`` domain
  offers as ``PHARMACY_FIRST_CONSULTATIONS``;
* ``items_supplied`` — items supplied. A referral outcome records no item lines, so a "supplied"
  referral counts as one item; where a Pharmacy First consultation records item lines, they
  replace that one item (:func:`consultation_records`);
* ``no_supply`` — items not supplied, one per "no supply" outcome, with ``no_supply:<reason>``
  counts in the one vocabulary (:class:`ipmo.referrals.NoSupplyReason`);
* ``advice_given``; ``referred_on`` (onward referrals: to the GP, NHS 111 or urgent care);
  ``escalated`` — re-routed or returned at least once before anyone accepted;
* ``nhs111_urgent`` — urgent repeat medicine requests from NHS 111; of them
  ``nhs111_urgent_to_pharmacy`` (accepted by a pharmacy) and ``nhs111_urgent_returned`` (returned
  to NHS 111 unaccepted: the caller goes to GP out of hours) — the **channel shift**.

Time totals: ``minutes_to_accept_total`` (over ``accepted``), ``minutes_to_complete_total`` (over
``completed``) — the time to action.

Derived (:func:`derive`): ``completion_rate`` = completed ÷ closed; ``completed_in_time_rate`` =
completed_in_time ÷ completed; ``no_supply_share`` = no_supply ÷ (items_supplied + no_supply),
the NUMSAS evaluation's "share of items not supplied"; ``mean_minutes_to_accept`` /
``_to_complete``; ``channel_shift_to_pharmacy`` = nhs111_urgent_to_pharmacy ÷ nhs111_urgent and
``channel_shift_returned`` = nhs111_urgent_returned ÷ nhs111_urgent.

The counting is one SQL ``GROUP BY`` (SQLAlchemy Core, so SQLite, PostgreSQL and DuckDB run the
same statement: ``bench/bench_service_figures.py``); the grouping above the organisation a row is
keyed by is done by the caller from the organisation tree (a few hundred rows a month).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Float, Select, and_, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from ipmo import hooks
from ipmo.organisations import Organisation, OrgKind, PharmacyService
from ipmo.patients.models import Patient
from ipmo.referrals.lifecycle import CLOSED, NoSupplyReason, Outcome, Status
from ipmo.referrals.models import Referral
from ipmo.web.downloads import csv_text

PHARMACY_SERVICES = [s.value for s in PharmacyService]
NO_SUPPLY_KEYS = tuple(f"no_supply:{r.value}" for r in NoSupplyReason)
COUNTS = (
    "referrals",
    "accepted",
    "closed",
    "completed",
    "completed_in_time",
    "consultations",
    "items_supplied",
    "no_supply",
    "advice_given",
    "referred_on",
    "escalated",
    "nhs111_urgent",
    "nhs111_urgent_to_pharmacy",
    "nhs111_urgent_returned",
)
TOTALS = ("minutes_to_accept_total", "minutes_to_complete_total")
ADDITIVE = (*COUNTS, *TOTALS, *NO_SUPPLY_KEYS)
DERIVED = (
    "completion_rate",
    "completed_in_time_rate",
    "no_supply_share",
    "mean_minutes_to_accept",
    "mean_minutes_to_complete",
    "channel_shift_to_pharmacy",
    "channel_shift_returned",
)
KEYS = ("pharmacy", "practice")  # what a count row is keyed by
GROUPINGS = ("pharmacy", "pcn", "place", "icb")
CONSULTATION_OUTCOMES = (
    Outcome.SUPPLIED,
    Outcome.NO_SUPPLY,
    Outcome.ADVICE_GIVEN,
    Outcome.REFERRED_ON,
)


class minutes_between(FunctionElement):  # noqa: N801 - an SQL function, named like one
    """Minutes from the first timestamp to the second, in each engine's own words."""

    type = Float()
    inherit_cache = True


@compiles(minutes_between)
def _minutes_default(element, compiler, **kw) -> str:  # PostgreSQL, DuckDB
    a, b = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({b} - {a})) / 60.0)"


@compiles(minutes_between, "sqlite")
def _minutes_sqlite(element, compiler, **kw) -> str:
    a, b = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({b}) - julianday({a})) * 1440.0)"


def _n(condition: ColumnElement[bool]) -> ColumnElement[int]:
    # COUNT(*) FILTER (WHERE …): SQL:2003, in SQLite ≥ 3.30, PostgreSQL and DuckDB; on DuckDB
    # markedly faster than SUM(CASE …) over thirty figures
    return func.count().filter(condition)


def _counting_columns() -> list[ColumnElement]:
    r = Referral
    outcome = r.business_status
    completed = r.status == Status.COMPLETED.value
    urgent_111 = and_(r.sender_kind == OrgKind.NHS111.value, r.service == "urgent-repeat-supply")
    cols: list[ColumnElement] = [
        func.count().label("referrals"),
        _n(r.accepted_at.is_not(None)).label("accepted"),
        _n(r.status.in_([s.value for s in CLOSED])).label("closed"),
        _n(completed).label("completed"),
        _n(and_(completed, r.completed_at <= r.due_by)).label("completed_in_time"),
        _n(and_(completed, outcome.in_([o.value for o in CONSULTATION_OUTCOMES]))).label(
            "consultations"
        ),
        _n(outcome == Outcome.SUPPLIED.value).label("items_supplied"),
        _n(outcome == Outcome.NO_SUPPLY.value).label("no_supply"),
        _n(outcome == Outcome.ADVICE_GIVEN.value).label("advice_given"),
        _n(outcome == Outcome.REFERRED_ON.value).label("referred_on"),
        _n(r.escalations > 0).label("escalated"),
        _n(urgent_111).label("nhs111_urgent"),
        _n(and_(urgent_111, r.accepted_at.is_not(None))).label("nhs111_urgent_to_pharmacy"),
        _n(and_(urgent_111, outcome == Outcome.RETURNED.value)).label("nhs111_urgent_returned"),
        func.coalesce(func.sum(minutes_between(r.created_at, r.accepted_at)), 0.0).label(
            "minutes_to_accept_total"
        ),
        func.coalesce(
            func.sum(case((completed, minutes_between(r.created_at, r.completed_at)))), 0.0
        ).label("minutes_to_complete_total"),
    ]
    for reason, key in zip(NoSupplyReason, NO_SUPPLY_KEYS, strict=True):
        cols.append(
            _n(and_(outcome == Outcome.NO_SUPPLY.value, r.outcome_reason == reason.value)).label(
                key
            )
        )
    return cols


def counting_query(
    key: str = "pharmacy", since: datetime | None = None, until: datetime | None = None
) -> Select:
    """The one statement: counts per service × month × organisation (the receiving pharmacy, or
    the patient's practice for ``key="practice"``). Month is ``year * 100 + month``."""
    if key not in KEYS:
        raise ValueError(f"key must be one of {', '.join(KEYS)}")
    org = Referral.target_org_code if key == "pharmacy" else Referral.practice_code
    month = (
        func.extract("year", Referral.created_at) * 100 + func.extract("month", Referral.created_at)
    ).label("month")
    q = select(Referral.service, org.label("org_code"), month, *_counting_columns()).where(
        Referral.service.in_(PHARMACY_SERVICES)  # an onward (escalation) referral is not one
    )
    if since is not None:
        q = q.where(Referral.created_at >= since)
    if until is not None:
        q = q.where(Referral.created_at < until)
    return q.group_by(Referral.service, org, month)


def rows_from(result: Iterable[Mapping[str, Any]] | Any) -> list[dict]:
    """Result rows → count records ``{service, org_code, month (date), <ADDITIVE>…}`` (COUNT …
    FILTER is a whole number on every engine; only the month and the time totals are converted)."""
    out = []
    for row in result:
        r = dict(row)
        ym = int(r["month"])
        r["month"] = date(ym // 100, ym % 100, 1)
        for c in TOTALS:  # julianday arithmetic on SQLite is off by microseconds
            r[c] = round(float(r[c] or 0), 3)
        out.append(r)
    return out


def service_counts(
    session: Session,
    key: str = "pharmacy",
    since: date | None = None,
    until: date | None = None,
) -> list[dict]:
    """Count records per service × month × organisation from the store, plus the Pharmacy First
    consultations another domain offers as ``PHARMACY_FIRST_CONSULTATIONS`` (one row per
    consultation, no patient identifiers): see :func:`consultation_records`."""
    start = datetime.combine(since, datetime.min.time()) if since else None
    end = datetime.combine(until, datetime.min.time()) if until else None
    records = rows_from(session.execute(counting_query(key, start, end)).mappings())
    for offered in hooks.offered("PHARMACY_FIRST_CONSULTATIONS"):
        rows = [
            c
            for c in offered(session)
            if (since is None or c["consulted_on"] >= since)
            and (until is None or c["consulted_on"] < until)
        ]
        records.extend(consultation_records(rows, key))
    return records


CONSULTATION_SERVICE = {
    "clinical-pathway": "pharmacy-first",
    "urgent-supply": "urgent-repeat-supply",
}


def consultation_records(rows: Iterable[Mapping[str, Any]], key: str = "pharmacy") -> list[dict]:
    """Pharmacy First consultation rows → count records, without counting anything twice:

    * a **walk-in** (no referral) adds a consultation (when completed) with its outcome, items
      supplied and not supplied, and no-supply reason — and no referral;
    * a consultation **for a referral** is already counted through the referral's outcome as one
      item; it adds only the difference its item lines make (an urgent supply of three items,
      two supplied: +1 supplied, +1 not supplied)."""
    out = []
    for c in rows:
        if c["status"] != "completed":
            continue
        outcome = c["outcome"]
        supplied, not_supplied = int(c["items_supplied"]), int(c["items_not_supplied"])
        if outcome == Outcome.SUPPLIED and not supplied:
            supplied = 1  # a supply recorded without item lines is one item
        if outcome == Outcome.NO_SUPPLY and not not_supplied:
            not_supplied = 1
        r = empty()
        if c["referral_reference"] is None:
            r |= {
                "consultations": 1,
                "completed": 1,
                "closed": 1,
                "advice_given": int(outcome == Outcome.ADVICE_GIVEN),
                "referred_on": int(outcome == Outcome.REFERRED_ON),
            }
            if c["no_supply_reason"]:
                r[f"no_supply:{c['no_supply_reason']}"] = not_supplied
        else:  # the referral counted one item for its outcome
            supplied -= int(outcome == Outcome.SUPPLIED)
            not_supplied -= int(outcome == Outcome.NO_SUPPLY)
            if c["no_supply_reason"] and not_supplied:
                r[f"no_supply:{c['no_supply_reason']}"] = not_supplied
        r |= {"items_supplied": supplied, "no_supply": not_supplied}
        if not any(r.values()):
            continue
        r = {k: v for k, v in r.items() if k in ADDITIVE}  # a reason outside the vocabulary
        month = c["consulted_on"]
        out.append(
            {
                "service": CONSULTATION_SERVICE.get(c["kind"], "pharmacy-first"),
                "org_code": c["org_code"] if key == "pharmacy" else c["practice_code"],
                "month": date(month.year, month.month, 1),
                **empty(),
                **r,
            }
        )
    return out


def empty() -> dict[str, float]:
    return dict.fromkeys(ADDITIVE, 0)


def add(into: dict, record: Mapping[str, Any]) -> dict:
    for c in ADDITIVE:
        into[c] = into.get(c, 0) + (record.get(c) or 0)
    return into


def _share(part: float, whole: float, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole else None


def derive(counts: Mapping[str, Any]) -> dict[str, Any]:
    """The rates and means of one group's additive figures (see the module docstring)."""
    items = counts["items_supplied"] + counts["no_supply"]
    return {
        "completion_rate": _share(counts["completed"], counts["closed"]),
        "completed_in_time_rate": _share(counts["completed_in_time"], counts["completed"]),
        "no_supply_share": _share(counts["no_supply"], items),
        "mean_minutes_to_accept": _share(counts["minutes_to_accept_total"], counts["accepted"], 1),
        "mean_minutes_to_complete": _share(
            counts["minutes_to_complete_total"], counts["completed"], 1
        ),
        "channel_shift_to_pharmacy": _share(
            counts["nhs111_urgent_to_pharmacy"], counts["nhs111_urgent"]
        ),
        "channel_shift_returned": _share(counts["nhs111_urgent_returned"], counts["nhs111_urgent"]),
        "no_supply_reasons": {
            k.split(":", 1)[1]: counts[k] for k in NO_SUPPLY_KEYS if counts.get(k)
        },
    }


def _month_bounds(month: str) -> tuple[date, date]:
    try:
        start = datetime.strptime(month, "%Y-%m").date()
    except ValueError:
        raise ValueError(f"month must look like 2026-10, not {month!r}") from None
    end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start, end


def _group_of(parents: Mapping[str, str | None], kinds: Mapping[str, str], by: str):
    """org code → the code of its ``by`` group (walking up the organisation tree)."""
    wanted = {"pharmacy": None, "pcn": OrgKind.PCN, "place": OrgKind.PLACE, "icb": OrgKind.ICB}[by]

    def group(code: str | None) -> str:
        if code is None:
            return "none"
        if wanted is None:
            return code
        seen = 0
        while code is not None and seen < 10:
            if kinds.get(code) == wanted:
                return code
            code, seen = parents.get(code), seen + 1
        return "none"

    return group


def activity_figures(
    session: Session, by: str = "pharmacy", month: str | None = None, service: str | None = None
) -> list[dict]:
    """One row per group (largest first): the additive counts, the derived figures and the
    group's name. PCN figures follow the patient's practice; the others the receiving pharmacy.
    ``month`` is "YYYY-MM" (default: all time); ``service`` one service (default: all)."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}")
    since, until = _month_bounds(month) if month else (None, None)
    records = service_counts(session, "practice" if by == "pcn" else "pharmacy", since, until)
    orgs = session.execute(
        select(
            Organisation.ods_code, Organisation.parent_code, Organisation.kind, Organisation.name
        )
    ).all()
    group = _group_of({o[0]: o[1] for o in orgs}, {o[0]: o[2] for o in orgs}, by)
    names = {o[0]: o[3] for o in orgs}
    groups: dict[str, dict] = defaultdict(empty)
    by_service: dict[str, dict[str, int]] = defaultdict(dict)
    for r in records:
        if service and r["service"] != service:
            continue
        key = group(r["org_code"])
        add(groups[key], r)
        by_service[key][r["service"]] = by_service[key].get(r["service"], 0) + r["referrals"]
    out = [
        {
            "group": key,
            "name": names.get(key),
            **{c: g[c] for c in (*COUNTS, *TOTALS)},
            **derive(g),
            "by_service": by_service[key],
        }
        for key, g in groups.items()
    ]
    out.sort(key=lambda g: (-g["referrals"], g["group"]))
    return out


def referral_leakage(
    session: Session, since: date, until: date, service: str = "pharmacy-first"
) -> list[dict]:
    """Practices that refer little against their list size and the pharmacy capacity near them
    (the Pharmacy First first-year finding: 69% of GP referrals came from 7% of surgeries).

    Per practice: GP referrals sent in ``[since, until)``, registered patients (the store's
    patients), referrals per 1,000 patients, the ICS rate, the referrals expected at the ICS rate,
    the shortfall, and the pharmacies offering ``service`` in the practice's place (capacity).
    Sorted by shortfall, largest first; ``low`` marks a practice below half the ICS rate while
    pharmacies nearby offer the service."""
    start = datetime.combine(since, datetime.min.time())
    end = datetime.combine(until, datetime.min.time())
    sent = dict(
        session.execute(
            select(Referral.sender_org_code, func.count())
            .where(
                Referral.sender_kind == OrgKind.PRACTICE.value,
                Referral.service == service,
                Referral.created_at >= start,
                Referral.created_at < end,
            )
            .group_by(Referral.sender_org_code)
        ).all()
    )
    patients = dict(
        session.execute(
            select(Patient.practice_code, func.count()).group_by(Patient.practice_code)
        ).all()
    )
    orgs = session.scalars(select(Organisation).where(Organisation.active.is_(True))).all()
    parents = {o.ods_code: o.parent_code for o in orgs}
    kinds = {o.ods_code: o.kind for o in orgs}
    place_of = _group_of(parents, kinds, "place")
    capacity: dict[str, int] = defaultdict(int)
    for o in orgs:
        if o.kind == OrgKind.PHARMACY and service in (o.services or []):
            capacity[place_of(o.ods_code)] += 1
    practices = [o for o in orgs if o.kind == OrgKind.PRACTICE]
    total_sent = sum(sent.get(p.ods_code, 0) for p in practices)
    total_patients = sum(patients.get(p.ods_code, 0) for p in practices)
    ics_rate = total_sent / total_patients * 1000 if total_patients else None
    out: list[dict[str, Any]] = []
    for p in practices:
        n, listed = sent.get(p.ods_code, 0), patients.get(p.ods_code, 0)
        rate = n / listed * 1000 if listed else None
        expected = ics_rate * listed / 1000 if ics_rate is not None else None
        nearby = capacity.get(place_of(p.ods_code), 0)
        out.append(
            {
                "practice": p.ods_code,
                "name": p.name,
                "referrals": n,
                "patients": listed,
                "per_1000": round(rate, 2) if rate is not None else None,
                "ics_per_1000": round(ics_rate, 2) if ics_rate is not None else None,
                "expected": round(expected, 1) if expected is not None else None,
                "shortfall": round(max(expected - n, 0.0), 1) if expected is not None else None,
                "pharmacies_nearby": nearby,
                "low": bool(rate is not None and ics_rate and rate < ics_rate / 2 and nearby > 0),
            }
        )
    out.sort(key=lambda r: (-(r["shortfall"] or 0), r["practice"]))
    return out


def figures_csv(rows: list[dict]) -> str:
    """:func:`activity_figures` rows as CSV: codes and names, counts, derived figures, and the
    no-supply reasons and services as ``key=n;…``."""
    columns = ["group", "name", *COUNTS, *TOTALS, *DERIVED, "no_supply_reasons", "by_service"]
    flat = [
        r
        | {
            f: ";".join(f"{k}={v}" for k, v in r[f].items())
            for f in ("no_supply_reasons", "by_service")
        }
        for r in rows
    ]
    return csv_text(flat, columns, lineterminator="\n")
