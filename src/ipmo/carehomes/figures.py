"""Per-home figures for the ICS (no patient identifiers): residents, doses recorded, doses
refused or omitted, residents with findings and findings by rule, staff competency coverage and
medication incidents by harm, over the 28 days to a date; medicines waste and its cost in the last
complete month.

Counts of residents pass through ``ipmo.disclosure.disclose`` (small numbers withheld, the rest
rounded) before anyone sees them; dose counts are activity, not people, and are shown as they
are. The findings come from the same Python engine as a resident's page (``evidence``); an
ICS-scale year uses the DuckDB engine (``findings_sql``) instead.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ipmo.carehomes.administrations import OMITTED, REFUSED
from ipmo.carehomes.evidence import findings_for
from ipmo.carehomes.models import AdministrationRow
from ipmo.carehomes.staff import competencies, incidents_by_harm
from ipmo.carehomes.waste import WasteTotal, month_totals, months_before
from ipmo.disclosure import SUPPRESSION_THRESHOLD, disclose
from ipmo.organisations import Organisation, OrgKind
from ipmo.patients import Patient

WINDOW = timedelta(days=28)


@dataclass
class HomeFigures:
    code: str
    name: str
    residents: int | None  # disclosure-controlled
    doses: int
    missed: int  # refused or omitted
    with_findings: int | None  # residents with any finding, disclosure-controlled
    # residents with each kind of finding, disclosure-controlled (None: 7 or fewer)
    by_rule: dict[str, int | None] = field(default_factory=dict)
    staff: int = 0  # staff who administer medicines (on the home's register)
    competent: int = 0  # of them, with an in-date annual competency assessment
    # medication incidents in the window by NRLS harm, disclosure-controlled like people
    incidents: dict[str, int | None] = field(default_factory=dict)
    # medicines waste in the last complete month (``waste.py``): cost at dm+d prices, the
    # medicine-months with waste, those without a price; activity, shown as it is
    waste_month: str = ""
    waste: WasteTotal = field(default_factory=WasteTotal)

    @property
    def competency_pct(self) -> float | None:
        return round(100 * self.competent / self.staff) if self.staff else None

    @property
    def missed_pct(self) -> float | None:
        return round(100 * self.missed / self.doses, 1) if self.doses else None


def home_figures(session: Session, as_of: datetime, home: str | None = None) -> list[HomeFigures]:
    """Every care home of the ICS (or one), with its figures over the 28 days to ``as_of``."""
    since = as_of.astimezone(UTC).replace(tzinfo=None) - WINDOW
    homes_q = select(Organisation.ods_code, Organisation.name).where(
        Organisation.kind == OrgKind.CARE_HOME
    )
    if home is not None:
        homes_q = homes_q.where(Organisation.ods_code == home)
    homes = session.execute(homes_q.order_by(Organisation.name)).all()
    residents = Counter(
        code
        for (code,) in session.execute(
            select(Patient.care_home_code).where(
                Patient.care_home_code.is_not(None), Patient.date_of_death.is_(None)
            )
        )
    )
    t = AdministrationRow
    doses: dict[str, tuple[int, int]] = {
        code: (n, missed or 0)
        for code, n, missed in session.execute(
            select(
                t.care_home_code,
                func.count(),
                func.sum(case((t.outcome.in_((REFUSED, OMITTED)), 1), else_=0)),
            )
            .where(t.at > since, t.dose_round > since - timedelta(days=1))
            .group_by(t.care_home_code)
        )
    }
    home_of = {
        pid: code
        for pid, code in session.execute(
            select(t.patient_id, t.care_home_code).where(t.dose_round > since).distinct()
        )
    }
    found = findings_for(session, list(home_of), as_of)
    people: Counter[str] = Counter()
    rules: dict[str, Counter[str]] = {}
    for pid, items in found.items():
        if items:
            people[home_of[pid]] += 1
            rules.setdefault(home_of[pid], Counter()).update({f.rule for f in items})
    codes = [code for code, _name in homes]
    staff = competencies(session, codes, as_of.date())
    incidents = incidents_by_harm(session, codes, (as_of - WINDOW).date(), as_of.date())
    [last_month] = months_before(as_of.date(), 1)
    _people, waste = month_totals(session, last_month, home)
    return [
        HomeFigures(
            code,
            name,
            disclose(residents.get(code, 0)),
            doses.get(code, (0, 0))[0],
            doses.get(code, (0, 0))[1],
            disclose(people.get(code, 0)),
            {rule: disclose(n) for rule, n in sorted(rules.get(code, Counter()).items())},
            len(staff[code]),
            sum(1 for c in staff[code] if c.status in ("in date", "due soon")),
            {harm: disclose(n) for harm, n in incidents[code].items()},
            last_month,
            waste.get(code, WasteTotal()),
        )
        for code, name in homes
    ]


def rates(session: Session, as_of: datetime, home: str | None = None) -> dict[str, float]:
    """ICS-wide (or one home's) percentages over the 28 days to ``as_of``: doses refused or
    omitted, and residents with any finding. Empty when 7 or fewer residents have doses (a
    percentage of a handful of people discloses as much as the count)."""
    figures = home_figures(session, as_of, home)
    doses = sum(h.doses for h in figures)
    missed = sum(h.missed for h in figures)
    since = as_of.astimezone(UTC).replace(tzinfo=None) - WINDOW
    query = select(AdministrationRow.patient_id).where(AdministrationRow.dose_round > since)
    if home is not None:
        query = query.where(AdministrationRow.care_home_code == home)
    residents = list(session.scalars(query.distinct()))
    if len(residents) <= SUPPRESSION_THRESHOLD or not doses:
        return {}
    found = findings_for(session, residents, as_of)
    with_findings = sum(1 for items in found.values() if items)
    return {
        "missed_doses_pct": round(100 * missed / doses, 2),
        "residents_with_findings_pct": round(100 * with_findings / len(residents), 1),
    }
