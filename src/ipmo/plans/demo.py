"""The demo ICS medicines plan, linked to live workforce, service and prescribing metrics.

Called by ``ipmo.workforce.demo.populate`` once the workforce exists (so baselines are real), not
as a hook of its own: hooks run in alphabetical order and ``plans`` would come first.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from ipmo.plans import metrics
from ipmo.plans.progress import check_objective
from ipmo.plans.service import PlanError, create_plan


def demo_plan_data(today: date) -> dict:
    start = today - timedelta(days=180)
    end = date(today.year + 1, 3, 31)
    return {
        "title": "ICS medicines and pharmacy workforce plan",
        "owner": "ICS Chief Pharmacist",
        "purpose": "National medicines priorities and a flexible clinical pharmacy workforce.",
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "objectives": [
            {
                "title": "Grow the clinical pharmacy workforce in primary care",
                "owner": "Pharmacy Workforce Lead",
                "metric": "workforce.wte_per_10k",
                "direction": "up",
                "target_ratio": 1.15,
                "pdsa": [
                    {
                        "title": "Rotational hospital/community posts",
                        "started_on": (start + timedelta(days=30)).isoformat(),
                        "plan": "Offer 2 rotational posts",
                        "do": "Advertised jointly with the trust",
                        "study": "Both filled in 8 weeks",
                        "act": "Scale to every trust",
                    }
                ],
            },
            {
                "title": "Every PCN pharmacist an independent prescriber",
                "owner": "Training Lead",
                "metric": "workforce.ip_coverage",
                "direction": "up",
                "target_ratio": 1.5,
            },
            {
                "title": "Reduce pharmacy vacancies",
                "owner": "Pharmacy Workforce Lead",
                "metric": "workforce.vacancy_rate",
                "direction": "down",
                "target_ratio": 0.5,
            },
            {
                "title": "Fewer 'no supply' outcomes in the contraception service",
                "owner": "Community Pharmacy Clinical Lead",
                "metric": "services.contraception.no_supply_share",
                "direction": "down",
                "target_ratio": 0.7,
            },
            {
                "title": "Reduce high-carbon inhaler prescribing",
                "owner": "MO Lead",
                "metric": "analytics.environmental_inhalers",
                "direction": "down",
                "baseline": 25.0,
                "target": 15.0,
            },
        ],
        "stakeholders": [
            {
                "name": "Local Pharmaceutical Committee",
                "engagement": "collaborate",
                "interest": "community pharmacy services",
                "last_engaged": today.isoformat(),
            },
            {
                "name": "PCN clinical directors",
                "engagement": "involve",
                "interest": "ARRS pharmacy roles",
            },
            {
                "name": "Trust chief pharmacists",
                "engagement": "collaborate",
                "interest": "rotational posts, foundation training",
            },
            {"name": "Patients and public (Healthwatch)", "engagement": "consult"},
        ],
    }


def create_demo_plan(session: Session, today: date | None = None) -> str:
    """Baselines from live data at the plan start; targets as a ratio of the baseline."""
    today = today or date.today()
    data = demo_plan_data(today)
    kept = []
    for obj in data["objectives"]:
        ratio = obj.pop("target_ratio", None)
        try:
            points = metrics.series(session, obj["metric"], on=today, months=12)
            metrics.resolve(session, obj["metric"])
        except metrics.MetricError:
            continue  # that domain is not installed: leave its objective out of the demo
        if ratio is not None:
            if not points:
                continue
            obj["baseline"] = round(points[0][1], 2)
            obj["baseline_date"] = points[0][0].isoformat()
            obj["target"] = round(points[0][1] * ratio, 2)
        try:
            check_objective(obj["baseline"], obj["target"], obj["direction"])
        except ValueError:
            continue  # e.g. a baseline of zero cannot be halved
        kept.append(obj)
    data["objectives"] = kept
    try:
        plan = create_plan(session, data)
    except PlanError as exc:
        return f"not created ({exc})"
    return f"{plan.id} ({len(plan.objectives)} objectives)"
