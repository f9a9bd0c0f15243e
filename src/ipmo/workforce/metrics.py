"""Workforce and service figures as plan metrics (``workforce.*`` and ``services.*``).

A metric's series is computed from the live registry at each month end, so a plan's trend moves
as posts are filled, split or ended. Limits, said here so the report can say them too: registered
patients are today's count (there is no list-size history in the store), and a person's
independent-prescriber status is their current one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from ipmo.organisations import OrgKind, PharmacyService
from ipmo.plans import BadScope, Metric, UnknownMetric
from ipmo.workforce.geography import load_geography
from ipmo.workforce.service_evaluation import ALL_SERVICES, BY_LEVELS, evaluation
from ipmo.workforce.staffing import Row, load_posts, rotations, summarise


@dataclass(frozen=True)
class _Figure:
    title: str
    unit: str
    better: str
    value: Callable[[Row], float | None]


def _pct(v: float | None) -> float | None:
    return None if v is None else round(v * 100, 2)


WORKFORCE: dict[str, _Figure] = {
    "wte_per_10k": _Figure(
        "Pharmacy WTE in post per 10,000 registered patients", "", "up", lambda r: r.wte_per_10k
    ),
    "pharmacist_wte_per_10k": _Figure(
        "Pharmacist WTE per 10,000 registered patients",
        "",
        "up",
        lambda r: r.pharmacist_wte / r.patients * 10_000 if r.patients else None,
    ),
    "ip_coverage": _Figure(
        "Share of pharmacist WTE held by independent prescribers",
        "%",
        "up",
        lambda r: _pct(r.ip_coverage),
    ),
    "vacancy_rate": _Figure(
        "Vacant WTE as a share of funded WTE", "%", "down", lambda r: _pct(r.vacancy_rate)
    ),
    "in_post_wte": _Figure("Pharmacy WTE in post", " WTE", "up", lambda r: r.in_post_wte),
    "technician_wte": _Figure(
        "Pharmacy technician WTE in post", " WTE", "up", lambda r: r.technician_wte
    ),
}
EXTRA = {"rotational_posts": _Figure("Rotational / split posts in place", "", "up", lambda r: None)}


def month_ends(on: date, months: int) -> list[date]:
    """The last ``months`` month ends up to ``on`` (``on`` itself stands for the current month)."""
    out = [on]
    y, m = on.year, on.month
    for _ in range(months - 1):
        out.append(date(y, m, 1) - timedelta(days=1))
        y, m = out[-1].year, out[-1].month
    return out[::-1]


class WorkforceMetrics:
    prefix = "workforce"

    def metric(self, session: Session, name: str) -> Metric:
        fig = WORKFORCE.get(name) or EXTRA.get(name)
        if fig is None:
            raise UnknownMetric(f"workforce.{name}")
        return Metric(f"workforce.{name}", fig.title, fig.unit, fig.better, "workforce registry")

    def catalogue(self, session: Session) -> list[Metric]:
        return [self.metric(session, n) for n in [*WORKFORCE, *EXTRA]]

    def series(
        self, session: Session, name: str, scope: str | None, on: date, months: int
    ) -> list[tuple[date, float]]:
        self.metric(session, name)
        posts, geo = load_posts(session), load_geography(session)
        by = "place"
        if scope is not None:
            org = geo.orgs.get(scope)
            if org is None or org.kind not in (OrgKind.PCN, OrgKind.PLACE, OrgKind.ICB):
                raise BadScope(f"scope {scope!r} must be a PCN, place or ICB code")
            by = "pcn" if org.kind == OrgKind.PCN else "place"
            if org.kind == OrgKind.ICB:
                scope = None
        out = []
        for day in month_ends(on, months):
            if name == "rotational_posts":
                out.append((day, float(len(rotations(posts, day)))))
                continue
            rows, total = summarise(posts, geo, by=by, on=day)
            row = total if scope is None else next((r for r in rows if r.key == scope), None)
            value = WORKFORCE[name].value(row) if row is not None else None
            if value is not None:
                out.append((day, round(value, 3)))
        return out


SERVICE_FIGURES = {
    "referrals": ("Referrals", "", "up"),
    "completed": ("Completed referrals", "", "up"),
    "consultations": ("Consultations", "", "up"),
    "items_supplied": ("Items supplied", "", "up"),
    "no_supply_share": ("Share of items not supplied", "%", "down"),
    "completion_rate": ("Completed as a share of referrals", "%", "up"),
    "completed_in_time_rate": ("Completed within the service deadline", "%", "up"),
    "referred_on": ("Onward referrals", "", "down"),
    "channel_shift_to_pharmacy": (
        "NHS 111 urgent repeat requests handled by a pharmacy",
        "%",
        "up",
    ),
    "satisfaction": ("Patients satisfied (outcome questionnaire)", "%", "up"),
    "mean_hours_to_accept": ("Mean hours to accept", " h", "down"),
    "mean_hours_to_complete": ("Mean hours to complete", " h", "down"),
    "escalations": ("Escalations", "", "down"),
}
PERCENT = {
    "no_supply_share",
    "completion_rate",
    "completed_in_time_rate",
    "channel_shift_to_pharmacy",
    "satisfaction",
}


class ServiceMetrics:
    """``services.<service>.<figure>``, e.g. ``services.pharmacy-first.no_supply_share``."""

    prefix = "services"

    def _split(self, name: str) -> tuple[str, str]:
        service, _, figure = name.rpartition(".")
        known = {s.value for s in PharmacyService} | {ALL_SERVICES}
        if service not in known or figure not in SERVICE_FIGURES:
            raise UnknownMetric(f"services.{name}")
        return service, figure

    def metric(self, session: Session, name: str) -> Metric:
        service, figure = self._split(name)
        title, unit, better = SERVICE_FIGURES[figure]
        return Metric(f"services.{name}", f"{title} ({service})", unit, better, "service figures")

    def catalogue(self, session: Session) -> list[Metric]:
        listed = ("referrals", "items_supplied", "no_supply_share", "completed_in_time_rate")
        return [
            self.metric(session, f"{s}.{f}")
            for s in [*(s.value for s in PharmacyService), ALL_SERVICES]
            for f in (*listed, "satisfaction")
        ] + [self.metric(session, f"{ALL_SERVICES}.channel_shift_to_pharmacy")]

    def series(
        self, session: Session, name: str, scope: str | None, on: date, months: int
    ) -> list[tuple[date, float]]:
        service, figure = self._split(name)
        by, key = "ics", None
        if scope is not None:
            org = load_geography(session).orgs.get(scope)
            if org is None:
                raise BadScope(f"unknown scope {scope!r}")
            levels: dict[str, str] = {  # OrgKind is a StrEnum: its members are the kind strings
                OrgKind.PCN: "pcn",
                OrgKind.PLACE: "place",
                OrgKind.PHARMACY: "pharmacy",
            }
            by = levels.get(org.kind, "ics")
            key = scope if by != "ics" else None
        assert by in BY_LEVELS
        first = month_ends(on, months)[0].replace(day=1)
        out = []
        rows = evaluation(
            session,
            by=by,
            service=None if service == ALL_SERVICES else service,
            on=on,
            months=months,
            all_services=service == ALL_SERVICES,
        )
        for r in rows:
            if r["service"] != service:
                continue
            month = date.fromisoformat(r["month"] + "-01")
            if (
                (key is None or r["group"] == key)
                and first <= month <= on
                and r[figure] is not None
            ):
                value = r[figure] * 100 if figure in PERCENT else r[figure]
                out.append((month, round(float(value), 3)))
        return out
