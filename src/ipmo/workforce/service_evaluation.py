"""Service evaluation: per service, area and month — referrals, completions, items supplied, "no
supply" share and reasons, time to accept and complete, escalations, satisfaction and where
patients would otherwise have gone.

The figures the NHS England Pharmacy First / CPCS evaluation slides report, from two sources:
the referrals domain's activity figures (offered in its ``hooks.py``) and monthly figures imported
from CSV for services run elsewhere (layout in ``workforce/README.md``). Times are combined as
totals over counts so means stay correct when summed over pharmacies and months.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo import hooks
from ipmo.limits import CheckedDictReader
from ipmo.organisations import Organisation, OrgKind, PharmacyService
from ipmo.referrals import NoSupplyReason
from ipmo.web.downloads import csv_text
from ipmo.workforce.geography import Geography, load_geography
from ipmo.workforce.models import ServiceActivity

N = TypeVar("N", int, float)
BY_LEVELS = ("pharmacy", "pcn", "place", "ics")
COUNT_COLUMNS = (
    "referrals",
    "completed",
    "accepted",
    "items_supplied",
    "no_supply",
    "escalations",
    "survey_responses",
    "satisfied",
)
ACTIVITY_COLUMNS = (
    "service",
    "organisation_code",
    "month",
    *COUNT_COLUMNS,
    "mean_hours_to_accept",
    "mean_hours_to_complete",
    "no_supply_reasons",
    "otherwise",
)
# Outcome questionnaire: "If this service had not been available, where would you have gone?"
# (NHS England Pharmacy First patient questionnaire answer options).
OTHERWISE = (
    "gp_in_hours",
    "gp_out_of_hours",
    "a_and_e",
    "nhs111",
    "other_pharmacy",
    "nothing",
    "other",
)
OTHERWISE_LABELS = {
    "gp_in_hours": "GP (in hours)",
    "gp_out_of_hours": "GP (out of hours)",
    "a_and_e": "A&E",
    "nhs111": "NHS 111",
    "other_pharmacy": "Another pharmacy",
    "nothing": "Nothing / self-care",
    "other": "Other",
}
_OUTSIDE = {"pcn": "Not in a PCN", "place": "Not in a place", "pharmacy": "-", "ics": "ICS"}
# the one no-supply vocabulary (referral outcomes use it too): an import names these codes
NO_SUPPLY_REASONS = tuple(r.value for r in NoSupplyReason)
_KEY = re.compile(r"^[a-z0-9_-]{1,40}$")


class ActivityImportError(ValueError):
    """Bad service figures; the message names the CSV line."""


def _counts(text: str, line: int, column: str, allowed: Iterable[str] | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not _KEY.match(key) or (allowed is not None and key not in allowed):
            known = f"; known: {', '.join(allowed)}" if allowed is not None else ""
            raise ActivityImportError(
                f"line {line}: {column} part {part!r} is not key=count{known}"
            )
        try:
            n = int(value)
        except ValueError:
            raise ActivityImportError(
                f"line {line}: {column} count {value!r} is not a number"
            ) from None
        if n < 0:
            raise ActivityImportError(f"line {line}: {column} count for {key} is negative")
        out[key] = out.get(key, 0) + n
    return out


def _non_negative(
    get: Mapping[str, str], column: str, kind: Callable[[str], N], what: str, line: int
) -> N:
    """``column`` of the row as ``kind`` (int or float), blank as 0; not ``what`` or negative →
    ActivityImportError naming the line and column."""
    try:
        value = kind(get[column] or "0")
    except ValueError:
        raise ActivityImportError(f"line {line}: {column} {get[column]!r} is not {what}") from None
    if value < 0:
        raise ActivityImportError(f"line {line}: {column} is negative")
    return value


def parse_activity_row(row: Mapping[str, str], line: int, orgs: set[str]) -> dict:
    """One CSV row → a dict of ServiceActivity fields, or a one-line error naming the line."""
    get = {k: (row.get(k) or "").strip() for k in ACTIVITY_COLUMNS}
    service = get["service"]
    if service not in PharmacyService.__members__.values():
        raise ActivityImportError(
            f"line {line}: unknown service {service!r}; known: {', '.join(PharmacyService)}"
        )
    if get["organisation_code"] not in orgs:
        raise ActivityImportError(f"line {line}: unknown organisation {get['organisation_code']!r}")
    try:
        month = date.fromisoformat(get["month"][:7] + "-01")
    except ValueError:
        raise ActivityImportError(f"line {line}: month {get['month']!r} is not YYYY-MM") from None
    counts = {c: _non_negative(get, c, int, "a whole number", line) for c in COUNT_COLUMNS}
    hours = {
        c: _non_negative(get, c, float, "a number", line)
        for c in ("mean_hours_to_accept", "mean_hours_to_complete")
    }
    for part, whole in (
        ("completed", "referrals"),
        ("accepted", "referrals"),
        ("no_supply", "completed"),
        ("satisfied", "survey_responses"),
    ):
        if counts[part] > counts[whole]:
            raise ActivityImportError(f"line {line}: {part} ({counts[part]}) exceeds {whole}")
    reasons = _counts(get["no_supply_reasons"], line, "no_supply_reasons", NO_SUPPLY_REASONS)
    if reasons and sum(reasons.values()) != counts["no_supply"]:
        raise ActivityImportError(
            f"line {line}: no_supply_reasons add up to {sum(reasons.values())}, "
            f"not no_supply ({counts['no_supply']})"
        )
    otherwise = _counts(get["otherwise"], line, "otherwise", OTHERWISE)
    if sum(otherwise.values()) > counts["survey_responses"]:
        raise ActivityImportError(f"line {line}: otherwise answers exceed survey_responses")
    return {
        "service": service,
        "org_code": get["organisation_code"],
        "month": month,
        **counts,
        "hours_to_accept_total": hours["mean_hours_to_accept"] * counts["accepted"],
        "hours_to_complete_total": hours["mean_hours_to_complete"] * counts["completed"],
        "no_supply_reasons": reasons,
        "otherwise": otherwise,
    }


def import_activity(session: Session, text: str) -> int:
    """Validate every row, then write (a repeated service × organisation × month replaces)."""
    reader = CheckedDictReader(text.lstrip("\ufeff"))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in ACTIVITY_COLUMNS[:5] if c not in header]
    if missing:
        raise ActivityImportError(f"line 1: missing column(s): {', '.join(missing)}")
    reader.fieldnames = header
    orgs = set(session.scalars(select(Organisation.ods_code)))
    rows: list[dict] = []
    seen: dict[tuple, int] = {}
    for raw in reader:
        r = parse_activity_row(raw, reader.line_num, orgs)
        key = (r["service"], r["org_code"], r["month"])
        if key in seen:
            raise ActivityImportError(
                f"line {reader.line_num}: repeats the service, organisation and month of line "
                f"{seen[key]}"
            )
        seen[key] = reader.line_num
        rows.append(r)
    for r in rows:
        current = (
            session.scalar(
                select(ServiceActivity).filter_by(
                    service=r["service"], org_code=r["org_code"], month=r["month"]
                )
            )
            or ServiceActivity()
        )
        for k, v in r.items():
            setattr(current, k, v)
        session.add(current)
    session.flush()
    return len(rows)


LIVE_COUNTS = (
    "completed_in_time",
    "deadline_judged",
    "consultations",
    "referred_on",
    "nhs111_urgent",
    "nhs111_urgent_to_pharmacy",
    "nhs111_urgent_returned",
)  # figures only the live referral data carries (an imported row adds 0 to each)
ALL_SERVICES = "all-services"


def _live_records(session: Session, key: str, since: date) -> list[dict]:
    """The referrals domain's count records (``SERVICE_FIGURE_COUNTS`` in its hooks.py; none when
    no domain offers them) in this module's record shape. They are the ONE definition of the
    service figures (``ipmo/referrals/figures.py``): counts and time totals, so they add up."""
    out = []
    for fn in hooks.offered("SERVICE_FIGURE_COUNTS"):
        for r in fn(session, key=key, since=since):
            if r["org_code"] is None:
                continue  # never sent to a pharmacy (or no registered practice): no area
            reasons = {
                k.split(":", 1)[1]: n for k, n in r.items() if k.startswith("no_supply:") and n
            }
            out.append(
                {
                    "service": r["service"],
                    "org_code": r["org_code"],
                    "month": r["month"],
                    **{c: int(r.get(c) or 0) for c in COUNT_COLUMNS},
                    "escalations": int(r["escalated"]),
                    **{c: int(r.get(c) or 0) for c in LIVE_COUNTS},
                    "deadline_judged": int(r["completed"]),
                    "hours_to_accept_total": r["minutes_to_accept_total"] / 60,
                    "hours_to_complete_total": r["minutes_to_complete_total"] / 60,
                    "no_supply_reasons": reasons,
                    "otherwise": {},
                }
            )
    return out


def _imported(session: Session) -> list[dict]:
    out = []
    for a in session.scalars(select(ServiceActivity)):
        out.append(
            {
                "service": a.service,
                "org_code": a.org_code,
                "month": a.month,
                **{c: getattr(a, c) for c in COUNT_COLUMNS},
                "hours_to_accept_total": a.hours_to_accept_total,
                "hours_to_complete_total": a.hours_to_complete_total,
                "no_supply_reasons": dict(a.no_supply_reasons or {}),
                "otherwise": dict(a.otherwise or {}),
            }
        )
    return out


def _group(geo: Geography, org_code: str, by: str) -> str:
    if by == "pharmacy":
        return org_code
    if by == "ics":
        icb = geo.icb()
        return icb.code if icb else "ICS"
    kind = OrgKind.PCN if by == "pcn" else OrgKind.PLACE
    return geo.ancestor(org_code, kind) or "-"


def roll_up(records: Iterable[dict], geo: Geography, by: str) -> list[dict]:
    """Sum pharmacy-month records to ``by`` × service × month and derive shares and means."""
    if by not in BY_LEVELS:
        raise ValueError(f"unknown level {by!r}; use one of {', '.join(BY_LEVELS)}")
    groups: dict[tuple[str, str, date], dict] = {}
    for r in records:
        key = (r["service"], _group(geo, r["org_code"], by), r["month"])
        g = groups.setdefault(
            key,
            {c: 0 for c in (*COUNT_COLUMNS, *LIVE_COUNTS)}
            | {
                "hours_to_accept_total": 0.0,
                "hours_to_complete_total": 0.0,
                "no_supply_reasons": {},
                "otherwise": {},
            },
        )
        for c in (*COUNT_COLUMNS, "hours_to_accept_total", "hours_to_complete_total"):
            g[c] += r[c]
        for c in LIVE_COUNTS:
            g[c] += r.get(c, 0)
        for field in ("no_supply_reasons", "otherwise"):
            for k, v in r[field].items():
                g[field][k] = g[field].get(k, 0) + v
    out = []
    for (service, group, month), g in sorted(groups.items()):
        org = geo.orgs.get(group)
        out.append(
            {
                "service": service,
                "group": group,
                "group_name": org.name if org else (_OUTSIDE[by] if group == "-" else group),
                "month": month.strftime("%Y-%m"),
                **{c: g[c] for c in COUNT_COLUMNS},
                **{c: g[c] for c in LIVE_COUNTS if c != "deadline_judged"},
                # items not supplied ÷ items asked for: the definition of ipmo/referrals/figures.py
                "no_supply_share": _share(g["no_supply"], g["items_supplied"] + g["no_supply"]),
                "completed_in_time_rate": _share(g["completed_in_time"], g["deadline_judged"]),
                "channel_shift_to_pharmacy": _share(
                    g["nhs111_urgent_to_pharmacy"], g["nhs111_urgent"]
                ),
                "channel_shift_returned": _share(g["nhs111_urgent_returned"], g["nhs111_urgent"]),
                "no_supply_reasons": dict(sorted(g["no_supply_reasons"].items())),
                "completion_rate": _share(g["completed"], g["referrals"]),
                "mean_hours_to_accept": _share(g["hours_to_accept_total"], g["accepted"]),
                "mean_hours_to_complete": _share(g["hours_to_complete_total"], g["completed"]),
                "satisfaction": _share(g["satisfied"], g["survey_responses"]),
                "otherwise": {k: g["otherwise"].get(k, 0) for k in OTHERWISE},
            }
        )
    return out


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def evaluation(
    session: Session,
    by: str = "place",
    service: str | None = None,
    on: date | None = None,
    months: int = 12,
    all_services: bool = False,
) -> list[dict]:
    """Figures per ``by`` area × service × month over the ``months`` up to ``on`` (today by
    default). ``all_services`` adds rows for service ``"all-services"``: the sums of the
    services' rows (so they add up by construction; tested)."""
    on = on or date.today()
    since = _first_of_month_back(on, months)
    live = _live_records(session, "pharmacy", since)
    # imported figures are for services run elsewhere: where the referrals module has the same
    # service, organisation and month, its live figures win (no double counting)
    seen = {(r["service"], r["org_code"], r["month"]) for r in live}
    records = [
        r for r in _imported(session) if (r["service"], r["org_code"], r["month"]) not in seen
    ]
    # PCN figures follow the patient's practice (a pharmacy is in no PCN): live records keyed so
    records += _live_records(session, "practice", since) if by == "pcn" else live
    if service:
        records = [r for r in records if r["service"] == service]
    if all_services:
        records += [r | {"service": ALL_SERVICES} for r in records]
    return roll_up(records, load_geography(session), by)


def _first_of_month_back(on: date, months: int) -> date:
    y, m = on.year, on.month - (months - 1)
    while m < 1:
        y, m = y - 1, m + 12
    return date(y, m, 1)


def to_csv(rows: list[dict]) -> str:
    """Flat CSV: reasons and "otherwise" answers as ``key=n;…`` like the import layout."""
    columns = [
        "service",
        "group",
        "group_name",
        "month",
        *COUNT_COLUMNS,
        *(c for c in LIVE_COUNTS if c != "deadline_judged"),
        "no_supply_share",
        "completion_rate",
        "completed_in_time_rate",
        "channel_shift_to_pharmacy",
        "channel_shift_returned",
        "mean_hours_to_accept",
        "mean_hours_to_complete",
        "satisfaction",
        "no_supply_reasons",
        "otherwise",
    ]
    flat = [
        r | {f: ";".join(f"{k}={v}" for k, v in r[f].items() if v) for f in _KEYED_COUNTS}
        for r in rows
    ]
    return csv_text(flat, columns, lineterminator="\n")


_KEYED_COUNTS = ("no_supply_reasons", "otherwise")
