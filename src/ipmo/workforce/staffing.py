"""Staffing figures: WTE per 10,000 registered patients, IP coverage, vacancies, rotations and the
training pipeline against the plan, with gaps flagged.

Everything here is aggregate (no names), so any role with ``workforce.view`` may see it; the one
function that returns named people is :func:`named_posts` (``workforce.detail`` only).

Gap thresholds are local planning defaults, not national standards (there is no national ratio for
pharmacy staff per population; NHS England's Pharmacy Workforce Survey reports vacancy rates and
the Long Term Workforce Plan (2023) sets the ambition that all newly registered pharmacists are
independent prescribers from 2026) — they are parameters, shown on the page.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.organisations import OrgKind
from ipmo.workforce.geography import Geography, load_geography
from ipmo.workforce.models import Post, TrainingPlanLine
from ipmo.workforce.vocab import PROGRAMME_LABELS, SECTOR_LABELS, Sector, StaffRole

GROUPINGS = ("pcn", "place", "sector")
OUTSIDE = "-"  # group key for WTE not attributable to one PCN / place


@dataclass(frozen=True)
class GapRules:
    """An area is flagged when any of these holds."""

    # WTE per 10k below this share of the ICS-wide figure
    below_ics_ratio: float = 0.8
    # vacant WTE / funded WTE above this (Pharmacy Workforce Survey reports ~10-15% nationally)
    vacancy_rate_above: float = 0.10
    # share of pharmacist WTE held by independent prescribers below this (LTWP 2023 ambition)
    ip_coverage_below: float = 0.5


DEFAULT_GAPS = GapRules()


@dataclass(frozen=True)
class PostFacts:
    """What aggregate views need to know about a post (no names)."""

    assignment_number: str
    org_code: str
    title: str
    role: str
    band: str | None
    wte: float
    filled: bool
    ip: bool
    start: date
    end: date | None
    allocations: tuple[tuple[str, str, float], ...]  # (sector, org_code, wte)
    training_programme: str | None
    reports_to: str | None
    leadership: bool

    def active_on(self, day: date) -> bool:
        return self.start <= day and (self.end is None or self.end >= day)


@dataclass
class Row:
    key: str
    name: str
    patients: int | None
    in_post_wte: float = 0.0
    vacant_wte: float = 0.0
    pharmacist_wte: float = 0.0
    technician_wte: float = 0.0
    ip_wte: float = 0.0
    wte_by_role: dict[str, float] = field(default_factory=dict)
    gaps: list[str] = field(default_factory=list)

    @property
    def funded_wte(self) -> float:
        return self.in_post_wte + self.vacant_wte

    @property
    def wte_per_10k(self) -> float | None:
        return self.in_post_wte / self.patients * 10_000 if self.patients else None

    @property
    def vacancy_rate(self) -> float | None:
        return self.vacant_wte / self.funded_wte if self.funded_wte else None

    @property
    def ip_coverage(self) -> float | None:
        return self.ip_wte / self.pharmacist_wte if self.pharmacist_wte else None

    def as_dict(self) -> dict:
        r = lambda v: None if v is None else round(v, 3)  # noqa: E731
        return {
            "key": self.key,
            "name": self.name,
            "patients": self.patients,
            "in_post_wte": r(self.in_post_wte),
            "vacant_wte": r(self.vacant_wte),
            "funded_wte": r(self.funded_wte),
            "wte_per_10k": r(self.wte_per_10k),
            "pharmacist_wte": r(self.pharmacist_wte),
            "technician_wte": r(self.technician_wte),
            "ip_wte": r(self.ip_wte),
            "ip_coverage": r(self.ip_coverage),
            "vacancy_rate": r(self.vacancy_rate),
            "wte_by_role": {k: r(v) for k, v in sorted(self.wte_by_role.items())},
            "gaps": list(self.gaps),
        }


def load_posts(session: Session) -> list[PostFacts]:
    out = []
    for p in session.scalars(select(Post).order_by(Post.assignment_number)):
        out.append(
            PostFacts(
                assignment_number=p.assignment_number,
                org_code=p.org_code,
                title=p.title,
                role=p.role,
                band=p.band,
                wte=p.wte,
                filled=p.staff_id is not None,
                ip=bool(p.staff and p.staff.independent_prescriber),
                start=p.start_date,
                end=p.end_date,
                allocations=tuple((a.sector, a.org_code, a.wte) for a in p.allocations),
                training_programme=p.training_programme,
                reports_to=p.reports_to,
                leadership=p.leadership,
            )
        )
    return out


def _group_of(by: str, geo: Geography, sector: str, org_code: str) -> str:
    if by == "sector":
        return sector
    kind = OrgKind.PCN if by == "pcn" else OrgKind.PLACE
    return geo.ancestor(org_code, kind) or OUTSIDE


def summarise(
    posts: list[PostFacts],
    geo: Geography,
    by: str = "place",
    on: date | None = None,
    gaps: GapRules = DEFAULT_GAPS,
) -> tuple[list[Row], Row]:
    """Rows per PCN / place / sector (plus a total row) for posts active ``on`` (default today).

    Each sector allocation of a post counts where it is worked, so a rotational post adds to two
    rows. Rows by PCN/place use that area's registered patients; rows by sector use the whole
    ICS's; WTE outside any PCN/place is shown without a ratio.
    """
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}; use one of {', '.join(GROUPINGS)}")
    on = on or date.today()
    under = geo.patients_under()
    rows: dict[str, Row] = {}
    total = Row("ICS", "Whole ICS", geo.total_patients)
    if by == "sector":
        for s in Sector:
            rows[s] = Row(s, SECTOR_LABELS[s], geo.total_patients)
    else:
        for org in geo.of_kind(OrgKind.PCN if by == "pcn" else OrgKind.PLACE):
            rows[org.code] = Row(org.code, org.name, under.get(org.code, 0))
    for post in posts:
        if not post.active_on(on):
            continue
        for sector, org_code, wte in post.allocations:
            key = _group_of(by, geo, sector, org_code)
            if key not in rows:
                # WTE outside any PCN / place has no population of its own: no ratio
                label = "Not in a PCN" if by == "pcn" else "ICS-wide (not place-based)"
                rows[key] = Row(key, label, None)
            for row in (rows[key], total):
                _add(row, post, wte)
    # Areas are compared with the same kind of WTE across all areas (not with trusts' or the
    # ICB's staff, who are not attributable to one area); sectors are not compared with each
    # other on WTE (they differ by design), only on vacancies and IP coverage.
    areas = [r for r in rows.values() if r.key != OUTSIDE and r.patients]
    patients = sum(r.patients or 0 for r in areas)
    comparator = (
        sum(r.in_post_wte for r in areas) / patients * 10_000
        if by != "sector" and patients
        else None
    )
    for row in rows.values():
        row.gaps = _gaps(row, comparator, gaps)
    total.gaps = _gaps(total, None, gaps)
    return list(rows.values()), total


def _add(row: Row, post: PostFacts, wte: float) -> None:
    if not post.filled:
        row.vacant_wte += wte
        return
    row.in_post_wte += wte
    row.wte_by_role[post.role] = row.wte_by_role.get(post.role, 0.0) + wte
    if post.role == StaffRole.PHARMACIST:
        row.pharmacist_wte += wte
        if post.ip:
            row.ip_wte += wte
    elif post.role == StaffRole.PHARMACY_TECHNICIAN:
        row.technician_wte += wte


def _gaps(row: Row, ics_per_10k: float | None, rules: GapRules) -> list[str]:
    found: list[str] = []
    if row.key == OUTSIDE:
        return found
    ratio = row.wte_per_10k
    if ics_per_10k and ratio is not None and ratio < rules.below_ics_ratio * ics_per_10k:
        found.append(
            f"WTE per 10,000 ({ratio:.2f}) below {rules.below_ics_ratio:.0%} of the average "
            f"across areas ({ics_per_10k:.2f})"
        )
    if row.vacancy_rate is not None and row.vacancy_rate > rules.vacancy_rate_above:
        found.append(f"vacancy rate {row.vacancy_rate:.0%} above {rules.vacancy_rate_above:.0%}")
    if row.ip_coverage is not None and row.ip_coverage < rules.ip_coverage_below:
        found.append(
            f"independent prescribers {row.ip_coverage:.0%} of pharmacist WTE, "
            f"below {rules.ip_coverage_below:.0%}"
        )
    return found


def vacancies(posts: list[PostFacts], on: date | None = None) -> list[dict]:
    """Vacant posts open ``on``, grouped by sector and role: count, WTE, days since the oldest
    was opened (the post's start date is when the vacancy was opened)."""
    on = on or date.today()
    groups: dict[tuple[str, str], dict] = {}
    for p in posts:
        if p.filled or not p.active_on(on):
            continue
        for sector, _org, wte in p.allocations:
            g = groups.setdefault(
                (sector, p.role),
                {"sector": sector, "role": p.role, "posts": 0, "wte": 0.0, "oldest_days": 0},
            )
            g["posts"] += 1
            g["wte"] = round(g["wte"] + wte, 3)
            g["oldest_days"] = max(g["oldest_days"], (on - p.start).days)
    return sorted(groups.values(), key=lambda g: (-g["wte"], g["sector"], g["role"]))


def rotations(posts: list[PostFacts], on: date | None = None) -> list[dict]:
    """Posts active ``on`` whose WTE is split across two or more sectors (no names)."""
    on = on or date.today()
    out = []
    for p in posts:
        sectors = sorted({s for s, _o, _w in p.allocations})
        if len(sectors) > 1 and p.active_on(on):
            out.append(
                {
                    "assignment_number": p.assignment_number,
                    "title": p.title,
                    "role": p.role,
                    "wte": p.wte,
                    "split": [{"sector": s, "org_code": o, "wte": w} for s, o, w in p.allocations],
                    "filled": p.filled,
                }
            )
    return out


def training_pipeline(posts: list[PostFacts], plan: dict[tuple[str, int], int]) -> list[dict]:
    """Training places by programme and year of completion (the post's end date, else its start
    year + 1) against the planned places: filled, unfilled, planned and the gap (planned − filled).
    """
    counts: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for p in posts:
        if p.training_programme is None:
            continue
        year = p.end.year if p.end else p.start.year + 1
        counts[(p.training_programme, year)][0 if p.filled else 1] += 1
    rows = []
    for key in sorted(set(counts) | set(plan)):
        filled, unfilled = counts.get(key, [0, 0])
        planned = plan.get(key)
        rows.append(
            {
                "programme": key[0],
                "programme_label": PROGRAMME_LABELS.get(key[0], key[0]),
                "year": key[1],
                "filled": filled,
                "unfilled": unfilled,
                "planned": planned,
                "gap": None if planned is None else max(planned - filled, 0),
            }
        )
    return rows


def load_plan(session: Session) -> dict[tuple[str, int], int]:
    return {
        (line.programme, line.year): line.planned_places
        for line in session.scalars(select(TrainingPlanLine))
    }


def summary(session: Session, by: str = "place", on: date | None = None) -> dict:
    """Everything the summary page, API and CLI show, as plain data (aggregates only)."""
    posts, geo = load_posts(session), load_geography(session)
    rows, total = summarise(posts, geo, by=by, on=on)
    return {
        "by": by,
        "on": (on or date.today()).isoformat(),
        "rows": [r.as_dict() for r in rows],
        "total": total.as_dict(),
        "vacancies": vacancies(posts, on),
        "rotations": rotations(posts, on),
        "training": training_pipeline(posts, load_plan(session)),
        "gap_rules": DEFAULT_GAPS.__dict__,
    }


def named_posts(session: Session, on: date | None = None) -> list[dict]:
    """Every post with the person holding it — for roles with ``workforce.detail`` only."""
    on = on or date.today()
    out = []
    for p in session.scalars(select(Post).order_by(Post.org_code, Post.assignment_number)):
        out.append(
            {
                "assignment_number": p.assignment_number,
                "org_code": p.org_code,
                "title": p.title,
                "role": p.role,
                "band": p.band,
                "wte": p.wte,
                "name": p.staff.name if p.staff else None,
                "staff_number": p.staff.staff_number if p.staff else None,
                "independent_prescriber": bool(p.staff and p.staff.independent_prescriber),
                "prescriber_scope": p.staff.prescriber_scope if p.staff else None,
                "start_date": p.start_date.isoformat(),
                "end_date": p.end_date.isoformat() if p.end_date else None,
                "active": p.start_date <= on and (p.end_date is None or p.end_date >= on),
                "reports_to": p.reports_to,
                "training_programme": p.training_programme,
                "sectors": [
                    {"sector": a.sector, "org_code": a.org_code, "wte": a.wte}
                    for a in p.allocations
                ],
            }
        )
    return out
