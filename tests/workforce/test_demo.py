"""The demo workforce passes every import rule and yields a plan tied to live metrics."""

from __future__ import annotations

from sqlalchemy import func, select

from ipmo.plans.models import Plan
from ipmo.plans.service import plan_view
from ipmo.store import session_scope
from ipmo.workforce.demo import populate
from ipmo.workforce.models import Post, ServiceActivity
from ipmo.workforce.staffing import summary

from .helpers import seed


def test_populate_builds_a_workforce_a_plan_and_is_idempotent(engine):
    seed(engine)
    message = populate(engine, seed=3)
    assert "assignment(s) imported" in message
    with session_scope(engine) as s:
        posts = s.scalar(select(func.count(Post.id)))
        data = summary(s, by="sector")
        plan = s.scalar(select(Plan))
        view = plan_view(s, plan.id)
        assert s.scalar(select(func.count(ServiceActivity.id))) > 0
    sectors = {r["key"]: r for r in data["rows"]}
    for sector in ("gp", "community", "hospital", "mental_health", "care_home", "iuc", "ics"):
        assert sectors[sector]["in_post_wte"] + sectors[sector]["vacant_wte"] > 0, sector
    assert data["rotations"] and data["vacancies"] and data["training"]
    metric_ids = {o["metric"]["id"] for o in view["objectives"]}
    assert {"workforce.wte_per_10k", "workforce.vacancy_rate"} <= metric_ids
    assert all(
        o["current"] is not None
        for o in view["objectives"]
        if o["metric"]["id"].startswith("workforce.")
    )
    assert populate(engine, seed=3) == "workforce already present"
    with session_scope(engine) as s:
        assert s.scalar(select(func.count(Post.id))) == posts
