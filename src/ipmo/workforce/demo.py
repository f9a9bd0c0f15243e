"""A plausible pharmacy workforce for whatever organisations the demo ICS has, a training plan,
imported service figures, and a demo ICS medicines plan linked to live workforce metrics.

Called by ``ipmo demo`` (``populate(engine, seed)``) after the synthetic ICS is generated. The
workforce is written through the same CSV import as real data, so it obeys every import rule.
Shapes are loose approximations of the NHS England Pharmacy Workforce Survey (2022): about one
PCN clinical pharmacist WTE per 10,000 patients, 1–2 pharmacists and a technician per community
pharmacy, vacancy rates around 10–15 %, independent prescribers a minority but growing.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta

from sqlalchemy import Engine, func, select

from ipmo.organisations import OrgKind, PharmacyService
from ipmo.referrals import NoSupplyReason
from ipmo.store import session_scope
from ipmo.workforce.geography import load_geography
from ipmo.workforce.importer import COLUMNS, import_assignments, import_training_plan
from ipmo.workforce.models import Post, ServiceActivity

GIVEN = [
    "Aisha",
    "Ben",
    "Chloe",
    "Dan",
    "Ella",
    "Farah",
    "George",
    "Hana",
    "Imran",
    "Jess",
    "Kofi",
    "Lucy",
    "Mei",
    "Nadia",
    "Owen",
    "Priti",
    "Rory",
    "Sana",
    "Tariq",
    "Uma",
]
FAMILY = [
    "Ahmed",
    "Baker",
    "Clarke",
    "Davies",
    "Evans",
    "Fraser",
    "Gill",
    "Hughes",
    "Iqbal",
    "Jones",
    "Khan",
    "Lewis",
    "Morgan",
    "Nair",
    "Owusu",
    "Patel",
    "Quinn",
    "Reid",
]
SCOPES = ["hypertension", "respiratory", "diabetes", "minor illness", "frailty", "mental health"]
NO_SUPPLY = [r.value for r in NoSupplyReason]  # the one no-supply vocabulary


class _Builder:
    def __init__(self, rng: random.Random, today: date) -> None:
        self.rng, self.today = rng, today
        self.rows: list[dict[str, str]] = []
        self.n = 0

    def add(
        self,
        org: str,
        title: str,
        role: str,
        band: str | None,
        wte: float,
        *,
        vacant_p: float = 0.1,
        ip_p: float = 0.0,
        split: str = "",
        reports_to: str = "",
        leadership: bool = False,
        programme: str = "",
        end: date | None = None,
        start: date | None = None,
    ) -> str:
        self.n += 1
        number = f"WF{self.n:05d}"
        vacant = self.rng.random() < vacant_p
        start = start or self.today - timedelta(days=self.rng.randint(30, 2500))
        ip = not vacant and role == "pharmacist" and self.rng.random() < ip_p
        self.rows.append(
            {c: "" for c in COLUMNS}
            | {
                "assignment_number": number,
                "employee_number": "" if vacant else f"E{self.n:05d}",
                "full_name": ""
                if vacant
                else f"{self.rng.choice(GIVEN)} {self.rng.choice(FAMILY)}",
                "gphc_number": "" if vacant or role != "pharmacist" else f"2{self.n:06d}",
                "organisation_code": org,
                "position_title": title,
                "staff_role": role,
                "afc_band": band or "",
                "wte": f"{wte:g}",
                "assignment_start": start.isoformat(),
                "assignment_end": end.isoformat() if end else "",
                "independent_prescriber": "Y" if ip else "N",
                "prescriber_scope": self.rng.choice(SCOPES) if ip else "",
                "sector_split": split,
                "reports_to": reports_to,
                "leadership": "Y" if leadership else "N",
                "training_programme": programme,
            }
        )
        return number

    def csv(self) -> str:
        out = io.StringIO()
        w = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(self.rows)
        return out.getvalue()


def build_csv(session, seed: int, today: date | None = None) -> str:
    """The demo workforce as ESR-like CSV text for the organisations in the store."""
    rng = random.Random(seed)
    today = today or date.today()
    geo = load_geography(session)
    b = _Builder(rng, today)
    under = geo.patients_under()
    icb = geo.icb()
    if icb is None:
        return ""
    chief = b.add(
        icb.code,
        "ICS Chief Pharmacist",
        "pharmacist",
        "9",
        1.0,
        vacant_p=0,
        ip_p=1,
        leadership=True,
    )
    deputy = b.add(
        icb.code,
        "Deputy Chief Pharmacist (Medicines Optimisation)",
        "pharmacist",
        "8d",
        1.0,
        vacant_p=0,
        reports_to=chief,
        leadership=True,
    )
    workforce_lead = b.add(
        icb.code,
        "Pharmacy Workforce Lead",
        "pharmacist",
        "8b",
        0.8,
        vacant_p=0,
        reports_to=chief,
        leadership=True,
    )
    for _ in range(2):
        b.add(
            icb.code,
            "Medicines Optimisation Pharmacist",
            "pharmacist",
            "8a",
            1.0,
            reports_to=deputy,
            ip_p=0.5,
        )
    b.add(
        icb.code,
        "Medicines Optimisation Technician",
        "pharmacy_technician",
        "6",
        1.0,
        reports_to=deputy,
    )
    for trust in geo.of_kind(OrgKind.TRUST):
        head = b.add(
            trust.code,
            "Chief Pharmacist",
            "pharmacist",
            "9",
            1.0,
            vacant_p=0,
            reports_to=chief,
            leadership=True,
        )
        for _ in range(rng.randint(6, 10)):
            b.add(
                trust.code,
                "Specialist Pharmacist",
                "pharmacist",
                rng.choice(["7", "8a"]),
                rng.choice([1.0, 1.0, 0.8]),
                reports_to=head,
                ip_p=0.45,
            )
        mh = b.add(
            trust.code,
            "Lead Mental Health Pharmacist",
            "pharmacist",
            "8b",
            1.0,
            split="mental_health:1.0",
            reports_to=head,
            leadership=True,
            ip_p=0.8,
        )
        b.add(
            trust.code,
            "Mental Health Pharmacy Technician",
            "pharmacy_technician",
            "5",
            1.0,
            split="mental_health:1.0",
            reports_to=mh,
        )
        for _ in range(rng.randint(4, 7)):
            b.add(
                trust.code,
                "Pharmacy Technician",
                "pharmacy_technician",
                rng.choice(["4", "5"]),
                1.0,
                reports_to=head,
            )
        for _ in range(rng.randint(2, 3)):
            b.add(
                trust.code,
                "Foundation Trainee Pharmacist",
                "trainee_pharmacist",
                "5",
                1.0,
                reports_to=head,
                programme="foundation_trainee_pharmacist",
                vacant_p=0.2,
                start=date(today.year, 7, 1) - timedelta(days=365 if today.month < 7 else 0),
                end=date(today.year + (0 if today.month < 7 else 1), 6, 30),
            )
        pharmacies = geo.of_kind(OrgKind.PHARMACY)
        if pharmacies:
            other = rng.choice(pharmacies).code
            b.add(
                trust.code,
                "Rotational Pharmacist (hospital / community)",
                "pharmacist",
                "6",
                1.0,
                split=f"hospital:0.6;community@{other}:0.4",
                reports_to=head,
                ip_p=0.3,
            )
    for pcn in geo.of_kind(OrgKind.PCN):
        lead = b.add(
            pcn.code,
            "PCN Lead Pharmacist",
            "pharmacist",
            "8a",
            1.0,
            vacant_p=0.05,
            reports_to=deputy,
            leadership=True,
            ip_p=0.9,
        )
        practices = geo.children(pcn.code)
        per_10k = rng.uniform(0.4, 1.4)  # spread so some PCNs show a gap
        for practice in practices:
            target = under.get(practice.code, 0) / 10_000 * per_10k
            while target > 0.05:
                wte = min(1.0, round(max(0.2, min(target, rng.choice([1.0, 0.8, 0.6, 0.5]))), 1))
                b.add(
                    practice.code,
                    "Clinical Pharmacist",
                    "pharmacist",
                    "7",
                    wte,
                    reports_to=lead,
                    ip_p=0.4,
                )
                target -= wte
        b.add(pcn.code, "PCN Pharmacy Technician", "pharmacy_technician", "5", 1.0, reports_to=lead)
        b.add(
            pcn.code,
            "Clinical Pharmacist (IP training)",
            "pharmacist",
            "7",
            1.0,
            reports_to=lead,
            programme="independent_prescribing",
            vacant_p=0.3,
            end=today + timedelta(days=rng.randint(60, 400)),
        )
    for pharmacy in geo.of_kind(OrgKind.PHARMACY):
        manager = b.add(
            pharmacy.code,
            "Responsible Pharmacist (manager)",
            "pharmacist",
            None,
            1.0,
            vacant_p=0.05,
            ip_p=0.15,
        )
        if rng.random() < 0.5:
            b.add(
                pharmacy.code,
                "Second Pharmacist",
                "pharmacist",
                None,
                0.6,
                reports_to=manager,
                vacant_p=0.25,
                ip_p=0.1,
            )
        b.add(
            pharmacy.code,
            "Pharmacy Technician",
            "pharmacy_technician",
            None,
            1.0,
            reports_to=manager,
            vacant_p=0.15,
        )
        for _ in range(rng.randint(1, 3)):
            b.add(
                pharmacy.code,
                "Dispensing Assistant",
                "pharmacy_assistant",
                None,
                rng.choice([1.0, 0.6, 0.5]),
                reports_to=manager,
            )
        if rng.random() < 0.3:
            b.add(
                pharmacy.code,
                "Trainee Pharmacy Technician",
                "trainee_pharmacy_technician",
                None,
                1.0,
                reports_to=manager,
                programme="trainee_pharmacy_technician",
                end=today + timedelta(days=rng.randint(90, 700)),
            )
    for place in geo.of_kind(OrgKind.PLACE):
        homes = [o.code for o in geo.children(place.code) if o.kind == OrgKind.CARE_HOME]
        if homes:
            b.add(
                place.code,
                "Care Homes Pharmacist",
                "pharmacist",
                "8a",
                1.0,
                split=f"care_home@{homes[0]}:1.0",
                reports_to=deputy,
                ip_p=0.6,
            )
    for iuc in geo.of_kind(OrgKind.NHS111):
        b.add(
            iuc.code,
            "Integrated Urgent Care Pharmacist",
            "pharmacist",
            "8a",
            0.6,
            reports_to=workforce_lead,
            ip_p=0.7,
        )
    return b.csv()


def _activity(session, rng: random.Random, today: date) -> int:
    """Twelve months of imported figures for services the demo runs outside referrals."""
    geo = load_geography(session)
    n = 0
    for pharmacy in geo.of_kind(OrgKind.PHARMACY):
        base = rng.randint(10, 60)
        for back in range(12, 0, -1):
            y, m = today.year, today.month - back
            while m < 1:
                y, m = y - 1, m + 12
            referrals = max(1, int(base * (1 + (12 - back) * 0.04) * rng.uniform(0.8, 1.2)))
            completed = int(referrals * rng.uniform(0.8, 0.97))
            no_supply = int(completed * rng.uniform(0.05, 0.25))
            reasons: dict[str, int] = {}
            for _ in range(no_supply):
                r = rng.choice(NO_SUPPLY)
                reasons[r] = reasons.get(r, 0) + 1
            responses = int(completed * rng.uniform(0.1, 0.3))
            otherwise = {"gp_in_hours": 0, "a_and_e": 0, "nhs111": 0, "nothing": 0}
            for _ in range(responses):
                k = rng.choices(list(otherwise), weights=[60, 8, 12, 20])[0]
                otherwise[k] += 1
            session.add(
                ServiceActivity(
                    service=PharmacyService.CONTRACEPTION.value,
                    org_code=pharmacy.code,
                    month=date(y, m, 1),
                    referrals=referrals,
                    completed=completed,
                    accepted=referrals,
                    items_supplied=completed - no_supply,
                    no_supply=no_supply,
                    no_supply_reasons=reasons,
                    hours_to_accept_total=referrals * rng.uniform(0.5, 4),
                    hours_to_complete_total=completed * rng.uniform(4, 30),
                    escalations=int(referrals * rng.uniform(0, 0.05)),
                    survey_responses=responses,
                    satisfied=min(responses, round(responses * rng.uniform(0.85, 0.98))),
                    otherwise=otherwise,
                )
            )
            n += 1
    session.flush()
    return n


def populate(engine: Engine, seed: int) -> str:
    """Workforce, training plan, service figures and the demo medicines plan (once)."""
    today = date.today()
    with session_scope(engine) as s:
        if s.scalar(select(func.count(Post.id))):
            return "workforce already present"
        text = build_csv(s, seed, today)
        if not text:
            return "no ICB: nothing to populate"
        report = import_assignments(s, text)
        plan_rows = "\n".join(
            f"{prog},{year},{n}"
            for prog, n in [
                ("independent_prescribing", 12),
                ("foundation_trainee_pharmacist", 6),
                ("trainee_pharmacy_technician", 6),
            ]
            for year in (today.year, today.year + 1)
        )
        import_training_plan(s, "programme,year,planned_places\n" + plan_rows + "\n")
        months = _activity(s, random.Random(seed + 1), today)
        from ipmo.plans import create_demo_plan

        plan = create_demo_plan(s, today)
    return f"{report}; {months} service-months; plan {plan}"
